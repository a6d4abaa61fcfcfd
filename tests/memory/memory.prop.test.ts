import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  XENMEM_decrease_reservation,
  XENMEM_increase_reservation,
  XENMEM_populate_physmap,
} from '../../hypercalls/memory.js';
import { asDomId, PAGE_SIZE } from '../../hypercalls/types.js';
import { memoryInvariantViolations } from '../../hypervisor/memory/invariants.js';
import type { ForeignMapping } from '../../hypercalls/memory.js';
import { caller, guestOf, makeDomain, makeMemory, MiB, reservation } from './world.js';

const DOMS = [1, 2, 3];
const MAX_PAGES = 6;
const PFNS = 8;

type Op =
  | { k: 'populate'; by: number; dom: number; pfns: number[] }
  | { k: 'increase'; by: number; n: number }
  | { k: 'decrease'; by: number; picks: { own: boolean; dom: number; pfn: number; raw: number }[] }
  | { k: 'write'; dom: number; pfn: number; tag: number }
  | { k: 'fmap'; dom: number; pfns: number[] }
  | { k: 'funmap'; i: number }
  | { k: 'destroy'; dom: number };

const dom = fc.constantFrom(...DOMS);
const pfn = fc.integer({ min: -1, max: PFNS });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({ own: fc.boolean(), by: dom, dom, pfns: fc.array(pfn, { maxLength: 4 }) })
      .map(({ own, by, dom, pfns }) => ({ k: 'populate' as const, by: own ? dom : by, dom, pfns })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('increase' as const),
      by: dom,
      n: fc.integer({ min: 0, max: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('decrease' as const),
      by: dom,
      picks: fc.array(
        fc.record({ own: fc.boolean(), dom, pfn, raw: fc.integer({ min: -5, max: 20_000 }) }),
        {
          maxLength: 4,
        },
      ),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('write' as const),
      dom,
      pfn,
      tag: fc.integer({ min: 1, max: 255 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('fmap' as const),
      dom,
      pfns: fc.array(pfn, { maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('funmap' as const), i: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('destroy' as const), dom }) },
);

describe('machine memory under random operations', () => {
  it('keeps frame ownership, P2M/M2P, tot_pages <= max_pages and every domain seeing only its own bytes', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 30, maxLength: 80 }), (ops) => {
        const mm = makeMemory(4 * MiB);
        makeDomain(mm, 0, 16, 1);
        for (const d of DOMS) makeDomain(mm, d, MAX_PAGES);
        /** What each domain last wrote at each pfn (the oracle): 0 once the pfn is (re)populated. */
        const model = new Map<number, Map<number, number>>(DOMS.map((d) => [d, new Map()]));
        const maps: ForeignMapping[] = [];
        const fm = mm.foreign(caller(0));
        for (const o of ops) {
          const live = (d: number): boolean => mm.live(d) !== undefined;
          // A destroyed domain comes back (same domid) once its last frame is released.
          for (const d of DOMS) if (!mm.domain(d)) makeDomain(mm, d, MAX_PAGES);
          switch (o.k) {
            case 'populate': {
              const before = o.pfns.map((p) => (live(o.dom) ? guestOf(mm, o.dom).pfnToMfn(p) : -1));
              const r = mm.memoryOp(
                caller(o.by),
                XENMEM_populate_physmap,
                reservation([...o.pfns], o.pfns.length, o.dom),
              );
              expect(r.ok).toBe(true);
              const done = r.ok ? r.value : 0;
              if (o.by !== o.dom) expect(done).toBe(0);
              for (let i = 0; i < done; i++) {
                expect(before[i]).toBe(-1);
                model.get(o.dom)?.set(o.pfns[i] as number, 0);
              }
              break;
            }
            case 'increase':
              mm.memoryOp(caller(o.by), XENMEM_increase_reservation, reservation(null, o.n));
              break;
            case 'decrease': {
              if (!live(o.by)) break;
              const mfns = o.picks.map((p) => {
                const from = p.own ? o.by : p.dom;
                return live(from) ? guestOf(mm, from).pfnToMfn(p.pfn) : p.raw;
              });
              const own = guestOf(mm, o.by);
              const pfns = mfns.map((m) => own.mfnToPfn(m));
              const r = mm.memoryOp(
                caller(o.by),
                XENMEM_decrease_reservation,
                reservation(mfns, mfns.length),
              );
              const done = r.ok ? r.value : 0;
              for (let i = 0; i < done; i++) model.get(o.by)?.delete(pfns[i] as number);
              break;
            }
            case 'write': {
              if (!live(o.dom)) break;
              const rc = guestOf(mm, o.dom).write(o.pfn, 17, new Uint8Array([o.tag]));
              if (rc === 0) model.get(o.dom)?.set(o.pfn, o.tag);
              else expect(guestOf(mm, o.dom).pfnToMfn(o.pfn)).toBe(-1);
              break;
            }
            case 'fmap': {
              const r = fm.mapForeignPfns(o.dom, o.pfns, false);
              if (r.ok) maps.push(r.value);
              else expect(live(o.dom)).toBe(false);
              break;
            }
            case 'funmap': {
              const m = maps.splice(o.i % Math.max(maps.length, 1), 1)[0];
              if (m) expect(fm.unmapForeign(m)).toBe(0);
              break;
            }
            case 'destroy':
              if (!live(o.dom)) break;
              mm.destroyDomain(asDomId(o.dom), () => undefined);
              model.set(o.dom, new Map());
              break;
          }
          expect(memoryInvariantViolations(mm)).toEqual([]);
          for (const d of DOMS) {
            const dm = mm.live(d);
            if (!dm) continue;
            expect(dm.totPages).toBeLessThanOrEqual(dm.maxPages);
            const g = guestOf(mm, d);
            const b = new Uint8Array(1);
            for (const [p, tag] of model.get(d) ?? []) {
              expect(g.read(p, 17, b)).toBe(0);
              expect(b[0]).toBe(tag);
            }
          }
        }
        for (const m of maps) fm.unmapForeign(m);
        for (const d of [0, ...DOMS]) if (mm.live(d)) mm.destroyDomain(asDomId(d), () => undefined);
        expect(mm.domids()).toEqual([]);
        expect(mm.table.freeFrames).toBe(mm.table.usableFrames);
        expect(PAGE_SIZE).toBe(4096);
      }),
      { numRuns: 200 },
    );
  });
});
