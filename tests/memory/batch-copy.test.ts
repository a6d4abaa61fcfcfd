import { describe, expect, it } from 'vitest';
import { XEN_EINVAL } from '../../hypercalls/errno.js';
import { isZeroRange, ZERO_CHECK_PAGES } from '../../hypervisor/memory/frame-store.js';
import { caller, makeDomain, makeMemory } from './world.js';

const PAGE = 4096;

function fillPage(buf: Uint8Array, i: number, seed: number): void {
  for (let b = 0; b < PAGE; b++) buf[i * PAGE + b] = (b * 7 + seed * 13 + 1) & 0xff || 1;
}

describe('copyFromPfns into a reused buffer: pages known to hold zeros (the sender of a stream)', () => {
  it('gives the same bytes as a fresh buffer, writing only pages not known to be zeros', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 64, 64);
    const f = mm.foreign(caller(0));
    const pfns = Array.from({ length: 16 }, (_, i) => i * 2);
    // Guest pages 4 and 10 hold data; the rest were never written.
    const data = new Uint8Array(2 * PAGE);
    fillPage(data, 0, 1);
    fillPage(data, 1, 2);
    expect(f.copyToPfns?.(1, [pfns[4] as number, pfns[10] as number], data)).toBe(0);

    const fresh = new Uint8Array(16 * PAGE);
    expect(f.copyFromPfns?.(1, pfns, fresh, true)).toBe(0);

    // A reused buffer: stale bytes everywhere; the flags say pages 0-7 hold zeros already.
    const reused = new Uint8Array(16 * PAGE).fill(0xee);
    reused.fill(0, 0, 8 * PAGE);
    const known = new Uint8Array(16);
    known.fill(1, 0, 8);
    expect(f.copyFromPfns?.(1, pfns, reused, known)).toBe(0);
    expect(Buffer.from(reused).equals(Buffer.from(fresh))).toBe(true);
    // Afterwards the flags tell the truth: zeros everywhere but the two data pages.
    expect([...known]).toEqual(Array.from({ length: 16 }, (_, i) => (i === 4 || i === 10 ? 0 : 1)));

    // The flags are trusted, not re-checked: a page flagged zero is not written again (the sender
    // keeps them true), and the next batch still matches a fresh copy.
    const again = new Uint8Array(reused);
    again[PAGE] = 0xee;
    expect(f.copyFromPfns?.(1, pfns, again, known)).toBe(0);
    expect(again[PAGE]).toBe(0xee);
    again[PAGE] = 0;
    expect(Buffer.from(again).equals(Buffer.from(fresh))).toBe(true);
  });

  it('a flag array shorter than the batch is refused', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 16, 16);
    const f = mm.foreign(caller(0));
    expect(f.copyFromPfns?.(1, [0, 1], new Uint8Array(2 * PAGE), new Uint8Array(1))).toBe(
      XEN_EINVAL,
    );
  });
});

describe('copyToPfns with one zero check per run of pages (the receiver of a stream)', () => {
  it('zero runs leave never-written frames alone, zero written frames, and data lands byte for byte', () => {
    const mm = makeMemory();
    const n = ZERO_CHECK_PAGES * 2 + 40;
    makeDomain(mm, 1, n, n);
    const f = mm.foreign(caller(0));
    const pfns = Array.from({ length: n }, (_, i) => i);
    // Frames 3 and n-1 hold old data the stream overwrites with zeros.
    const old = new Uint8Array(PAGE);
    fillPage(old, 0, 9);
    expect(f.copyToPfns?.(1, [3], old)).toBe(0);
    expect(f.copyToPfns?.(1, [n - 1], old)).toBe(0);
    const before = mm.frames.materializedFrames;

    // Zeros, except one page in the second run (its first byte) and one in the last (its last).
    const src = new Uint8Array(n * PAGE);
    const p1 = ZERO_CHECK_PAGES + 17;
    const p2 = ZERO_CHECK_PAGES * 2 + 5;
    src[p1 * PAGE] = 1;
    src[(p2 + 1) * PAGE - 1] = 2;
    expect(f.copyToPfns?.(1, pfns, src)).toBe(0);
    expect(mm.frames.materializedFrames).toBe(before + 2);

    const back = new Uint8Array(n * PAGE).fill(0x55);
    expect(f.copyFromPfns?.(1, pfns, back)).toBe(0);
    expect(Buffer.from(back).equals(Buffer.from(src))).toBe(true);
  });

  it('isZeroRange sees a single non-zero byte anywhere in the range, and nothing outside it', () => {
    const b = new Uint8Array(ZERO_CHECK_PAGES * PAGE + 2 * PAGE);
    expect(isZeroRange(b, PAGE, PAGE + ZERO_CHECK_PAGES * PAGE)).toBe(true);
    for (const at of [PAGE, PAGE + 12345, PAGE + ZERO_CHECK_PAGES * PAGE - 1]) {
      b[at] = 1;
      expect(isZeroRange(b, PAGE, PAGE + ZERO_CHECK_PAGES * PAGE)).toBe(false);
      b[at] = 0;
    }
    b[PAGE - 1] = 1;
    b[PAGE + ZERO_CHECK_PAGES * PAGE] = 1;
    expect(isZeroRange(b, PAGE, PAGE + ZERO_CHECK_PAGES * PAGE)).toBe(true);
  });
});
