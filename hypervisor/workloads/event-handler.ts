// The guest side of the 2-level event upcall, as a Linux PV kernel does it (drivers/xen/events/
// events_2l.c): consume pending ports, and dispatch them to per-port callbacks.

import type { GuestEnv, UpcallHandler } from '../../hypercalls/guest-interface.js';
import { consumePendingEvents } from '../../hypercalls/shared-info.js';

export interface EventDispatcher {
  /** Callbacks by port, called in ascending port order. */
  readonly handlers: Map<number, (port: number, vcpu: number) => void>;
  readonly upcall: UpcallHandler;
}

/** An upcall handler that charges `costNs` per upcall and runs the callback bound to each pending port. */
export function makeEventDispatcher(costNs = 0): EventDispatcher {
  const handlers = new Map<number, (port: number, vcpu: number) => void>();
  let curVcpu = 0;
  const onPort = (port: number): void => {
    const fn = handlers.get(port);
    if (fn) fn(port, curVcpu);
  };
  const upcall = (env: GuestEnv, vcpu: number): number => {
    curVcpu = vcpu;
    consumePendingEvents(env.sharedInfo, vcpu, onPort);
    return costNs;
  };
  return { handlers, upcall };
}

const perDomain = new WeakMap<GuestEnv, EventDispatcher>();

/** The domain's one dispatcher (created and registered as its upcall handler on first use). */
export function dispatcherFor(env: GuestEnv): EventDispatcher {
  let ev = perDomain.get(env);
  if (!ev) {
    ev = makeEventDispatcher();
    perDomain.set(env, ev);
    env.setUpcallHandler(ev.upcall);
  }
  return ev;
}
