// A sleeper: wakes every `periodNs` on its single-shot timer (VIRQ_TIMER), computes `workNs`, and
// sleeps again, like a HZ-driven kernel with little to do. With workNs 0 it is an idle guest with a tick.

import { EVTCHNOP_bind_virq } from '../../hypercalls/event-channel.js';
import {
  type GuestCoroutine,
  type GuestEnv,
  type GuestProgram,
} from '../../hypercalls/guest-interface.js';
import { SCHEDOP_block } from '../../hypercalls/sched.js';
import { VIRQ_TIMER } from '../../hypercalls/virq.js';
import { dispatcherFor } from './event-handler.js';

export interface SleeperOptions {
  periodNs: number;
  workNs?: number;
  /** Called with the lateness of each wake (resume time minus the timer deadline), in ns. */
  onWake?: (latenessNs: number, vcpu: number) => void;
}

/** Binds VIRQ_TIMER on this vCPU (its event only needs to wake the vCPU). */
export function bindTimerVirq(env: GuestEnv, vcpu: number): number {
  const bind = { virq: VIRQ_TIMER, vcpu, port: 0 };
  const rc = env.hypercalls.event_channel_op(EVTCHNOP_bind_virq, bind);
  if (rc === 0) dispatcherFor(env).handlers.set(bind.port, noop);
  return rc === 0 ? bind.port : rc;
}

/** Sleeps until absolute time `deadline` on the single-shot timer. */
export function* sleepUntil(env: GuestEnv, deadline: number): Generator<number, void, number> {
  const h = env.hypercalls;
  h.set_timer_op(deadline);
  // SCHEDOP_block takes effect at the next yield (no helper generator: this is the idle hot path).
  while (env.now() < deadline) {
    h.sched_op(SCHEDOP_block);
    yield 0;
  }
}

export function sleeper(o: SleeperOptions): GuestProgram {
  return function* sleeperProgram(env: GuestEnv, vcpu: number): GuestCoroutine {
    bindTimerVirq(env, vcpu);
    const h = env.hypercalls;
    let deadline = env.now() + o.periodNs;
    for (;;) {
      // sleepUntil(env, deadline), inlined: a delegated generator per tick is a cost every wake pays.
      h.set_timer_op(deadline);
      while (env.now() < deadline) {
        h.sched_op(SCHEDOP_block);
        yield 0;
      }
      if (o.onWake) o.onWake(env.now() - deadline, vcpu);
      if (o.workNs) yield o.workNs;
      deadline += o.periodNs;
      if (deadline <= env.now()) deadline = env.now() + o.periodNs;
    }
  };
}

/** The idle guest of the scheduling benchmarks: 100 Hz timer ticks and nothing else. */
export const tickingIdle = (hz = 100): GuestProgram => sleeper({ periodNs: Math.round(1e9 / hz) });

function noop(): void {
  /* the wake-up is the point */
}
