// dom0's kernel as a guest program (Linux drivers/xen/events: bind_virq_to_irqhandler + the 2-level
// upcall): binds the VIRQs dom0 services asked for, then sleeps in SCHEDOP_block; each upcall
// dispatches pending ports to the services on dom0's own vCPU, so their work is dom0 CPU time.

import {
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_bind_virq,
  EVTCHNOP_close,
  EVTCHNOP_send,
  type EvtchnBindVirq,
} from '../../hypercalls/event-channel.js';
import { block, type GuestEnv, type GuestProgram } from '../../hypercalls/guest-interface.js';
import { consumePendingEvents } from '../../hypercalls/shared-info.js';

/** CPU an upcall costs dom0 per dispatched event (interrupt entry + handler), in ns. */
export const DOM0_EVENT_COST_NS = 2_000;

export interface Dom0Kernel {
  /** The program for dom0's vCPUs (Hypervisor.createDom0({ program })). */
  readonly program: GuestProgram;
  /** Runs `handler` on dom0's vCPU each time `virq` fires (bound at boot, or at once if booted). */
  onVirq(virq: number, handler: () => void): void;
  /** The port a VIRQ was bound to, once bound (tests and traces). */
  portOf(virq: number): number | undefined;
  /**
   * Binds a local port to `remotePort` of `remoteDom` (EVTCHNOP_bind_interdomain) and runs `handler`
   * on dom0's vCPU whenever it fires. Returns the local port, or a negative Xen errno.
   */
  bindInterdomain(remoteDom: number, remotePort: number, handler: () => void): number;
  /** EVTCHNOP_send on a local port. */
  notify(port: number): void;
  /** EVTCHNOP_close on a local port bound with bindInterdomain. */
  closePort(port: number): void;
  /** Runs `handler` on dom0's vCPU for events on an already bound local `port` (null stops it). */
  listen(port: number, handler: (() => void) | null): void;
  /** Hands the kernel dom0's boot interface before its vCPU first runs (the composition root does). */
  attach(env: GuestEnv): void;
}

export function createDom0Kernel(): Dom0Kernel {
  const virqHandlers = new Map<number, (() => void)[]>();
  const portHandlers = new Map<number, number>(); // port -> virq
  const virqPorts = new Map<number, number>();
  const interdomain = new Map<number, () => void>(); // port -> handler
  let env: GuestEnv | null = null;
  const need = (): GuestEnv => {
    if (!env) throw new Error('dom0 kernel: not attached to dom0 yet (no GuestEnv)');
    return env;
  };

  const bind = (e: GuestEnv, virq: number): void => {
    if (virqPorts.has(virq)) return;
    const a: EvtchnBindVirq = { virq, vcpu: 0, port: 0 };
    const rc = e.hypercalls.event_channel_op(EVTCHNOP_bind_virq, a);
    if (rc < 0) throw new Error(`dom0 kernel: EVTCHNOP_bind_virq(${virq}) failed: ${rc}`);
    virqPorts.set(virq, a.port);
    portHandlers.set(a.port, virq);
  };

  const program: GuestProgram = function* (e, vcpu) {
    if (vcpu === 0) {
      env = e;
      let events = 0;
      e.setUpcallHandler((ue, v) => {
        events = 0;
        consumePendingEvents(ue.sharedInfo, v, (port) => {
          const direct = interdomain.get(port);
          if (direct) {
            events++;
            direct();
            return;
          }
          const virq = portHandlers.get(port);
          if (virq === undefined) return;
          events++;
          for (const h of virqHandlers.get(virq) ?? []) h();
        });
        return events * DOM0_EVENT_COST_NS;
      });
      for (const virq of virqHandlers.keys()) bind(e, virq);
    }
    for (;;) yield* block(e.hypercalls);
  };

  return {
    program,
    onVirq(virq, handler) {
      const list = virqHandlers.get(virq);
      if (list) list.push(handler);
      else virqHandlers.set(virq, [handler]);
      if (env) bind(env, virq);
    },
    portOf: (virq) => virqPorts.get(virq),
    bindInterdomain(remoteDom, remotePort, handler) {
      const a = { remote_dom: remoteDom, remote_port: remotePort, local_port: 0 };
      const rc = need().hypercalls.event_channel_op(EVTCHNOP_bind_interdomain, a);
      if (rc < 0) return rc;
      interdomain.set(a.local_port, handler);
      return a.local_port;
    },
    notify(port) {
      need().hypercalls.event_channel_op(EVTCHNOP_send, { port });
    },
    closePort(port) {
      if (!interdomain.delete(port)) return;
      need().hypercalls.event_channel_op(EVTCHNOP_close, { port });
    },
    listen(port, handler) {
      if (handler) interdomain.set(port, handler);
      else interdomain.delete(port);
    },
    attach(e) {
      if (env) return;
      env = e;
    },
  };
}
