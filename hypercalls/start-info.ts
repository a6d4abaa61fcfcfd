// The PV start_info page, following struct start_info in xen/include/public/xen.h, in the x86-64
// layout (unsigned long and xen_pfn_t are 8 bytes; uint32 fields are padded to 8).
//
// The domain builder (Xen for dom0, the toolstack for a domU) writes it; the guest reads it at
// boot. Virtual addresses (pt_base, mfn_list, mod_start) are bigint because x86-64 kernel
// addresses lie above 2^53; counts, frame numbers and the shared_info machine address are
// numbers, and a reader reports an error if one is not a safe integer.

import { checkSpan, ioErr, ioOk, isUint, isUint64, type IoResult } from './io/ring.js';
import { asMfn, asPort, type Mfn, type Port } from './types.js';
import { MAX_GUEST_CMDLINE, SIF_INITDOMAIN } from './xen.js';

export {
  MAX_GUEST_CMDLINE,
  SIF_INITDOMAIN,
  SIF_MOD_START_PFN,
  SIF_MULTIBOOT_MOD,
  SIF_PRIVILEGED,
  SIF_VIRT_P2M_4TOOLS,
} from './xen.js';

/** What Xen and libxc write into `magic` for a 64-bit PV guest. */
export const XEN_START_INFO_MAGIC_X86_64 = 'xen-3.0-x86_64';

export const START_INFO_MAGIC_OFF = 0;
export const START_INFO_MAGIC_BYTES = 32;
export const START_INFO_NR_PAGES_OFF = 32;
export const START_INFO_SHARED_INFO_OFF = 40;
export const START_INFO_FLAGS_OFF = 48;
export const START_INFO_STORE_MFN_OFF = 56;
export const START_INFO_STORE_EVTCHN_OFF = 64;
/** console.domU.mfn, or console.dom0.info_off (uint32) for the initial domain. */
export const START_INFO_CONSOLE_MFN_OFF = 72;
/** console.domU.evtchn; console.dom0.info_size is at 76. */
export const START_INFO_CONSOLE_EVTCHN_OFF = 80;
export const START_INFO_CONSOLE_INFO_OFF_OFF = 72;
export const START_INFO_CONSOLE_INFO_SIZE_OFF = 76;
export const START_INFO_PT_BASE_OFF = 88;
export const START_INFO_NR_PT_FRAMES_OFF = 96;
export const START_INFO_MFN_LIST_OFF = 104;
export const START_INFO_MOD_START_OFF = 112;
export const START_INFO_MOD_LEN_OFF = 120;
export const START_INFO_CMD_LINE_OFF = 128;
export const START_INFO_FIRST_P2M_PFN_OFF = 1152;
export const START_INFO_NR_P2M_FRAMES_OFF = 1160;
/** sizeof(struct start_info) on x86-64. */
export const START_INFO_BYTES = 1168;

/** The console union: a domU gets a ring page and port, dom0 the offset of its console_info. */
export type StartInfoConsole =
  { domU: { mfn: Mfn; evtchn: Port } } | { dom0: { info_off: number; info_size: number } };

export interface StartInfo {
  magic: string;
  nr_pages: number;
  /** Machine address of the shared_info page. */
  shared_info: number;
  /** SIF_* bits. */
  flags: number;
  store_mfn: Mfn;
  store_evtchn: Port;
  /** dom0's view when flags has SIF_INITDOMAIN, otherwise domU's. */
  console: StartInfoConsole;
  pt_base: bigint;
  nr_pt_frames: number;
  mfn_list: bigint;
  mod_start: bigint;
  mod_len: number;
  cmd_line: string;
  first_p2m_pfn: number;
  nr_p2m_frames: number;
}

const utf8 = new TextEncoder();
const utf8Lenient = new TextDecoder('utf-8', { fatal: false });

/** A NUL-terminated char array; a field with no NUL is read to its end. */
function readCString(view: DataView, off: number, len: number): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + off, len);
  const nul = bytes.indexOf(0);
  // slice copies, so decoding also works when guest memory sits in a SharedArrayBuffer.
  return utf8Lenient.decode(bytes.slice(0, nul < 0 ? len : nul));
}

