// Every reader of memory another domain writes returns a result for any bytes and any offset.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as blkif from '../../hypercalls/io/blkif.js';
import * as consoleIo from '../../hypercalls/io/console.js';
import * as netif from '../../hypercalls/io/netif.js';
import { BackRing, FrontRing, readSringHeader } from '../../hypercalls/io/ring.js';
import { readStartInfo } from '../../hypercalls/start-info.js';
import { asGrantRef } from '../../hypercalls/types.js';

const readers: Array<[string, (v: DataView, off: number) => { ok: boolean }]> = [
  ['readBlkifRequest', blkif.readBlkifRequest],
  ['readBlkifRequestDiscard', blkif.readBlkifRequestDiscard],
  ['readBlkifResponse', blkif.readBlkifResponse],
  ['readNetifTxRequest', netif.readNetifTxRequest],
  ['readNetifTxResponse', netif.readNetifTxResponse],
  ['readNetifRxRequest', netif.readNetifRxRequest],
  ['readNetifRxResponse', netif.readNetifRxResponse],
  ['readNetifExtraInfo', netif.readNetifExtraInfo],
  ['readStartInfo', readStartInfo],
  ['readSringHeader', (v) => readSringHeader(v)],
  ['xenconsReadOut', (v) => consoleIo.xenconsReadOut(v)],
  ['xenconsReadIn', (v) => consoleIo.xenconsReadIn(v)],
];

describe('decoders never throw (fast-check)', () => {
  it('every reader returns a result for random bytes at random offsets', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 4096 }),
        fc.oneof(fc.integer({ min: -16, max: 4200 }), fc.double()),
        (bytes, off) => {
          const view = new DataView(bytes.buffer);
          for (const [name, read] of readers) {
            let r: { ok: boolean } | undefined;
            expect(() => (r = read(view, off)), name).not.toThrow();
            expect(typeof r?.ok, name).toBe('boolean');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('ring ends over a page of random bytes answer every call without throwing', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4096, maxLength: 4096 }),
        fc.nat({ max: 0xffffffff }),
        (bytes, start) => {
          const view = new DataView(bytes.buffer);
          const back = BackRing.attach(view, blkif.BLKIF_RING_ENTRY_BYTES, start);
          const front = FrontRing.attach(view, blkif.BLKIF_RING_ENTRY_BYTES, start);
          if (!back.ok || !front.ok) throw new Error('attach');
          for (let i = 0; i < 40; i++) {
            const r = back.value.consumeRequest();
            if (!r.ok || r.value === undefined) break;
            expect(blkif.readBlkifRequest(view, r.value).ok).toBe(true);
          }
          expect(back.value.finalCheckForRequests()).toBeTypeOf('boolean');
          expect(front.value.consumeResponse().ok).toBeTypeOf('boolean');
          expect(front.value.freeRequests()).toBeLessThanOrEqual(front.value.size);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('blkif requests round-trip through write and read for every valid field value', () => {
    const segArb = fc.record({
      gref: fc.nat({ max: 0xffffffff }).map(asGrantRef),
      first_sect: fc.integer({ min: 0, max: 7 }),
      last_sect: fc.constant(7),
    });
    fc.assert(
      fc.property(
        fc.record({
          operation: fc.integer({ min: 0, max: 255 }),
          handle: fc.integer({ min: 0, max: 0xffff }),
          id: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          sector_number: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          seg: fc.array(segArb, { maxLength: 11 }),
        }),
        (req) => {
          const view = new DataView(new ArrayBuffer(112));
          expect(blkif.writeBlkifRequest(view, 0, req).ok).toBe(true);
          expect(blkif.readBlkifRequest(view, 0)).toEqual({
            ok: true,
            value: { ...req, nr_segments: req.seg.length },
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
