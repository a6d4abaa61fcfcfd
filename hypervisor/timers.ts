// Per-vCPU timers of xen/common/sched/core.c: the periodic VIRQ_TIMER (it runs only while the vCPU runs,
// as vcpu_periodic_timer_work does, so the executor folds it into the pCPU's own event), the single-shot timer (set_timer_op / VCPUOP_set_singleshot_timer),
// the SCHEDOP_poll timeout, and the per-domain watchdogs (domain_watchdog in sched/core.c).

import { SHUTDOWN_watchdog } from '../hypercalls/sched.js';
import { VIRQ_TIMER } from '../hypercalls/virq.js';
import type { Domain, Vcpu } from './domain.js';
import { sendVcpuVirq } from './evtchn/event-channel.js';
import type { Hypervisor } from './hypervisor.js';

export const NR_DOMAIN_WATCHDOG_TIMERS = 2;

export class Timers {
  private readonly hv: Hypervisor;
  private readonly singleshotFn = (v: Vcpu): void => {
    this.hv.executor.deferBegin();
    this.singleshotFire(v);
    this.hv.executor.deferEnd();
  };
  private readonly pollFn = (v: Vcpu): void => {
    this.hv.executor.deferBegin();
    v.pollTimer = -1;
    this.hv.unblock(v);
    this.hv.executor.deferEnd();
  };
  private readonly watchdogFns = [
    (d: Domain): void => this.watchdogFire(d, 0),
    (d: Domain): void => this.watchdogFire(d, 1),
  ];

  constructor(hv: Hypervisor) {
    this.hv = hv;
  }

  /** send_timer_event(). */
  sendTimer(v: Vcpu): void {
    sendVcpuVirq(this.hv.evtchnHost, v, VIRQ_TIMER);
  }

  setPeriodic(v: Vcpu, periodNs: number): void {
    v.periodicPeriodNs = periodNs;
    this.hv.executor.periodicChanged(v);
  }

  setSingleshot(v: Vcpu, timeNs: number): void {
    this.stopSingleshot(v);
    const t = Math.max(timeNs, this.hv.engine.now);
    v.singleshotTimer = this.hv.engine.at(t, this.singleshotFn, v);
  }

  stopSingleshot(v: Vcpu): void {
    if (v.singleshotTimer >= 0) {
      this.hv.engine.cancel(v.singleshotTimer);
      v.singleshotTimer = -1;
    }
  }

  private singleshotFire(v: Vcpu): void {
    v.singleshotTimer = -1;
    this.sendTimer(v);
  }

  setPollTimeout(v: Vcpu, timeNs: number): void {
    this.stopPoll(v);
    v.pollTimer = this.hv.engine.at(Math.max(timeNs, this.hv.engine.now), this.pollFn, v);
  }

  stopPoll(v: Vcpu): void {
    if (v.pollTimer >= 0) {
      this.hv.engine.cancel(v.pollTimer);
      v.pollTimer = -1;
    }
  }

  /** Cancels every timer of a vCPU (domain destruction). */
  stopAll(v: Vcpu): void {
    this.stopSingleshot(v);
    this.stopPoll(v);
  }

  setWatchdog(d: Domain, slot: number, timeoutSec: number): void {
    this.stopWatchdog(d, slot);
    d.watchdogTimer[slot] = this.hv.engine.at(
      this.hv.engine.now + timeoutSec * 1_000_000_000,
      this.watchdogFns[slot] as (d: Domain) => void,
      d,
    );
  }

  stopWatchdog(d: Domain, slot: number): void {
    const id = d.watchdogTimer[slot] as number;
    if (id >= 0) this.hv.engine.cancel(id);
    d.watchdogTimer[slot] = -1;
  }

  private watchdogFire(d: Domain, slot: number): void {
    d.watchdogTimer[slot] = -1;
    this.hv.console.writeString(`(XEN) Watchdog timer fired for domain ${d.domid}\n`);
    this.hv.shutdownDomain(d, SHUTDOWN_watchdog);
  }
}