function writeCString(view: DataView, off: number, len: number, bytes: Uint8Array): void {
  for (let i = 0; i < len; i++) view.setUint8(off + i, i < bytes.length ? (bytes[i] ?? 0) : 0);
}

/** Reads an unsigned long that must be a safe integer. */
function readCount(view: DataView, off: number, name: string): IoResult<number> {
  const v = view.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return ioErr(`start_info: ${name} ${v} exceeds 2^53`);
  return ioOk(Number(v));
}

const COUNT_FIELDS = [
  ['nr_pages', START_INFO_NR_PAGES_OFF],
  ['shared_info', START_INFO_SHARED_INFO_OFF],
  ['store_mfn', START_INFO_STORE_MFN_OFF],
  ['nr_pt_frames', START_INFO_NR_PT_FRAMES_OFF],
  ['mod_len', START_INFO_MOD_LEN_OFF],
  ['first_p2m_pfn', START_INFO_FIRST_P2M_PFN_OFF],
  ['nr_p2m_frames', START_INFO_NR_P2M_FRAMES_OFF],
] as const;
type CountField = (typeof COUNT_FIELDS)[number][0];

/** Reads a start_info page; the magic must begin with `xen-`. */
export function readStartInfo(view: DataView, off = 0): IoResult<StartInfo> {
  const span = checkSpan(view, off, START_INFO_BYTES, 'start_info');
  if (!span.ok) return span;
  const magic = readCString(view, off + START_INFO_MAGIC_OFF, START_INFO_MAGIC_BYTES);
  if (!magic.startsWith('xen-')) {
    return ioErr(`start_info: magic ${JSON.stringify(magic)} does not start with "xen-"`);
  }
  const counts = {} as Record<CountField, number>;
  for (const [name, fieldOff] of COUNT_FIELDS) {
    const v = readCount(view, off + fieldOff, name);
    if (!v.ok) return v;
    counts[name] = v.value;
  }
  const flags = view.getUint32(off + START_INFO_FLAGS_OFF, true);
  let console: StartInfoConsole;
  if (flags & SIF_INITDOMAIN) {
    console = {
      dom0: {
        info_off: view.getUint32(off + START_INFO_CONSOLE_INFO_OFF_OFF, true),
        info_size: view.getUint32(off + START_INFO_CONSOLE_INFO_SIZE_OFF, true),
      },
    };
  } else {
    const mfn = readCount(view, off + START_INFO_CONSOLE_MFN_OFF, 'console.domU.mfn');
    if (!mfn.ok) return mfn;
    const evtchn = view.getUint32(off + START_INFO_CONSOLE_EVTCHN_OFF, true);
    console = { domU: { mfn: asMfn(mfn.value), evtchn: asPort(evtchn) } };
  }
  return ioOk({
    magic,
    nr_pages: counts.nr_pages,
    shared_info: counts.shared_info,
    flags,
    store_mfn: asMfn(counts.store_mfn),
    store_evtchn: asPort(view.getUint32(off + START_INFO_STORE_EVTCHN_OFF, true)),
    console,
    pt_base: view.getBigUint64(off + START_INFO_PT_BASE_OFF, true),
    nr_pt_frames: counts.nr_pt_frames,
    mfn_list: view.getBigUint64(off + START_INFO_MFN_LIST_OFF, true),
    mod_start: view.getBigUint64(off + START_INFO_MOD_START_OFF, true),
    mod_len: counts.mod_len,
    cmd_line: readCString(view, off + START_INFO_CMD_LINE_OFF, MAX_GUEST_CMDLINE),
    first_p2m_pfn: counts.first_p2m_pfn,
    nr_p2m_frames: counts.nr_p2m_frames,
  });
}

