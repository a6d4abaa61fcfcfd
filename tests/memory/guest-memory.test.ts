import { describe, expect, it } from 'vitest';
import {
  XEN_DOMCTL_SHADOW_OP_CLEAN,
  XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY,
  XEN_DOMCTL_SHADOW_OP_OFF,
  XEN_DOMCTL_SHADOW_OP_PEEK,
  XENMEM_decrease_reservation,
  XENMEM_populate_physmap,
} from '../../hypercalls/memory.js';
import { XEN_EFAULT, XEN_EINVAL, XEN_EPERM, XEN_ESRCH } from '../../hypercalls/errno.js';
import { asDomId, PAGE_SIZE } from '../../hypercalls/types.js';
import { caller, guestOf, makeDomain, makeMemory, reservation } from './world.js';

const page = (byte: number): Uint8Array => new Uint8Array(PAGE_SIZE).fill(byte);

describe('guest memory access', () => {
  it('a guest reads back what it wrote, at any in-page offset', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 8, 4);
    const g = guestOf(mm, 1);
    expect(g.write(2, 100, new Uint8Array([1, 2, 3]))).toBe(0);
    const out = new Uint8Array(5);
    expect(g.read(2, 99, out)).toBe(0);
    expect([...out]).toEqual([0, 1, 2, 3, 0]);
    expect(g.view(2)?.[101]).toBe(2);
  });

  it('bad pfns and ranges give an errno and touch nothing', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 8, 2);
    const g = guestOf(mm, 1);
    expect(g.write(5, 0, page(1))).toBe(XEN_EFAULT);
    expect(g.write(-1, 0, page(1))).toBe(XEN_EFAULT);
    expect(g.write(1.5, 0, page(1))).toBe(XEN_EFAULT);
    expect(g.write(0, 1, page(1))).toBe(XEN_EINVAL);
    expect(g.read(0, 4095, new Uint8Array(2))).toBe(XEN_EINVAL);
    expect(g.read(0, -1, new Uint8Array(1))).toBe(XEN_EINVAL);
    expect(g.view(9)).toBeUndefined();
    expect(mm.frames.backedBytes).toBe(0);
  });

  it('frames cost nothing until written: reads of never-written pages are zeros without backing', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 1024, 1024);
    const g = guestOf(mm, 1);
    const out = new Uint8Array(PAGE_SIZE).fill(7);
    expect(g.read(1000, 0, out)).toBe(0);
    expect(out.every((b) => b === 0)).toBe(true);
    expect(mm.frames.backedBytes).toBe(0);
    g.write(3, 0, page(9));
    expect(mm.frames.backedBytes).toBe(1 << 20);
  });

  it('a guest cannot reach a frame it does not own through ownFrame', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 8, 1);
    makeDomain(mm, 2, 8, 1);
    const other = guestOf(mm, 2).pfnToMfn(0);
    expect(guestOf(mm, 1).ownFrame(other)).toBeUndefined();
    expect(guestOf(mm, 1).ownFrame(guestOf(mm, 1).pfnToMfn(0))).toBeInstanceOf(Uint8Array);
    expect(guestOf(mm, 1).mfnToPfn(other)).toBe(-1);
  });

  it('balloon round trip: decrease then populate gives the pages back zeroed', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 4, 4);
    makeDomain(mm, 2, 4);
    const g = guestOf(mm, 1);
    for (let pfn = 0; pfn < 4; pfn++) g.write(pfn, 0, page(0xaa));
    const mfns = [g.pfnToMfn(1), g.pfnToMfn(2)];
    expect(mm.memoryOp(caller(1), XENMEM_decrease_reservation, reservation(mfns, 2)).ok).toBe(true);
    expect(mm.totPages(asDomId(1))).toBe(2);
    // The freed frames are scrubbed before anyone else gets them.
    const ext2 = [0, 1];
    mm.memoryOp(caller(2), XENMEM_populate_physmap, reservation(ext2, 2));
    const g2 = guestOf(mm, 2);
    const seen = new Uint8Array(PAGE_SIZE);
    for (const pfn of [0, 1]) {
      g2.read(pfn, 0, seen);
      expect(seen.every((b) => b === 0)).toBe(true);
    }
    mm.memoryOp(caller(2), XENMEM_decrease_reservation, reservation(ext2.slice(), 2));
    const back = [1, 2];
    expect(mm.memoryOp(caller(1), XENMEM_populate_physmap, reservation(back, 2)).ok).toBe(true);
    for (const pfn of [1, 2]) {
      g.read(pfn, 0, seen);
      expect(seen.every((b) => b === 0)).toBe(true);
    }
    g.read(0, 0, seen);
    expect(seen[0]).toBe(0xaa);
    expect(mm.totPages(asDomId(1))).toBe(4);
  });
});

