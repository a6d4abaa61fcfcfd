// The kernel's per-vCPU state (Linux arch/x86/xen/smp_pv.c and time.c): a thread runner per vCPU,
// the 10 ms periodic tick stopped, VIRQ_TIMER bound for one-shot sleeps, and a reschedule IPI that
// wakes a vCPU from SCHEDOP_block; bringing vCPUs up and down moves threads to vCPU 0.

import {
  EVTCHNOP_bind_ipi,
  EVTCHNOP_send,
  type EvtchnBindIpi,
} from '../hypercalls/event-channel.js';
import type { HypercallInterface } from '../hypercalls/guest-interface.js';
import { VCPUOP_stop_periodic_timer } from '../hypercalls/vcpu.js';
import { VIRQ_TIMER } from '../hypercalls/virq.js';
import type { EventChannels } from './evtchn.js';
import { CpuRunner, type KThread } from './kthread.js';

export interface VcpuHost {
  readonly h: HypercallInterface;
  readonly events: EventChannels;
  now(): number;
  printk(line: string): void;
}

export class Vcpus {
  private readonly k: VcpuHost;
  private readonly runners = new Map<number, CpuRunner>();
  private readonly ipiPorts = new Map<number, number>();

  constructor(host: VcpuHost) {
    this.k = host;
  }

  runner(vcpu: number): CpuRunner {
    let r = this.runners.get(vcpu);
    if (!r) {
      r = new CpuRunner(
        vcpu,
        () => this.k.h,
        () => this.k.now(),
      );
      this.runners.set(vcpu, r);
    }
    return r;
  }

  /** xen_setup_timer + xen_smp_intr_init for `vcpu` (run on vCPU 0 at boot, on the vCPU itself later). */
  setupEvents(vcpu: number): void {
    const { h, events } = this.k;
    h.vcpu_op(VCPUOP_stop_periodic_timer, vcpu);
    const port = events.bindVirq(VIRQ_TIMER, vcpu, () => undefined);
    if (port < 0) this.k.printk(`timer: cannot bind VIRQ_TIMER on vCPU ${vcpu} (${port})`);
    const ipi: EvtchnBindIpi = { vcpu, port: 0 };
    if (h.event_channel_op(EVTCHNOP_bind_ipi, ipi) === 0 && ipi.port > 0) {
      this.ipiPorts.set(vcpu, ipi.port);
      events.on(ipi.port, () => undefined);
    }
  }

  /** vCPU `v` is about to come up: its events are set up first thing on it. */
  prepare(v: number): void {
    const r = this.runner(v);
    r.halted = false;
    r.spawn(`cpu-bringup/${v}`, this.bringup(v));
  }

  private *bringup(v: number): KThread {
    this.setupEvents(v);
    yield 0;
  }

  /** cpu_down: vCPU `v`'s threads move to vCPU 0, then its code stops (the vCPU goes down). */
  offline(v: number): void {
    const r = this.runners.get(v);
    if (!r || v === 0) return;
    for (const t of r.takeThreads()) this.runner(0).adopt(t);
    r.halted = true;
    // A reschedule IPI wakes it from SCHEDOP_block so its loop sees the halt.
    const ipi = this.ipiPorts.get(v);
    if (ipi !== undefined) this.k.h.event_channel_op(EVTCHNOP_send, { port: ipi });
  }

  /** xen_irq_resume + xen_timer_resume in a new domain: every port is new, no timer is armed. */
  resume(): void {
    this.ipiPorts.clear();
    for (const [vcpu, r] of this.runners) {
      this.setupEvents(vcpu);
      r.resetTimer();
    }
  }
}
