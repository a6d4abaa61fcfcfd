// Runs one guest kernel thread (a KThread generator) against an engine without a kernel: CPU
// steps advance time, waits run the engine until their condition holds or their deadline passes.

import type { Engine } from '../../hypervisor/engine/engine.js';
import type { KThread } from '../../domU/kthread.js';

export function runThread<R>(engine: Engine, gen: KThread<R>): R {
  for (;;) {
    const r = gen.next(0);
    if (r.done) return r.value;
    const step = r.value;
    if (typeof step === 'number') {
      engine.runFor(step);
      continue;
    }
    if (step.kind !== 'wait') throw new Error('runThread: suspend is not supported');
    const ok = engine.runUntilCondition(step.until, step.deadlineNs);
    if (!ok) {
      if (!Number.isFinite(step.deadlineNs)) throw new Error('runThread: waits forever');
      if (engine.now < step.deadlineNs) engine.runUntil(step.deadlineNs);
    }
  }
}
