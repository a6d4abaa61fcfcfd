// isZeroRange (frame-store.ts) against a byte-by-byte loop: a single non-zero byte anywhere in the
// range (in the 64-byte lead, at the last byte, at any offset modulo 64) makes it false, a byte
// just outside the range does not.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isZero, isZeroRange } from '../../hypervisor/memory/frame-store.js';

function naive(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

describe('isZeroRange', () => {
  it('agrees with a byte loop for one non-zero byte at any place', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9000 }),
        fc.integer({ min: 0, max: 9000 }),
        fc.integer({ min: 0, max: 9000 }),
        fc.integer({ min: 1, max: 255 }),
        (a, b, at, value) => {
          const buf = new Uint8Array(9001);
          buf[at] = value;
          const [start, end] = a <= b ? [a, b] : [b, a];
          expect(isZeroRange(buf, start, end)).toBe(naive(buf, start, end));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('is false for a range whose bytes repeat every 64 bytes but are not zero', () => {
    const buf = new Uint8Array(8192);
    for (let i = 0; i < buf.length; i += 64) buf[i + 5] = 1;
    expect(isZeroRange(buf, 0, 8192)).toBe(false);
    expect(isZeroRange(buf, 6, 69)).toBe(true);
    expect(isZeroRange(buf, 6, 70)).toBe(false);
  });

  it('is true for an empty range and for all-zero pages, on unaligned views too', () => {
    const buf = new Uint8Array(3 * 4096 + 7);
    expect(isZeroRange(buf, 10, 10)).toBe(true);
    expect(isZero(buf.subarray(3, 3 + 2 * 4096))).toBe(true);
    buf[3 + 2 * 4096 - 1] = 9;
    expect(isZero(buf.subarray(3, 3 + 2 * 4096))).toBe(false);
    expect(isZero(buf.subarray(3, 3 + 2 * 4096 - 1))).toBe(true);
  });
});
