import { describe, expect, it } from 'vitest';
import { Prng } from '../../hypervisor/engine/prng.js';

const draw = (p: Prng, n: number): number[] => Array.from({ length: n }, () => p.nextU32());

describe('PRNG', () => {
  it('the same seed gives the same sequence; different seeds differ', () => {
    expect(draw(new Prng(42), 16)).toEqual(draw(new Prng(42), 16));
    expect(draw(new Prng(42), 16)).not.toEqual(draw(new Prng(43), 16));
    expect(draw(new Prng(2 ** 40), 4)).not.toEqual(draw(new Prng(2 ** 40 + 2 ** 33), 4));
  });

  it('a named sub-stream depends only on the seed and its name, not on other streams', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    b.stream('netback').nextU32(); // another component draws first in b
    draw(b.stream('sched'), 3);
    b.nextU32();
    expect(draw(a.stream('sched'), 8)).toEqual(draw(new Prng(7).stream('sched'), 8));
    expect(draw(a.stream('blk'), 8)).toEqual(draw(b.stream('blk'), 8));
    expect(draw(new Prng(7).stream('x'), 4)).not.toEqual(draw(new Prng(7).stream('y'), 4));
  });

  it('int() stays within its inclusive bounds and covers them', () => {
    const p = new Prng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = p.int(-3, 3);
      expect(v).toBeGreaterThanOrEqual(-3);
      expect(v).toBeLessThanOrEqual(3);
      seen.add(v);
    }
    expect(seen.size).toBe(7);
    expect(() => p.int(5, 4)).toThrow(RangeError);
  });

  it('float() is in [0, 1) and roughly uniform', () => {
    const p = new Prng(99);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      const f = p.float();
      expect(f >= 0 && f < 1).toBe(true);
      sum += f;
    }
    expect(sum / 10_000).toBeGreaterThan(0.48);
    expect(sum / 10_000).toBeLessThan(0.52);
  });

  it('rejects a seed that is not a safe integer', () => {
    expect(() => new Prng(1.5)).toThrow(/safe integer/);
  });
});
