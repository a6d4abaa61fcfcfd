// The domU kernel on the real hypervisor core (hypervisor/): a domU whose store port is an
// interdomain channel to dom0, where a scripted xenstored answers; the executor's upcall delivery,
// SCHEDOP_block wake-ups and one-shot timers drive the guest's threads.

import { describe, expect, it } from 'vitest';
import { pvKernelProgram } from '../../domU/boot.js';
import type { PvKernel } from '../../domU/kernel.js';
import { Engine } from '../../hypervisor/engine/engine.js';
import { Hypervisor } from '../../hypervisor/hypervisor.js';
import type { Domain } from '../../hypervisor/domain.js';
import {
  EVTCHNOP_alloc_unbound,
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_send,
  type EvtchnAllocUnbound,
  type EvtchnBindInterdomain,
} from '../../hypercalls/event-channel.js';
import { SHUTDOWN_poweroff } from '../../hypercalls/sched.js';
import { CONSOLE_PFN, FakeMemory, MFN_BASE, STORE_PFN } from './fake-xen.js';
import { FakeXenstored } from './fake-xenstored.js';

function world() {
  const engine = new Engine({ seed: 7, trace: false });
  const hv = new Hypervisor({ engine, nrPcpus: 2, scheduler: 'credit' });
  const dom0 = hv.createDom0({ maxVcpus: 1 });
  const r = hv.createDomain({ maxVcpus: 1 });
  if (!r.ok) throw new Error('createDomain');
  const domU: Domain = r.value;
  const h0 = dom0.env?.hypercalls;
  if (!h0) throw new Error('dom0 env');
  const unbound = (): number => {
    const a: EvtchnAllocUnbound = { dom: domU.domid, remote_dom: 0, port: 0 };
    if (h0.event_channel_op(EVTCHNOP_alloc_unbound, a) !== 0) throw new Error('alloc_unbound');
    return a.port;
  };
  const storePort = unbound();
  const consolePort = unbound();
  const b: EvtchnBindInterdomain = {
    remote_dom: domU.domid,
    remote_port: storePort,
    local_port: 0,
  };
  if (h0.event_channel_op(EVTCHNOP_bind_interdomain, b) !== 0) throw new Error('bind_interdomain');
  const memory = new FakeMemory(1024);
  const tickers: (() => void)[] = [];
  const xsd = new FakeXenstored({
    memory,
    tickers,
    // xenstored's notify: EVTCHNOP_send on its end of the interdomain channel.
    raise: () => {
      h0.event_channel_op(EVTCHNOP_send, { port: b.local_port });
    },
  });
  const kernelProgram = pvKernelProgram({ platform: (env) => ({ env, memory }), banner: false });
  hv.boot(domU, (env, vcpu) => {
    // The domain builder's start_info (dom0/toolstack fills it from the start_info page).
    Object.assign(env.startInfo, {
      nr_pages: 1024,
      store_mfn: STORE_PFN + MFN_BASE,
      store_evtchn: storePort,
      console_mfn: CONSOLE_PFN + MFN_BASE,
      console_evtchn: consolePort,
    });
    return kernelProgram(env, vcpu);
  });
  hv.unpauseByController(domU);
  // xenstored polls its rings every 50 µs of virtual time.
  const poll = (): void => {
    for (const t of tickers) t();
    engine.after(50_000, poll);
  };
  engine.after(50_000, poll);
  const kernel = (): PvKernel => {
    const k = kernelProgram.kernel();
    if (!k) throw new Error('not booted');
    return k;
  };
  return { engine, hv, domU, xsd, kernel };
}

describe('domU kernel on the hypervisor core', () => {
  it('boots, registers its watches over the interdomain store channel, and powers off on request', () => {
    const { engine, domU, xsd, kernel } = world();
    expect(engine.runUntilCondition(() => xsd.watches.length >= 4, 1e9)).toBe(true);
    expect(xsd.get('control/feature-suspend')).toBe('1');
    xsd.set('control/shutdown', 'poweroff');
    expect(engine.runUntilCondition(() => domU.isShutDown, 2e9)).toBe(true);
    expect(domU.shutdownCode).toBe(SHUTDOWN_poweroff);
    expect(xsd.get('control/shutdown')).toBe('');
    expect(kernel().shutdownWatcher.handled).toEqual(['poweroff']);
  });

  it('a sleeping guest thread wakes on its one-shot timer at the right virtual time', () => {
    const { engine, xsd, kernel } = world();
    expect(engine.runUntilCondition(() => xsd.watches.length >= 4, 1e9)).toBe(true);
    const k = kernel();
    let wokeAt = -1;
    const start = engine.now;
    k.spawn(
      'sleeper',
      (function* () {
        yield* k.sleep(5_000_000);
        wokeAt = k.now();
      })(),
    );
    // Spawning from outside the guest: wake it with an event on the store channel.
    xsd.xen.raise(0);
    expect(engine.runUntilCondition(() => wokeAt >= 0, 1e9)).toBe(true);
    expect(wokeAt - start).toBeGreaterThanOrEqual(5_000_000);
    expect(wokeAt - start).toBeLessThan(6_000_000);
  });
});
