import { describe, expect, it } from 'vitest';
import { Engine } from '../../hypervisor/engine/engine.js';
import { PacedRunner } from '../../hypervisor/engine/paced.js';
import { NS_PER_MS } from '../../hypervisor/engine/time.js';

function fakeClock(startMs = 1000): { now: () => number; advance: (ms: number) => void } {
  let t = startMs;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('paced mode', () => {
  it('virtual time follows the injected wall clock times the speed factor', () => {
    const engine = new Engine();
    const clock = fakeClock();
    const runner = new PacedRunner(engine, clock.now, 2);
    const ran: number[] = [];
    engine.at(30 * NS_PER_MS, () => ran.push(engine.now));
    clock.advance(10);
    expect(runner.advance()).toBe(20 * NS_PER_MS);
    expect(ran).toEqual([]);
    clock.advance(5);
    runner.advance();
    expect(ran).toEqual([30 * NS_PER_MS]);
    expect(engine.now).toBe(30 * NS_PER_MS);
  });

  it('an external input runs at the current wall-derived virtual time', () => {
    const engine = new Engine();
    const clock = fakeClock();
    const runner = new PacedRunner(engine, clock.now, 1);
    clock.advance(7);
    let at = -1;
    runner.inject(() => (at = engine.now));
    expect(at).toBe(7 * NS_PER_MS);
  });

  it('tells the I/O shell how long it may sleep before the next event is due', () => {
    const engine = new Engine();
    const clock = fakeClock();
    const runner = new PacedRunner(engine, clock.now, 4);
    expect(runner.msUntilNextEvent()).toBe(Infinity);
    engine.at(40 * NS_PER_MS, () => undefined);
    expect(runner.msUntilNextEvent()).toBe(10);
    clock.advance(6);
    expect(runner.msUntilNextEvent()).toBe(4);
  });

  it('changing speed does not make virtual time jump', () => {
    const engine = new Engine();
    const clock = fakeClock();
    const runner = new PacedRunner(engine, clock.now, 1);
    clock.advance(10);
    runner.setSpeed(10);
    expect(engine.now).toBe(10 * NS_PER_MS);
    clock.advance(1);
    expect(runner.advance()).toBe(20 * NS_PER_MS);
    expect(() => runner.setSpeed(0)).toThrow(RangeError);
  });

  it('never moves virtual time backwards when the wall clock does', () => {
    const engine = new Engine();
    const clock = fakeClock();
    const runner = new PacedRunner(engine, clock.now, 1);
    clock.advance(5);
    runner.advance();
    clock.advance(-3);
    expect(runner.advance()).toBe(5 * NS_PER_MS);
  });
});
