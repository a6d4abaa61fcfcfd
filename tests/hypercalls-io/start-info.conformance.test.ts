import { describe, expect, it } from 'vitest';
import {
  MAX_GUEST_CMDLINE,
  SIF_INITDOMAIN,
  SIF_PRIVILEGED,
  START_INFO_BYTES,
  XEN_START_INFO_MAGIC_X86_64,
  readStartInfo,
  writeStartInfo,
  type StartInfo,
} from '../../hypercalls/start-info.js';
import { asMfn, asPort } from '../../hypercalls/types.js';
import { hex } from './hex.js';

const DOMU: StartInfo = {
  magic: XEN_START_INFO_MAGIC_X86_64,
  nr_pages: 0x20000,
  shared_info: 0x12345000,
  flags: 0,
  store_mfn: asMfn(0xabcde),
  store_evtchn: asPort(1),
  console: { domU: { mfn: asMfn(0xabcdf), evtchn: asPort(2) } },
  pt_base: 0xffffffff82000000n,
  nr_pt_frames: 6,
  mfn_list: 0xffffffff81800000n,
  mod_start: 0xffffffff81400000n,
  mod_len: 0x3f0000,
  cmd_line: 'root=/dev/xvda1 console=hvc0',
  first_p2m_pfn: 0,
  nr_p2m_frames: 0,
};

/** The expected bytes, written at literal offsets from struct start_info (x86-64). */
function expectedDomU(): Uint8Array {
  const out = new Uint8Array(1168);
  const put = (off: number, h: string): void => out.set(hex(h), off);
  out.set(new TextEncoder().encode('xen-3.0-x86_64'), 0);
  put(32, '0000020000000000'); // nr_pages
  put(40, '0050341200000000'); // shared_info
  put(48, '00000000'); // flags (+4 pad)
  put(56, 'debc0a0000000000'); // store_mfn
  put(64, '01000000'); // store_evtchn (+4 pad)
  put(72, 'dfbc0a0000000000'); // console.domU.mfn
  put(80, '02000000'); // console.domU.evtchn (+4 pad)
  put(88, '00000082ffffffff'); // pt_base
  put(96, '0600000000000000'); // nr_pt_frames
  put(104, '00008081ffffffff'); // mfn_list
  put(112, '00004081ffffffff'); // mod_start
  put(120, '00003f0000000000'); // mod_len
  out.set(new TextEncoder().encode('root=/dev/xvda1 console=hvc0'), 128); // cmd_line[1024]
  return out; // first_p2m_pfn@1152 and nr_p2m_frames@1160 are 0
}

describe('start_info (xen.h, x86-64 PV)', () => {
  it('is 1168 bytes with a 1024-byte cmd_line', () => {
    expect(START_INFO_BYTES).toBe(1168);
    expect(MAX_GUEST_CMDLINE).toBe(1024);
  });

  it('encodes a domU start_info at the xen.h offsets (golden bytes, padding zeroed)', () => {
    const mem = new Uint8Array(4096).fill(0xaa);
    const view = new DataView(mem.buffer);
    expect(writeStartInfo(view, 0, DOMU).ok).toBe(true);
    expect(mem.subarray(0, 1168)).toEqual(expectedDomU());
    expect(mem[1168]).toBe(0xaa);
  });

  it('places first_p2m_pfn at 1152 and nr_p2m_frames at 1160', () => {
    const view = new DataView(new ArrayBuffer(1168));
    expect(
      writeStartInfo(view, 0, { ...DOMU, first_p2m_pfn: 0x102, nr_p2m_frames: 0x304 }).ok,
    ).toBe(true);
    expect(view.getBigUint64(1152, true)).toBe(0x102n);
    expect(view.getBigUint64(1160, true)).toBe(0x304n);
  });

  it('decodes the golden bytes back', () => {
    const bytes = expectedDomU();
    expect(readStartInfo(new DataView(bytes.buffer))).toEqual({ ok: true, value: DOMU });
  });

  it('reads console.dom0 {info_off@72, info_size@76} when flags has SIF_INITDOMAIN', () => {
    const view = new DataView(new ArrayBuffer(1168));
    const dom0: StartInfo = {
      ...DOMU,
      flags: SIF_PRIVILEGED | SIF_INITDOMAIN,
      console: { dom0: { info_off: 0x480, info_size: 0x40 } },
    };
    expect(writeStartInfo(view, 0, dom0).ok).toBe(true);
    expect(new Uint8Array(view.buffer, 48, 4)).toEqual(hex('03000000'));
    expect(new Uint8Array(view.buffer, 72, 8)).toEqual(hex('80040000 40000000'));
    expect(readStartInfo(view)).toEqual({ ok: true, value: dom0 });
    // The console variant must agree with SIF_INITDOMAIN.
    expect(writeStartInfo(view, 0, { ...dom0, flags: 0 }).ok).toBe(false);
  });

  it('refuses over-long strings and out-of-range fields', () => {
    const view = new DataView(new ArrayBuffer(1168));
    expect(writeStartInfo(view, 0, { ...DOMU, cmd_line: 'x'.repeat(1023) }).ok).toBe(true);
    expect(writeStartInfo(view, 0, { ...DOMU, cmd_line: 'x'.repeat(1024) }).ok).toBe(false);
    expect(writeStartInfo(view, 0, { ...DOMU, magic: 'x'.repeat(32) }).ok).toBe(false);
    expect(writeStartInfo(view, 0, { ...DOMU, nr_pages: -1 }).ok).toBe(false);
    expect(writeStartInfo(view, 0, { ...DOMU, flags: 2 ** 32 }).ok).toBe(false);
    expect(writeStartInfo(view, 0, { ...DOMU, pt_base: 1n << 64n }).ok).toBe(false);
    expect(writeStartInfo(new DataView(new ArrayBuffer(1167)), 0, DOMU).ok).toBe(false);
  });

  it('reports a page without the xen- magic, a count above 2^53, and reads a cmd_line with no NUL to its end', () => {
    const bytes = expectedDomU();
    const view = new DataView(bytes.buffer);
    bytes.fill(0x41, 128, 1152);
    const r = readStartInfo(view);
    expect(r.ok && r.value.cmd_line.length).toBe(1024);
    view.setBigUint64(32, 1n << 60n, true);
    expect(readStartInfo(view).ok).toBe(false);
    expect(readStartInfo(new DataView(new ArrayBuffer(1168))).ok).toBe(false);
  });
});
