import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecvArena } from '../../dom0/migration/recv-arena.js';

/** What a socket read does: writes `n` bytes (a recognisable pattern) into the offered region. */
function read(arena: RecvArena, n: number, seed: number): Uint8Array {
  const region = arena.region();
  const k = Math.min(n, region.length);
  for (let i = 0; i < k; i++) region[i] = (seed * 31 + i) & 0xff;
  return arena.commit(k);
}

function intact(chunk: Uint8Array, seed: number): boolean {
  for (let i = 0; i < chunk.length; i++) if (chunk[i] !== ((seed * 31 + i) & 0xff)) return false;
  return true;
}

const small = { slabBytes: 64 * 1024, readBytes: 16 * 1024, minReadBytes: 4 * 1024, keepSlabs: 2 };

describe('RecvArena: reads into reusable memory', () => {
  it('never hands out memory of a chunk still held, whatever the read sizes and release order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ n: fc.integer({ min: 1, max: 20_000 }), releaseSome: fc.nat(3) }), {
          minLength: 1,
          maxLength: 120,
        }),
        (steps) => {
          const arena = new RecvArena(small);
          const held: { chunk: Uint8Array; seed: number }[] = [];
          steps.forEach((s, seed) => {
            const chunk = read(arena, s.n, seed);
            expect(chunk.length).toBeGreaterThan(0);
            held.push({ chunk, seed });
            // Release some of the oldest (a consumer done with them), keep the rest.
            for (let r = 0; r < s.releaseSome && held.length > 1; r++) {
              const h = held.shift();
              if (h) arena.release(h.chunk);
            }
            for (const h of held) expect(intact(h.chunk, h.seed)).toBe(true);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reuses its memory once chunks are released: a long stream needs only a few slabs', () => {
    const arena = new RecvArena(small);
    for (let i = 0; i < 5000; i++) {
      const c = read(arena, 1 + ((i * 7919) % 16_384), i);
      expect(intact(c, i)).toBe(true);
      arena.release(c);
    }
    expect(arena.slabsAllocated).toBe(1);
    // Released at once, each read starts again at the slab's beginning (memory still in cache).
    const a = read(arena, 100, 1);
    arena.release(a);
    const b = read(arena, 100, 2);
    expect(b.byteOffset).toBe(a.byteOffset);
  });

  it('chunks never released only cost new slabs; a chunk from elsewhere is ignored on release', () => {
    const arena = new RecvArena(small);
    const kept: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) kept.push(read(arena, 16 * 1024, i));
    expect(arena.slabsAllocated).toBeGreaterThanOrEqual(10);
    arena.release(new Uint8Array(10));
    kept.forEach((c, i) => expect(intact(c, i)).toBe(true));
    expect(read(arena, 0, 0).length).toBe(0);
  });
});
