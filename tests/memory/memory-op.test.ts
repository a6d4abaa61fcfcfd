import { describe, expect, it } from 'vitest';
import {
  XENMEM_current_reservation,
  XENMEM_decrease_reservation,
  XENMEM_increase_reservation,
  XENMEM_maximum_gpfn,
  XENMEM_maximum_ram_page,
  XENMEM_maximum_reservation,
  XENMEM_populate_physmap,
  XENMEMF_populate_on_demand,
} from '../../hypercalls/memory.js';
import { XEN_EFAULT, XEN_ENOSYS, XEN_EPERM, XEN_ESRCH } from '../../hypercalls/errno.js';
import { asDomId } from '../../hypercalls/types.js';
import { DOMID_SELF } from '../../hypercalls/xen.js';
import { caller, guestOf, makeDomain, makeMemory, MiB, reservation } from './world.js';

describe('memory_op reservations (xen/common/memory.c)', () => {
  it('populate_physmap fills the given pfns, writes the MFNs back and keeps P2M and M2P in step', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 16);
    const ext = [0, 1, 5];
    const r = mm.memoryOp(caller(1), XENMEM_populate_physmap, reservation(ext, 3));
    expect(r).toEqual({ ok: true, value: 3 });
    const g = guestOf(mm, 1);
    expect(ext.map((pfn, i) => g.pfnToMfn([0, 1, 5][i] as number) === pfn)).toEqual([
      true,
      true,
      true,
    ]);
    for (const [i, pfn] of [0, 1, 5].entries()) expect(mm.table.m2p(ext[i] as number)).toBe(pfn);
    expect(mm.totPages(asDomId(1))).toBe(3);
    expect(g.pfnToMfn(2)).toBe(-1);
  });

  it('stops at max_pages and returns the number of extents completed (partial completion)', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 4);
    const r = mm.memoryOp(caller(1), XENMEM_populate_physmap, reservation([0, 1, 2, 3, 4, 5], 6));
    expect(r).toEqual({ ok: true, value: 4 });
    expect(mm.totPages(asDomId(1))).toBe(4);
    const inc = mm.memoryOp(caller(1), XENMEM_increase_reservation, reservation(null, 2));
    expect(inc).toEqual({ ok: true, value: 0 });
  });

  it('increase_reservation hands out frames with no pfn and reports their MFNs', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 8);
    const ext = [0, 0];
    expect(mm.memoryOp(caller(1), XENMEM_increase_reservation, reservation(ext, 2)).ok).toBe(true);
    for (const mfn of ext) {
      expect(mm.table.owner(mfn)).toBe(1);
      expect(mm.table.m2p(mfn)).toBe(-1);
    }
    expect(mm.totPages(asDomId(1))).toBe(2);
  });

  it('extent_order allocates aligned contiguous extents, capped at order 9 for a domU', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 4096);
    const ext = [512];
    expect(
      mm.memoryOp(caller(1), XENMEM_populate_physmap, reservation(ext, 1, DOMID_SELF, 9)),
    ).toEqual({
      ok: true,
      value: 1,
    });
    expect((ext[0] as number) % 512).toBe(0);
    expect(guestOf(mm, 1).pfnToMfn(1023)).toBe((ext[0] as number) + 511);
    const big = mm.memoryOp(
      caller(1),
      XENMEM_populate_physmap,
      reservation([0], 1, DOMID_SELF, 10),
    );
    expect(big).toEqual({ ok: true, value: 0 });
    const priv = mm.memoryOp(caller(0), XENMEM_populate_physmap, reservation([2048], 1, 1, 10));
    expect(priv).toEqual({ ok: true, value: 1 });
  });

  it('decrease_reservation frees the named MFNs and stops at one the domain does not own', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 8, 4);
    makeDomain(mm, 2, 8, 1);
    const g1 = guestOf(mm, 1);
    const foreign = guestOf(mm, 2).pfnToMfn(0);
    const r = mm.memoryOp(
      caller(1),
      XENMEM_decrease_reservation,
      reservation([g1.pfnToMfn(0), g1.pfnToMfn(1), foreign, g1.pfnToMfn(2)], 4),
    );
    expect(r).toEqual({ ok: true, value: 2 });
    expect(g1.pfnToMfn(0)).toBe(-1);
    expect(g1.pfnToMfn(2)).toBeGreaterThanOrEqual(0);
    expect(mm.totPages(asDomId(1))).toBe(2);
    expect(mm.table.owner(foreign)).toBe(2);
  });

  it('an unprivileged caller acting on another domain completes 0 extents (XSM_TARGET)', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 8);
    makeDomain(mm, 2, 8);
    expect(mm.memoryOp(caller(1), XENMEM_populate_physmap, reservation([0], 1, 2))).toEqual({
      ok: true,
      value: 0,
    });
    expect(mm.totPages(asDomId(2))).toBe(0);
    // Naming itself by id is the same as DOMID_SELF.
    expect(mm.memoryOp(caller(1), XENMEM_populate_physmap, reservation([0], 1, 1)).ok).toBe(true);
    expect(mm.totPages(asDomId(1))).toBe(1);
  });

  it('garbage reservations complete 0 extents and never throw', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 8);
    const bad: unknown[] = [
      null,
      42,
      'x',
      { ...reservation([0], 1), nr_extents: -1 },
      { ...reservation([0], 1), nr_extents: 1.5 },
      { ...reservation([0], 1), extent_order: 99 },
      { ...reservation([0], 1), domid: 0x10000 },
      { ...reservation([0], 1), domid: 77 },
      { ...reservation([0], 1), mem_flags: XENMEMF_populate_on_demand },
      { ...reservation([0], 1), extent_start: 'nope' },
      reservation([0], 3), // array shorter than nr_extents
      reservation(null, 1), // populate needs an array
    ];
    for (const arg of bad) {
      expect(mm.memoryOp(caller(1), XENMEM_populate_physmap, arg)).toEqual({ ok: true, value: 0 });
    }
    const r = mm.memoryOp(caller(1), XENMEM_populate_physmap, reservation([-1, 0], 2));
    expect(r).toEqual({ ok: true, value: 0 });
    const d = mm.memoryOp(
      caller(1),
      XENMEM_decrease_reservation,
      reservation([1e12, 'a' as never], 2),
    );
    expect(d).toEqual({ ok: true, value: 0 });
    expect(mm.totPages(asDomId(1))).toBe(0);
  });

  it('DEVIATION: populating a pfn that is already populated stops the batch', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 8, 2);
    expect(mm.memoryOp(caller(1), XENMEM_populate_physmap, reservation([2, 1, 3], 3))).toEqual({
      ok: true,
      value: 1,
    });
  });
});

