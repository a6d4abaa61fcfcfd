// evtchn.send: EVTCHNOP_send from a guest on one pCPU, each one delivered as an upcall on another
// domain's vCPU (busy computing) on another pCPU, per wall second, against the engine's hold rate in the same run.
// Hypercall, switch and upcall costs are set to 0 so the figure measures the mechanism, not the model.

import { Engine } from '../../hypervisor/engine/engine.js';
import { Hypervisor } from '../../hypervisor/hypervisor.js';
import {
  EVTCHNOP_alloc_unbound,
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_send,
} from '../../hypercalls/event-channel.js';
import { type GuestCoroutine, type GuestEnv } from '../../hypercalls/guest-interface.js';
import { consumePendingEvents } from '../../hypercalls/shared-info.js';
import { engineHoldRate } from './engine.bench.js';
import { median, type Bench } from './harness.js';

export function sendRate(): number {
  const engine = new Engine({ seed: 5, trace: false });
  const hv = new Hypervisor({
    engine,
    nrPcpus: 2,
    scheduler: 'credit2',
    costs: { hypercallNs: 0, contextSwitchNs: 0, upcallNs: 0 },
  });
  const rx = hv.createDomain({ maxVcpus: 1 });
  const tx = hv.createDomain({ maxVcpus: 1 });
  if (!rx.ok || !tx.ok) throw new Error('createDomain');
  let delivered = 0;
  const onPort = (): void => {
    delivered++;
  };
  function* receiver(env: GuestEnv): GuestCoroutine {
    env.setUpcallHandler((e, vcpu) => {
      consumePendingEvents(e.sharedInfo, vcpu, onPort);
    });
    // A busy vCPU: each event interrupts its computation, runs the handler, and the work goes on.
    for (;;) yield 1_000_000_000;
  }
  let rxPort = 0;
  function* sender(env: GuestEnv): GuestCoroutine {
    const bind = { remote_dom: rx.ok ? rx.value.domid : 0, remote_port: rxPort, local_port: 0 };
    if (env.hypercalls.event_channel_op(EVTCHNOP_bind_interdomain, bind) !== 0)
      throw new Error('bind');
    const send = { port: bind.local_port };
    for (;;) {
      env.hypercalls.event_channel_op(EVTCHNOP_send, send);
      yield 100;
    }
  }
  hv.boot(rx.value, receiver);
  hv.boot(tx.value, sender);
  // The receiver offers a port to the sender (as a backend would), through its own hypercall page.
  const alloc = { dom: 0x7ff0, remote_dom: tx.value.domid, port: 0 };
  if (rx.value.env?.hypercalls.event_channel_op(EVTCHNOP_alloc_unbound, alloc) !== 0)
    throw new Error('alloc');
  rxPort = alloc.port;
  hv.unpauseByController(rx.value);
  hv.unpauseByController(tx.value);
  const w0 = performance.now();
  while (performance.now() - w0 < 200) engine.runFor(1_000_000); // JIT warm-up
  const d0 = delivered;
  const t0 = performance.now();
  while (performance.now() - t0 < 400) engine.runFor(1_000_000);
  return ((delivered - d0) * 1000) / (performance.now() - t0);
}

export const benches: Bench[] = [
  {
    name: 'evtchn.send',
    unit: 'deliveries/s',
    better: 'higher',
    target: 0.25,
    run() {
      const limit = median([engineHoldRate(), engineHoldRate(), engineHoldRate()]);
      const value = median([sendRate(), sendRate(), sendRate()]);
      return { value, limit, limitName: 'engine hold rate (engine.hold, same run)' };
    },
  },
];
