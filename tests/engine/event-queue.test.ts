import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../../hypervisor/engine/engine.js';
import { EventQueue } from '../../hypervisor/engine/event-queue.js';

describe('event queue ordering', () => {
  it('runs events in due-time order, ties first-in first-out', () => {
    const engine = new Engine();
    const seen: string[] = [];
    engine.at(30, (s) => seen.push(s), 'c30');
    engine.at(10, (s) => seen.push(s), 'a10');
    engine.at(20, (s) => seen.push(s), 'b20-first');
    engine.at(20, (s) => seen.push(s), 'b20-second');
    engine.at(10, (s) => seen.push(s), 'a10-second');
    engine.runUntilIdle();
    expect(seen).toEqual(['a10', 'a10-second', 'b20-first', 'b20-second', 'c30']);
    expect(engine.now).toBe(30);
  });

  it('an event scheduled for now from inside an event runs after the events already due now', () => {
    const engine = new Engine();
    const seen: string[] = [];
    engine.at(5, () => {
      seen.push('first');
      engine.at(engine.now, () => seen.push('scheduled-now'));
    });
    engine.at(5, () => seen.push('second'));
    engine.runUntilIdle();
    expect(seen).toEqual(['first', 'second', 'scheduled-now']);
  });

  it('matches a sorted model under random pushes and cancels (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ due: fc.integer({ min: 0, max: 50 }), cancel: fc.boolean() }), {
          maxLength: 400,
        }),
        (ops) => {
          const q = new EventQueue(16);
          const ran: number[] = [];
          const ids = ops.map((op, i) => q.push(op.due, (x: number) => ran.push(x), i));
          ops.forEach((op, i) => {
            if (op.cancel) expect(q.cancel(ids[i] as number)).toBe(true);
          });
          while (q.peekDue() !== Infinity) q.popAndRun();
          const expected = ops
            .map((op, i) => ({ ...op, i }))
            .filter((op) => !op.cancel)
            .sort((a, b) => a.due - b.due || a.i - b.i)
            .map((op) => op.i);
          expect(ran).toEqual(expected);
          expect(q.size).toBe(0);
        },
      ),
    );
  });
});

describe('cancel', () => {
  it('a cancelled event never runs and cancel reports whether it removed anything', () => {
    const engine = new Engine();
    let ran = 0;
    const id = engine.at(100, () => ran++);
    expect(engine.cancel(id)).toBe(true);
    expect(engine.cancel(id)).toBe(false);
    engine.runUntilIdle();
    expect(ran).toBe(0);
    expect(engine.pending).toBe(0);
  });

  it('a stale handle does not cancel the event that reused its slot', () => {
    const engine = new Engine();
    const first = engine.at(1, () => undefined);
    engine.runUntilIdle();
    let ran = false;
    engine.at(2, () => (ran = true));
    expect(engine.cancel(first)).toBe(false);
    engine.runUntilIdle();
    expect(ran).toBe(true);
  });

  it('cancel-heavy timers do not grow the heap without bound (compaction)', () => {
    const q = new EventQueue(16);
    for (let i = 0; i < 100_000; i++) {
      const id = q.push(1_000_000 + i, () => undefined, undefined);
      q.cancel(id);
    }
    expect(q.size).toBe(0);
    expect(q.peekDue()).toBe(Infinity);
  });
});

describe('running', () => {
  it('runUntil runs what is due and then advances the clock to the target', () => {
    const engine = new Engine();
    const seen: number[] = [];
    engine.at(10, () => seen.push(10));
    engine.at(25, () => seen.push(25));
    engine.runUntil(20);
    expect(seen).toEqual([10]);
    expect(engine.now).toBe(20);
    engine.runFor(5);
    expect(seen).toEqual([10, 25]);
    expect(engine.now).toBe(25);
  });

  it('refuses to schedule in the past or at a non-integer time', () => {
    const engine = new Engine();
    engine.runUntil(100);
    expect(() => engine.at(99, () => undefined)).toThrow(/between now/);
    expect(() => engine.at(100.5, () => undefined)).toThrow(RangeError);
    expect(() => engine.at(2 ** 60, () => undefined)).toThrow(RangeError);
  });

  it('runUntilCondition stops as soon as the condition holds', () => {
    const engine = new Engine();
    let n = 0;
    for (let t = 1; t <= 10; t++) engine.at(t, () => n++);
    expect(engine.runUntilCondition(() => n === 4)).toBe(true);
    expect(engine.now).toBe(4);
    expect(engine.runUntilCondition(() => n === 100, 7)).toBe(false);
    expect(n).toBe(7);
  });

  it('stop() ends the current run after the running event', () => {
    const engine = new Engine();
    let n = 0;
    for (let t = 1; t <= 10; t++) engine.at(t, () => (++n === 3 ? engine.stop() : undefined));
    engine.runUntilIdle();
    expect(n).toBe(3);
    engine.runUntilIdle();
    expect(n).toBe(10);
  });

  it('re-entering the run loop from an event is an error', () => {
    const engine = new Engine();
    engine.at(1, () => engine.runUntilIdle());
    expect(() => engine.runUntilIdle()).toThrow(/re-entered/);
  });
});
