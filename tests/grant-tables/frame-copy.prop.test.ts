// The byte move of GNTTABOP_copy (grant-tables/frame-copy.ts) moves 8-byte-aligned runs as
// Float64Array elements: every bit pattern must arrive unchanged, NaNs of every kind included
// (signalling, quiet, negative, any payload), both before and after V8 optimizes the copy loop,
// and the bytes around the run must stay as they were.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyFrameBytes } from '../../grant-tables/frame-copy.js';
import { PAGE_SIZE } from '../../hypercalls/types.js';
import { FrameStore } from '../../hypervisor/memory/frame-store.js';

/** 8-byte little-endian patterns: NaNs of each class, infinities, zeros of both signs. */
const PATTERNS: bigint[] = [
  0x7ff0000000000001n, // smallest signalling NaN
  0x7ff7ffffffffffffn, // largest signalling NaN payload
  0x7ff8000000000000n, // the canonical quiet NaN
  0x7ff8000000000001n,
  0x7fffffffffffffffn,
  0xfff0000000000001n, // negative signalling NaN
  0xfff8000000000000n,
  0xffffffffffffffffn,
  0x7ff0000000000000n, // +infinity
  0x8000000000000000n, // -0
  0x0000000000000001n, // smallest subnormal
];

function fill(page: Uint8Array, seed: number): void {
  const dv = new DataView(page.buffer, page.byteOffset, PAGE_SIZE);
  for (let off = 0; off < PAGE_SIZE; off += 8) {
    const k = (off / 8 + seed) % (PATTERNS.length + 1);
    // Every few words an ordinary pattern, so runs mix NaNs with other bytes.
    const v =
      k === PATTERNS.length ? BigInt(off * 2654435761 + seed) & 0xffffffffffffffffn : PATTERNS[k];
    dv.setBigUint64(off, v as bigint, true);
  }
}

describe('copyFrameBytes', () => {
  it('moves NaN bit patterns unchanged, before and after the copy loop is optimized', () => {
    const frames = new FrameStore(1024);
    const src = frames.view(10);
    fill(src, 3);
    const dst = frames.view(300); // another chunk: another buffer
    // Enough rounds for V8 to optimize the loop; every round checks every byte.
    for (let round = 0; round < 4000; round++) {
      const soff = ((round * 40) % (PAGE_SIZE - 128)) & ~7;
      const doff = ((round * 24) % (PAGE_SIZE - 128)) & ~7;
      const len = 8 + ((round * 13) % 121); // 8..128: the word path
      dst.fill(0xa5);
      copyFrameBytes(frames, 300, doff, 10, soff, len);
      for (let i = 0; i < PAGE_SIZE; i++) {
        const want = i >= doff && i < doff + len ? src[soff + i - doff] : 0xa5;
        if (dst[i] !== want) {
          expect({ round, i, got: dst[i], want }).toBeNull();
        }
      }
    }
  });

  it('copies exactly the bytes asked for at any word alignment', () => {
    const frames = new FrameStore(1024);
    const src = frames.view(1);
    fill(src, 5);
    const dst = frames.view(2);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: PAGE_SIZE / 4 - 33 }).map((x) => x * 4),
        fc.integer({ min: 0, max: PAGE_SIZE / 4 - 33 }).map((x) => x * 4),
        fc.integer({ min: 0, max: 128 }),
        (soff, doff, len) => {
          dst.fill(0x5a);
          copyFrameBytes(frames, 2, doff, 1, soff, len);
          const want = new Uint8Array(PAGE_SIZE).fill(0x5a);
          want.set(src.subarray(soff, soff + len), doff);
          expect(Buffer.compare(dst, want)).toBe(0);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
