// An idle guest: registers an event handler and blocks forever (every event just wakes it briefly).

import { block, type GuestCoroutine, type GuestEnv } from '../../hypercalls/guest-interface.js';
import { dispatcherFor } from './event-handler.js';

export function* idleProgram(env: GuestEnv, vcpu: number): GuestCoroutine {
  void vcpu;
  dispatcherFor(env);
  for (;;) yield* block(env.hypercalls);
}