describe('memory_op queries', () => {
  it('current/maximum_reservation and maximum_gpfn report tot_pages, max_pages and the highest pfn', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 10, 3);
    expect(mm.memoryOp(caller(1), XENMEM_current_reservation, DOMID_SELF)).toEqual({
      ok: true,
      value: 3,
    });
    expect(mm.memoryOp(caller(1), XENMEM_maximum_reservation, DOMID_SELF)).toEqual({
      ok: true,
      value: 10,
    });
    expect(mm.memoryOp(caller(0), XENMEM_maximum_gpfn, 1)).toEqual({ ok: true, value: 2 });
    mm.setMaxPages(asDomId(1), 20);
    expect(mm.memoryOp(caller(0), XENMEM_maximum_reservation, 1)).toEqual({ ok: true, value: 20 });
  });

  it('queries give ESRCH for a missing domain, EPERM for another domain unprivileged, EFAULT for a bad pointer', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 10);
    makeDomain(mm, 2, 10);
    expect(mm.memoryOp(caller(1), XENMEM_current_reservation, 9)).toEqual({
      ok: false,
      errno: XEN_ESRCH,
    });
    expect(mm.memoryOp(caller(1), XENMEM_current_reservation, 2)).toEqual({
      ok: false,
      errno: XEN_EPERM,
    });
    expect(mm.memoryOp(caller(1), XENMEM_current_reservation, { domid: 1 })).toEqual({
      ok: false,
      errno: XEN_EFAULT,
    });
  });

  it('maximum_ram_page is the number of host frames; unknown sub-ops are ENOSYS', () => {
    const mm = makeMemory(16 * MiB);
    expect(mm.memoryOp(caller(1), XENMEM_maximum_ram_page, null)).toEqual({
      ok: true,
      value: 4096,
    });
    expect(mm.memoryOp(caller(1), 999, null)).toEqual({ ok: false, errno: XEN_ENOSYS });
  });
});
