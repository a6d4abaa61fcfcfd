// The xenbus client's byte stream under any ring starting index (the 2^32 wrap included), any
// request size up to the payload limit and any reply dribble size: what is written reads back.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { xsHarness } from './harness.js';

describe('xenbus ring property', () => {
  it('writes then reads return the values, whatever the indices and chunking', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constant(0xffffffff - 5),
          fc.integer({ min: 0xfffff000, max: 0xffffffff }),
          fc.nat(),
        ),
        fc.integer({ min: 1, max: 1024 }),
        fc.array(fc.string({ minLength: 0, maxLength: 3000 }), { minLength: 1, maxLength: 6 }),
        (start, chunk, values) => {
          const { xs, xsd, run } = xsHarness({ startIndex: start >>> 0 });
          xsd.rspChunk = chunk;
          const got = run(
            (function* () {
              const out: unknown[] = [];
              for (let i = 0; i < values.length; i++)
                yield* xs.write(`data/v${i}`, values[i] ?? '');
              for (let i = 0; i < values.length; i++) out.push(yield* xs.read(`data/v${i}`));
              return out;
            })(),
          );
          expect(got).toEqual(values.map((v) => ({ ok: true, value: v })));
          expect(xs.errors).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
