// The P2M list the builder writes for a PV guest (start_info.mfn_list; libxc xc_dom_boot /
// xc_sr_restore_x86_pv): one little-endian u64 per pfn, the MFN XENMEM_populate_physmap gave back,
// INVALID_MFN (all ones) where nothing is populated.

import { afterEach, describe, expect, it } from 'vitest';
import { SimHost } from '../../dom0/host/compose.js';

const MiB = 1 << 20;
const SEC = 1_000_000_000;
let h: SimHost | undefined;
afterEach(() => {
  h?.dispose();
  h = undefined;
});

/** The P2M entries as the guest sees them, next to the hypervisor's own pfn -> MFN. */
function p2mOf(host: SimHost, domid: number): { listed: bigint[]; actual: number[] } {
  const rec = host.toolstack.registry.get(domid);
  if (!rec) throw new Error(`no domain ${domid}`);
  const g = host.memory.guest(domid as never);
  if (!g.ok) throw new Error('no guest memory');
  const { p2mPfn, nrPages } = rec.layout;
  const bytes = new Uint8Array(Math.ceil((nrPages * 8) / 4096) * 4096);
  for (let i = 0; i * 4096 < bytes.length; i++)
    g.value.read(p2mPfn + i, 0, bytes.subarray(i * 4096, (i + 1) * 4096));
  const dv = new DataView(bytes.buffer);
  const listed: bigint[] = [];
  const actual: number[] = [];
  for (let pfn = 0; pfn < nrPages; pfn++) {
    listed.push(dv.getBigUint64(pfn * 8, true));
    actual.push(g.value.pfnToMfn(pfn));
  }
  return { listed, actual };
}

describe('the P2M list a PV guest boots with', () => {
  it('lists every pfn with the MFN the hypervisor gave it', async () => {
    h = new SimHost({ nrPcpus: 1, memoryBytes: 256 * MiB, dom0MemBytes: 64 * MiB });
    const domid = await h.create({ name: 'p', kernel: '/boot/vmlinuz-xensim-pv', memory: 16 });
    const { listed, actual } = p2mOf(h, domid);
    expect(listed.length).toBe(16 * 256);
    expect(actual.every((m) => m >= 0)).toBe(true);
    expect(listed).toEqual(actual.map((m) => BigInt(m)));
  });

  it('after a restore of a ballooned guest, the pfns given back read INVALID_MFN', async () => {
    h = new SimHost({ nrPcpus: 1, memoryBytes: 256 * MiB, dom0MemBytes: 64 * MiB });
    const domid = await h.create({ name: 'b', kernel: '/boot/vmlinuz-xensim-pv', memory: 32 });
    await h.run(h.toolstack.memSet(domid, 16 * 1024));
    h.runFor(1 * SEC);
    const file = '/var/lib/xen/save/b.save';
    await h.run(
      h.toolstack.save({ domid, file, checkpoint: false, leavePaused: false }, () => undefined),
    );
    const back = (await h.run(h.toolstack.restore({ file, paused: true }, () => undefined))).domid;
    const { listed, actual } = p2mOf(h, back);
    const holes = actual.filter((m) => m < 0).length;
    expect(holes).toBeGreaterThan(0);
    listed.forEach((entry, pfn) => {
      const m = actual[pfn] as number;
      expect(entry).toBe(m < 0 ? 0xffff_ffff_ffff_ffffn : BigInt(m));
    });
  });
});