describe('log-dirty (XEN_DOMCTL_shadow_op)', () => {
  const bitmapPfns = (bm: Uint8Array): number[] => {
    const out: number[] = [];
    for (let i = 0; i < bm.length * 8; i++)
      if ((bm[i >> 3] as number) & (1 << (i & 7))) out.push(i);
    return out;
  };

  it('CLEAN reports exactly the pages written since the last CLEAN, then resets', () => {
    const mm = makeMemory();
    const d = makeDomain(mm, 1, 64, 64);
    const g = guestOf(mm, 1);
    expect(mm.shadowOp(d, { op: XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY })).toEqual({
      ok: true,
      value: 0,
    });
    g.write(3, 0, new Uint8Array(1));
    g.write(40, 10, new Uint8Array(1));
    g.write(3, 5, new Uint8Array(1));
    g.writableView(63);
    const bm = new Uint8Array(8);
    const sc: Record<string, unknown> = {
      op: XEN_DOMCTL_SHADOW_OP_PEEK,
      dirty_bitmap: bm,
      pages: 64,
    };
    expect(mm.shadowOp(d, sc).ok).toBe(true);
    expect(bitmapPfns(bm)).toEqual([3, 40, 63]);
    expect(sc.stats).toEqual({ fault_count: 4, dirty_count: 3 });
    sc.op = XEN_DOMCTL_SHADOW_OP_CLEAN;
    mm.shadowOp(d, sc);
    expect(bitmapPfns(bm)).toEqual([3, 40, 63]);
    g.write(7, 0, new Uint8Array(1));
    const bm2 = new Uint8Array(8);
    mm.shadowOp(d, { op: XEN_DOMCTL_SHADOW_OP_CLEAN, dirty_bitmap: bm2, pages: 64 });
    expect(bitmapPfns(bm2)).toEqual([7]);
    // Reads never dirty a page.
    g.read(9, 0, new Uint8Array(4));
    g.view(9);
    const bm3 = new Uint8Array(8);
    mm.shadowOp(d, { op: XEN_DOMCTL_SHADOW_OP_CLEAN, dirty_bitmap: bm3, pages: 64 });
    expect(bitmapPfns(bm3)).toEqual([]);
  });

  it('shadow_op rejects CLEAN without log-dirty, double ENABLE, a short bitmap and unknown ops', () => {
    const mm = makeMemory();
    const d = makeDomain(mm, 1, 64, 64);
    expect(mm.shadowOp(d, { op: XEN_DOMCTL_SHADOW_OP_CLEAN, pages: 0 })).toEqual({
      ok: false,
      errno: XEN_EINVAL,
    });
    mm.shadowOp(d, { op: XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY });
    expect(mm.shadowOp(d, { op: XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY })).toEqual({
      ok: false,
      errno: XEN_EINVAL,
    });
    const short = { op: XEN_DOMCTL_SHADOW_OP_PEEK, dirty_bitmap: new Uint8Array(2), pages: 64 };
    expect(mm.shadowOp(d, short)).toEqual({ ok: false, errno: XEN_EFAULT });
    expect(mm.shadowOp(d, { op: 77 })).toEqual({ ok: false, errno: XEN_EINVAL });
    expect(mm.shadowOp(d, null)).toEqual({ ok: false, errno: XEN_EFAULT });
    expect(mm.shadowOp(asDomId(9), { op: 0 })).toEqual({ ok: false, errno: XEN_ESRCH });
    expect(mm.shadowOp(d, { op: XEN_DOMCTL_SHADOW_OP_OFF })).toEqual({ ok: true, value: 0 });
    guestOf(mm, 1).write(1, 0, new Uint8Array(1));
    expect(mm.shadowOp(d, { op: XEN_DOMCTL_SHADOW_OP_PEEK, pages: 64 })).toEqual({
      ok: false,
      errno: XEN_EINVAL,
    });
  });
});

