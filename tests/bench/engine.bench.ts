// engine.hold: the classic discrete-event "hold" benchmark (pop the earliest event, push one a random
// increment later) at queue size 1,024, against a bare struct-of-arrays typed heap in the same run.

import { Engine } from '../../hypervisor/engine/engine.js';
import { medianOf, opsPerSec, type Bench } from './harness.js';

const QUEUE_SIZE = 1024;
const HOLD_OPS = 200_000;

/** The increment generator both sides use, so the figure compares queues, not generators. */
function makeIncrements(): () => number {
  let seed = 12345;
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) | 0) >>> 12) & 0xfffff;
}

/** Bare baseline: a typed-array binary heap of (due) only, no sequence, no callbacks. */
export function bareHoldRate(): number {
  const heap = new Float64Array(QUEUE_SIZE + 1);
  let n = 0;
  const rnd = makeIncrements();
  const push = (v: number): void => {
    let i = n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((heap[p] as number) <= v) break;
      heap[i] = heap[p] as number;
      i = p;
    }
    heap[i] = v;
  };
  const pop = (): number => {
    const top = heap[0] as number;
    const v = heap[--n] as number;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && (heap[c + 1] as number) < (heap[c] as number)) c++;
      if (v <= (heap[c] as number)) break;
      heap[i] = heap[c] as number;
      i = c;
    }
    heap[i] = v;
    return top;
  };
  for (let i = 0; i < QUEUE_SIZE; i++) push(rnd());
  return opsPerSec((iters) => {
    for (let k = 0; k < iters * HOLD_OPS; k++) {
      const t = pop();
      push(t + rnd());
    }
  }, HOLD_OPS);
}

/** The engine: each event reschedules itself a pseudo-random increment later, keeping 1,024 pending. */
export function engineHoldRate(): number {
  const engine = new Engine({ seed: 7, trace: false });
  const rnd = makeIncrements();
  let budget = 0;
  const hold = (): void => {
    if (budget-- > 0) engine.after(rnd(), hold);
  };
  for (let i = 0; i < QUEUE_SIZE; i++) engine.at(rnd(), hold);
  return opsPerSec((iters) => {
    budget = iters * HOLD_OPS;
    const target = engine.eventsExecuted + iters * HOLD_OPS;
    while (engine.eventsExecuted < target && engine.step()) {
      /* run */
    }
  }, HOLD_OPS);
}

export const benches: Bench[] = [
  {
    name: 'engine.hold',
    unit: 'events/s',
    better: 'higher',
    target: 0.5,
    run() {
      const limit = medianOf(3, bareHoldRate);
      const value = medianOf(3, engineHoldRate);
      return { value, limit, limitName: 'bare typed-array heap hold rate (pop+push, size 1024)' };
    },
  },
];
