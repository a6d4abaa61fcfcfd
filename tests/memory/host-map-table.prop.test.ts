import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HostMapTable } from '../../hypervisor/memory/host-map-table.js';

describe('host mapping table', () => {
  it('behaves like a Map under random inserts and removes (backward-shift deletion keeps chains)', () => {
    const key = fc.oneof(
      fc.integer({ min: 0, max: 64 }),
      fc.integer({ min: 2 ** 32, max: 2 ** 35 }),
    );
    const step = fc.record({
      insert: fc.boolean(),
      key,
      val: fc.integer({ min: 0, max: 2 ** 31 }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 300 }), (steps) => {
        const t = new HostMapTable(4);
        const model = new Map<number, number>();
        for (const s of steps) {
          if (s.insert) {
            expect(t.insert(s.key, s.val)).toBe(!model.has(s.key));
            if (!model.has(s.key)) model.set(s.key, s.val);
          } else {
            expect(t.remove(s.key)).toBe(model.delete(s.key));
          }
          expect(t.size).toBe(model.size);
        }
        for (const [k, v] of model) expect(t.get(k)).toBe(v);
        expect(t.get(0.5)).toBe(-1);
        expect(t.get(-4)).toBe(-1);
      }),
      { numRuns: 200 },
    );
  });
});