/** Checks every field range and the string lengths (each needs room for its NUL). */
function checkStartInfo(si: StartInfo): IoResult<{ magic: Uint8Array; cmdLine: Uint8Array }> {
  const magic = utf8.encode(si.magic);
  if (magic.length >= START_INFO_MAGIC_BYTES) {
    return ioErr(`start_info: magic is ${magic.length} bytes, at most 31 fit`);
  }
  const cmdLine = utf8.encode(si.cmd_line);
  if (cmdLine.length >= MAX_GUEST_CMDLINE) {
    return ioErr(`start_info: cmd_line is ${cmdLine.length} bytes, at most 1023 fit`);
  }
  for (const [name] of COUNT_FIELDS) {
    const v = name === 'store_mfn' ? si.store_mfn : si[name];
    if (!Number.isSafeInteger(v) || v < 0) return ioErr(`start_info: ${name} ${v} out of range`);
  }
  if (!isUint(si.flags, 32)) return ioErr(`start_info: flags ${si.flags} not uint32`);
  if (!isUint(si.store_evtchn, 32)) return ioErr(`start_info: store_evtchn not uint32`);
  for (const name of ['pt_base', 'mfn_list', 'mod_start'] as const) {
    if (!isUint64(si[name])) return ioErr(`start_info: ${name} ${si[name]} not uint64`);
  }
  if ('dom0' in si.console !== ((si.flags & SIF_INITDOMAIN) !== 0)) {
    return ioErr('start_info: console.dom0 is used exactly when flags has SIF_INITDOMAIN');
  }
  if ('domU' in si.console) {
    const { mfn, evtchn } = si.console.domU;
    if (!Number.isSafeInteger(mfn) || mfn < 0 || !isUint(evtchn, 32)) {
      return ioErr('start_info: console.domU mfn or evtchn out of range');
    }
  } else {
    const { info_off, info_size } = si.console.dom0;
    if (!isUint(info_off, 32) || !isUint(info_size, 32)) {
      return ioErr('start_info: console.dom0 info_off or info_size not uint32');
    }
  }
  return ioOk({ magic, cmdLine });
}

/** Writes a whole start_info (padding and the unused tails of the strings zeroed). */
export function writeStartInfo(view: DataView, off: number, si: StartInfo): IoResult<undefined> {
  const span = checkSpan(view, off, START_INFO_BYTES, 'start_info');
  if (!span.ok) return span;
  const checked = checkStartInfo(si);
  if (!checked.ok) return checked;
  for (let i = 0; i < START_INFO_BYTES; i++) view.setUint8(off + i, 0);
  writeCString(view, off + START_INFO_MAGIC_OFF, START_INFO_MAGIC_BYTES, checked.value.magic);
  const u64 = (fieldOff: number, v: number | bigint): void =>
    view.setBigUint64(off + fieldOff, BigInt(v), true);
  u64(START_INFO_NR_PAGES_OFF, si.nr_pages);
  u64(START_INFO_SHARED_INFO_OFF, si.shared_info);
  view.setUint32(off + START_INFO_FLAGS_OFF, si.flags, true);
  u64(START_INFO_STORE_MFN_OFF, si.store_mfn);
  view.setUint32(off + START_INFO_STORE_EVTCHN_OFF, si.store_evtchn, true);
  if ('domU' in si.console) {
    u64(START_INFO_CONSOLE_MFN_OFF, si.console.domU.mfn);
    view.setUint32(off + START_INFO_CONSOLE_EVTCHN_OFF, si.console.domU.evtchn, true);
  } else {
    view.setUint32(off + START_INFO_CONSOLE_INFO_OFF_OFF, si.console.dom0.info_off, true);
    view.setUint32(off + START_INFO_CONSOLE_INFO_SIZE_OFF, si.console.dom0.info_size, true);
  }
  u64(START_INFO_PT_BASE_OFF, si.pt_base);
  u64(START_INFO_NR_PT_FRAMES_OFF, si.nr_pt_frames);
  u64(START_INFO_MFN_LIST_OFF, si.mfn_list);
  u64(START_INFO_MOD_START_OFF, si.mod_start);
  u64(START_INFO_MOD_LEN_OFF, si.mod_len);
  writeCString(view, off + START_INFO_CMD_LINE_OFF, MAX_GUEST_CMDLINE, checked.value.cmdLine);
  u64(START_INFO_FIRST_P2M_PFN_OFF, si.first_p2m_pfn);
  u64(START_INFO_NR_P2M_FRAMES_OFF, si.nr_p2m_frames);
  return ioOk(undefined);
}
