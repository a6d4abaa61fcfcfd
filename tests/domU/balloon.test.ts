// The balloon driver against a fake memory_op (drivers/xen/balloon.c; memory.h reservations):
// memory/target in KiB, decrease_reservation by MFN, populate_physmap by pfn, up to max_pages.

import { describe, expect, it } from 'vitest';
import {
  XENMEM_decrease_reservation,
  XENMEM_populate_physmap,
  type xen_memory_reservation,
} from '../../hypercalls/memory.js';
import { MFN_BASE } from './fake-xen.js';
import { bootKernel } from './kernel-harness.js';

const setup = () => {
  const b = bootKernel({}, { nrPages: 1024, maxPages: 1280 });
  b.runUntil(() => b.xsd.watches.length >= 4 && b.kernel().xs.outstanding === 0);
  return b;
};

describe('balloon', () => {
  it('follows memory/target down with decrease_reservation and back up with populate_physmap', () => {
    const { xen, xsd, kernel, runUntil } = setup();
    const k = kernel();
    xsd.set('memory/target', String((1024 - 700) * 4));
    expect(runUntil(() => k.balloon.currentPages === 324)).toBe(true);
    expect(xen.memory.populated.size).toBe(324);
    expect(k.balloon.currentKb).toBe(324 * 4);
    // In batches of at most 512 frames, named by MFN.
    const dec = xen.calls.filter(
      (c) => c.op === 'memory_op' && c.cmd === XENMEM_decrease_reservation,
    );
    expect(dec.length).toBe(2);
    const first = dec[0]?.arg as xen_memory_reservation;
    expect(first.nr_extents).toBe(512);
    expect((first.extent_start ?? []).every((m) => m >= MFN_BASE)).toBe(true);
    // The kernel's own pages stayed.
    expect(xen.memory.populated.has(1000)).toBe(true);
    expect(xen.memory.populated.has(0)).toBe(true);

    xsd.set('memory/target', String((1024 + 100) * 4));
    expect(runUntil(() => k.balloon.currentPages === 1124)).toBe(true);
    expect(xen.memory.populated.size).toBe(1124);
    const pop = xen.calls.filter((c) => c.op === 'memory_op' && c.cmd === XENMEM_populate_physmap);
    expect(pop.length).toBeGreaterThan(0);
    expect(k.pages.balloonedCount).toBe(1280 - 1124);
  });

  it('stops at max_pages, keeps the rest ballooned and retries with a growing delay instead of spinning', () => {
    const { xen, xsd, kernel, runUntil } = setup();
    const k = kernel();
    xen.maxPages = 1100;
    xsd.set('memory/target', String(1280 * 4));
    expect(runUntil(() => k.balloon.currentPages === 1100)).toBe(true);
    const t0 = xen.nowNs;
    const calls0 = xen.count('memory_op', XENMEM_populate_physmap);
    runUntil(() => false, 20e9);
    const retries = xen.count('memory_op', XENMEM_populate_physmap) - calls0;
    // Delays 1+2+4+8 s fit in 20 s: about four retries, not thousands.
    expect(retries).toBeGreaterThanOrEqual(3);
    expect(retries).toBeLessThanOrEqual(6);
    expect(xen.nowNs - t0).toBeGreaterThan(10e9);
    expect(k.balloon.lastError).toMatch(/populate_physmap/);
    // More room: the next retry takes it.
    xen.maxPages = 1280;
    expect(runUntil(() => k.balloon.currentPages === 1280, 60e9)).toBe(true);
  });

  it('a page in use by a program is never ballooned out', () => {
    const { xen, xsd, kernel, runUntil } = setup();
    const k = kernel();
    const mine = k.pages.alloc();
    k.writePage(mine, 0, new Uint8Array([1, 2, 3]));
    xsd.set('memory/target', String(100 * 4));
    runUntil(() => k.balloon.currentPages <= 100 || k.balloon.lastError !== null, 5e9);
    expect(xen.memory.populated.has(mine)).toBe(true);
    const b = new Uint8Array(3);
    k.readPage(mine, 0, b);
    expect([...b]).toEqual([1, 2, 3]);
  });
});
