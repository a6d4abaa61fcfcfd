// The seams the core offers to event channels (xen/common/event_channel.c) and to scheduling policies
// (struct scheduler's view of the core in xen/common/sched/private.h). Classes rather than per-host
// closures: every host shares the same methods, so hot call sites stay monomorphic across hosts.

import type { Domain, Vcpu } from './domain.js';
import type { EvtchnHost } from './evtchn/event-channel.js';
import type { Executor, Pcpu } from './executor.js';
import type { Hypervisor } from './hypervisor.js';
import type { SchedHost } from './sched/scheduler.js';

export class CoreEvtchnHost implements EvtchnHost {
  readonly trace: { readonly enabled: boolean };
  private readonly hv: Hypervisor;

  constructor(hv: Hypervisor) {
    this.hv = hv;
    this.trace = hv.engine.trace;
  }

  traceSend(d: Domain, port: number): void {
    this.hv.engine.emit('evtchn.send', d.domid, -1, { port });
  }

  domain(domid: number): Domain | undefined {
    return this.hv.liveDomain(domid);
  }

  kickVcpu(v: Vcpu): void {
    this.hv.kick(v);
  }

  wakePollers(d: Domain, port: number): void {
    if (d.pollingCount !== 0) this.hv.wakePollers(d, port);
  }

  globalVirqHandler(virq: number): number {
    return this.hv.globalVirqHandlerDom[virq] as number;
  }
}

export class CoreSchedHost implements SchedHost {
  readonly nrPcpus: number;
  private readonly hv: Hypervisor;
  private readonly ex: Executor;
  private readonly pcpus: readonly Pcpu[];

  /** The executor exists before the scheduler: the policy's hot queries go straight to its pCPUs. */
  constructor(hv: Hypervisor, ex: Executor) {
    this.hv = hv;
    this.ex = ex;
    this.pcpus = ex.pcpus;
    this.nrPcpus = hv.nrPcpus;
  }

  now(): number {
    return this.hv.engine.now;
  }

  curr(cpu: number): Vcpu | null {
    return this.pcpus[cpu]?.curr ?? null;
  }

  isIdle(cpu: number): boolean {
    return this.ex.isIdle(cpu);
  }

  tickle(cpu: number): void {
    const p = this.pcpus[cpu];
    if (p) this.ex.raise(p);
  }

  setParked(v: Vcpu, parked: boolean): void {
    v.parked = parked;
    this.hv.engine.emit(parked ? 'sched.park' : 'sched.unpark', v.dom.domid, v.id);
    this.hv.vcpuStateChanged(v);
  }

  domains(): readonly Domain[] {
    return this.hv.domains();
  }

  at(timeNs: number, fn: () => void): number {
    return this.hv.engine.at(timeNs, fn);
  }

  cancel(id: number): void {
    this.hv.engine.cancel(id);
  }

  instant(kind: string, v: Vcpu, fields?: Record<string, number | string>): void {
    this.hv.engine.emit(kind, v.dom.domid, v.id, fields);
  }
}