describe('privileged foreign mapping (privcmd)', () => {
  it('dom0 maps a domU frame by pfn and sees its real bytes; an unprivileged caller gets EPERM', () => {
    const mm = makeMemory();
    makeDomain(mm, 0, 8, 1);
    makeDomain(mm, 1, 8, 2);
    makeDomain(mm, 2, 8, 1);
    guestOf(mm, 1).write(1, 0, new Uint8Array([5, 6]));
    const m = mm.foreign(caller(0)).mapForeignPfns(1, [1, 7], true);
    if (!m.ok) throw new Error('map failed');
    expect(m.value.view(0)?.[1]).toBe(6);
    expect(m.value.pages[1]?.errno).toBe(XEN_EINVAL);
    expect(m.value.view(1)).toBeUndefined();
    m.value.view(0)?.set([9], 0);
    const out = new Uint8Array(1);
    guestOf(mm, 1).read(1, 0, out);
    expect(out[0]).toBe(9);
    expect(mm.foreign(caller(2)).mapForeignPfns(1, [1], false)).toEqual({
      ok: false,
      errno: XEN_EPERM,
    });
    expect(mm.foreign(caller(0)).mapForeignPfns(44, [1], false)).toEqual({
      ok: false,
      errno: XEN_ESRCH,
    });
    // By MFN: a frame of another domain is refused per page.
    const other = guestOf(mm, 2).pfnToMfn(0);
    const byMfn = mm.foreign(caller(0)).mapForeignMfns(1, [other], false);
    expect(byMfn.ok && byMfn.value.pages[0]?.errno).toBe(XEN_EINVAL);
  });

  it('a domain destroyed while dom0 maps one of its frames stays a zombie until the unmap', () => {
    const mm = makeMemory();
    makeDomain(mm, 0, 8, 1);
    const d1 = makeDomain(mm, 1, 8, 4);
    const free0 = mm.table.freeFrames;
    const fm = mm.foreign(caller(0));
    const m = fm.mapForeignPfns(1, [2], false);
    if (!m.ok) throw new Error('map failed');
    const released: number[] = [];
    expect(mm.destroyDomain(d1, (id) => released.push(id))).toBe(true);
    expect(mm.table.freeFrames).toBe(free0 + 3);
    expect(released).toEqual([]);
    expect(mm.domain(1)?.dying).toBe(true);
    expect(mm.guest(d1).ok).toBe(false);
    expect(fm.unmapForeign(m.value)).toBe(0);
    expect(released).toEqual([1]);
    expect(mm.domain(1)).toBeUndefined();
    expect(mm.table.freeFrames).toBe(free0 + 4);
    expect(fm.unmapForeign(m.value)).toBe(XEN_EINVAL);
  });

  it('destroying a domain with nothing mapped frees everything at once without a callback', () => {
    const mm = makeMemory();
    const d1 = makeDomain(mm, 1, 8, 4);
    let called = false;
    expect(mm.destroyDomain(d1, () => (called = true))).toBe(false);
    expect(called).toBe(false);
    expect(mm.table.freeFrames).toBe(mm.table.usableFrames);
  });
});
