// An I/O-like guest: computes, starts an "I/O" that completes `ioNs` later (modelled by its timer
// event, as a device interrupt would arrive), blocks until the completion event, and repeats.

import type { GuestCoroutine, GuestEnv, GuestProgram } from '../../hypercalls/guest-interface.js';
import { bindTimerVirq, sleepUntil } from './sleeper.js';

export interface IoLikeOptions {
  computeNs: number;
  ioNs: number;
  /** Wake-to-run latency of each completion (resume time minus completion time), in ns. */
  onWake?: (latencyNs: number, vcpu: number) => void;
}

export function ioLike(o: IoLikeOptions): GuestProgram {
  return function* ioLikeProgram(env: GuestEnv, vcpu: number): GuestCoroutine {
    bindTimerVirq(env, vcpu);
    for (;;) {
      if (o.computeNs > 0) yield o.computeNs;
      const done = env.now() + o.ioNs;
      yield* sleepUntil(env, done);
      if (o.onWake) o.onWake(env.now() - done, vcpu);
    }
  };
}
