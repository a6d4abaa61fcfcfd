// A CPU-bound guest: computes forever in chunks (it never blocks, so only the scheduler stops it).

import type { GuestCoroutine, GuestEnv, GuestProgram } from '../../hypercalls/guest-interface.js';
import { dispatcherFor } from './event-handler.js';

export function cpuBound(chunkNs = 1_000_000): GuestProgram {
  return function* cpuBoundProgram(env: GuestEnv, vcpu: number): GuestCoroutine {
    void vcpu;
    dispatcherFor(env);
    for (;;) yield chunkNs;
  };
}
