// Runs vCPUs on pCPUs (xen/common/sched/core.c schedule() and the guest's own execution): one engine
// event per pCPU at a time marks its next preemption point (work done, slice end, tick, or a
// softirq raised now), and guest coroutines are stepped between those points.

import {
  VCPU_INFO_evtchn_upcall_mask,
  VCPU_INFO_evtchn_upcall_pending,
  vcpuInfoOffset,
} from '../hypercalls/shared-info.js';
import {
  RUNSTATE_blocked,
  RUNSTATE_offline,
  RUNSTATE_runnable,
  RUNSTATE_running,
} from '../hypercalls/vcpu.js';
import { DOUBLE_REPR, type Vcpu } from './domain.js';
import type { Hypervisor } from './hypervisor.js';

export class Pcpu {
  readonly id: number;
  curr: Vcpu | null = null;
  /** When the current run segment started (work is consumed from here). */
  segStartNs = DOUBLE_REPR;
  /** When the current vCPU started running here (for the trace span). */
  spanStartNs = DOUBLE_REPR;
  sliceEndNs = Infinity;
  /** A descheduling vCPU keeps the pCPU until then (the hypervisor work it was charged). */
  holdEndNs = DOUBLE_REPR;
  /** Next periodic VIRQ_TIMER of the running vCPU. */
  periodicAtNs = Infinity;
  nextTickNs = Infinity;
  eventId = DOUBLE_REPR;
  eventAtNs = Infinity;
  needResched = false;
  inLoop = false;
  deferred = false;
  /** Runs vCPUs this long in total (ns). */
  busyNs = DOUBLE_REPR;

  constructor(id: number) {
    this.id = id;
    this.segStartNs = 0;
    this.spanStartNs = 0;
    this.holdEndNs = 0;
    this.busyNs = 0;
    this.eventId = -1;
  }
}

/**
 * pCPUs waiting for a deferred run, in order, in one reused array (never shrunk). A flush owns the items
 * from `base` up to the length it saw; pCPUs deferred while one of them runs are appended after those and
 * belong to the nested flush that follows that run, which truncates the list back when it is done.
 */
class RunList {
  readonly items: Pcpu[] = [];
  n = 0;
  /** Items below this index belong to flushes in progress. */
  base = 0;
}

/** Consecutive zero-cost guest steps after which the guest is charged 1 ns, so virtual time moves on. */
const LIVELOCK_STEPS = 10_000;
/** pCPUs kicked from a pCPU's run are run right after it, up to this depth; deeper ones get an event. */
const MAX_FLUSH_NESTING = 4;

export class Executor {
  readonly pcpus: Pcpu[] = [];
  private readonly hv: Hypervisor;
  private readonly onEvent = (p: Pcpu): void => this.pcpuEvent(p);
  private deferDepth = 0;
  private readonly deferredRuns = new RunList();
  private flushNesting = 0;

  constructor(hv: Hypervisor, nrPcpus: number) {
    this.hv = hv;
    for (let i = 0; i < nrPcpus; i++) this.pcpus.push(new Pcpu(i));
  }

  isIdle(cpu: number): boolean {
    const p = this.pcpus[cpu] as Pcpu;
    return p.curr === null && !p.needResched;
  }

  /** raise_softirq(SCHEDULE_SOFTIRQ) on `p`. */
  raise(p: Pcpu): void {
    p.needResched = true;
    this.poke(p);
  }

  /** Interrupts `p` now (an IPI): account what ran, deliver upcalls, reschedule if asked. */
  poke(p: Pcpu): void {
    if (p.inLoop) return; // its loop looks at everything before it returns
    if (this.deferDepth > 0) {
      if (!p.deferred) {
        p.deferred = true;
        const l = this.deferredRuns;
        l.items[l.n++] = p;
      }
      return;
    }
    const now = this.hv.engine.now;
    if (p.eventAtNs <= now) return;
    this.program(p, now);
  }

  /**
   * Timer handlers run between deferBegin() and deferEnd(): pCPUs they poke run right after the handler,
   * at the same virtual time, instead of through one more queued event (the softirq on timer exit).
   */
  deferBegin(): void {
    this.deferDepth++;
  }

  deferEnd(): void {
    if (--this.deferDepth > 0) return;
    const l = this.deferredRuns;
    const start = l.base;
    const end = l.n;
    if (end === start) return;
    const now = this.hv.engine.now;
    this.flushNesting++;
    for (let i = start; i < end; i++) {
      const p = l.items[i] as Pcpu;
      p.deferred = false;
      if (p.inLoop) continue;
      if (this.flushNesting > MAX_FLUSH_NESTING) {
        if (p.eventAtNs > now) this.program(p, now);
        continue;
      }
      // Its queued event stays if the run ends up wanting the same time (an upcall that costs nothing).
      l.base = end;
      this.deferDepth++;
      this.pcpuWork(p, false);
      this.deferEnd();
    }
    this.flushNesting--;
    l.n = start;
    l.base = start;
  }

  private program(p: Pcpu, t: number): void {
    if (p.eventAtNs === t) return;
    const engine = this.hv.engine;
    if (p.eventId >= 0) engine.cancel(p.eventId);
    p.eventAtNs = t;
    p.eventId = t === Infinity ? -1 : engine.at(t, this.onEvent, p);
  }

  private pcpuEvent(p: Pcpu): void {
    this.deferDepth++;
    this.pcpuWork(p, true);
    this.deferEnd();
  }

  private pcpuWork(p: Pcpu, fromEvent: boolean): void {
    if (fromEvent) {
      p.eventId = -1;
      p.eventAtNs = Infinity;
    }
    const now = this.hv.engine.now;
    p.inLoop = true;
    const v = p.curr;
    if (v !== null) {
      const elapsed = now - p.segStartNs;
      v.workNs = v.workNs > elapsed ? v.workNs - elapsed : 0;
      if (now >= p.nextTickNs) {
        this.hv.sched.tick(p.id, now, v);
        p.nextTickNs = this.nextTick(now);
      }
      if (now >= p.sliceEndNs) p.needResched = true;
      if (now >= p.periodicAtNs) {
        // The periodic VIRQ_TIMER of the running vCPU (vcpu_periodic_timer_fn), folded into this pCPU's event.
        v.periodicLastNs = now;
        p.periodicAtNs = v.periodicPeriodNs > 0 ? now + v.periodicPeriodNs : Infinity;
        this.hv.timers.sendTimer(v);
      }
    }
    p.segStartNs = now;
    this.run(p, now);
    p.inLoop = false;
    const c = p.curr;
    if (c !== null && p.holdEndNs > now) this.program(p, p.holdEndNs);
    else if (p.needResched) this.program(p, now);
    else if (c === null) this.program(p, Infinity);
    else {
      let t = c.runnable() && !c.yieldFlag ? now + c.workNs : p.holdEndNs;
      if (p.sliceEndNs < t) t = p.sliceEndNs;
      if (p.nextTickNs < t) t = p.nextTickNs;
      if (p.periodicAtNs < t) t = p.periodicAtNs;
      this.program(p, t);
    }
  }

  private nextTick(now: number): number {
    const period = this.hv.sched.tickPeriodNs;
    return period > 0 ? now - (now % period) + period : Infinity;
  }

  /** Steps guest code on `p` until its current vCPU has work to burn or the pCPU idles. */
  private run(p: Pcpu, now: number): void {
    const hv = this.hv;
    let zeroSteps = 0;
    for (;;) {
      let v = p.curr;
      if (v !== null && (!v.runnable() || v.yieldFlag)) {
        // It blocked, yielded or was paused: the hypervisor work charged to it (its hypercalls, the switch
        // and upcall entry) still occupies the pCPU, and only then does it switch out.
        if (v.chargeNs > 0) {
          p.holdEndNs = (p.holdEndNs > now ? p.holdEndNs : now) + v.chargeNs;
          v.chargeNs = 0;
        }
        if (p.holdEndNs > now) return;
        p.needResched = true;
      } else if (v !== null && p.holdEndNs > now) {
        // It became runnable again before that work was done: the rest is its own to burn first, here or
        // wherever it runs next.
        v.workNs += p.holdEndNs - now;
        p.holdEndNs = 0;
        if (!p.needResched) return;
      }
      if (p.needResched) {
        this.schedule(p, now);
        v = p.curr;
        if (v === null) return;
        if (!v.runnable() || v.yieldFlag) continue;
      } else if (v === null) return;
      // An event interrupts whatever the guest computes: the callback runs first.
      const page = v.dom.sharedInfo;
      const vi = vcpuInfoOffset(v.id);
      if (
        page[vi + VCPU_INFO_evtchn_upcall_pending] !== 0 &&
        page[vi + VCPU_INFO_evtchn_upcall_mask] === 0 &&
        v.dom.upcall !== null
      ) {
        this.deliverUpcall(v, page, vi);
        continue;
      }
      if (v.workNs > 0) return;
      hv.stepGuest(v);
      if (v.workNs === 0 && ++zeroSteps >= LIVELOCK_STEPS) {
        v.workNs = 1;
        zeroSteps = 0;
      }
    }
  }

  /** Enters the guest's event callback with upcall_mask set; its iret re-enables delivery. */
  private deliverUpcall(v: Vcpu, page: Uint8Array, vi: number): void {
    const hv = this.hv;
    const d = v.dom;
    page[vi + VCPU_INFO_evtchn_upcall_mask] = 1;
    hv.current = v;
    let cost = 0;
    try {
      const r = (d.upcall as NonNullable<typeof d.upcall>)(
        d.env as NonNullable<typeof d.env>,
        v.id,
      );
      if (typeof r === 'number' && r > 0 && Number.isFinite(r)) cost = Math.floor(r);
    } catch (e) {
      hv.guestFault(v, e);
    }
    hv.current = null;
    page[vi + VCPU_INFO_evtchn_upcall_mask] = 0;
    // The handler's own CPU use delays the coroutine; the entry cost is charged like a hypercall's.
    v.workNs += cost;
    v.chargeNs += hv.costs.upcallNs;
  }

  /** schedule(): ask the policy, then switch contexts if the choice changed. */
  private schedule(p: Pcpu, now: number): void {
    const hv = this.hv;
    p.needResched = false;
    const prev = p.curr;
    const next = hv.sched.schedule(p.id, now, prev, prev !== null && prev.runnable());
    const slice = hv.sched.sliceNs;
    if (next !== prev) {
      if (prev !== null) this.switchOut(p, prev, now);
      p.curr = next;
      if (next !== null) {
        next.runningOn = p.id;
        next.processor = p.id;
        hv.setRunstate(next, RUNSTATE_running);
        next.chargeNs += hv.costs.contextSwitchNs;
        p.spanStartNs = now;
        p.periodicAtNs = this.periodicStart(next, now);
        if (prev === null) p.nextTickNs = this.nextTick(now);
      } else {
        p.nextTickNs = Infinity;
        p.periodicAtNs = Infinity;
      }
    }
    p.sliceEndNs = next === null ? Infinity : now + slice;
    p.holdEndNs = 0;
    p.segStartNs = now;
  }

  private switchOut(p: Pcpu, prev: Vcpu, now: number): void {
    const hv = this.hv;
    prev.runningOn = -1;
    hv.setRunstate(
      prev,
      prev.blocked ? RUNSTATE_blocked : prev.runnable() ? RUNSTATE_runnable : RUNSTATE_offline,
    );
    const dur = now - p.spanStartNs;
    p.busyNs += dur;
    if (hv.engine.trace.enabled && dur > 0)
      hv.engine.trace.record({
        timeNs: p.spanStartNs,
        kind: 'sched.run',
        dom: prev.dom.domid,
        vcpu: prev.id,
        pcpu: p.id,
        durNs: dur,
      });
  }

  /** vcpu_periodic_timer_work() at switch-in: fire if a period passed while it was away, return the next expiry. */
  private periodicStart(v: Vcpu, now: number): number {
    const period = v.periodicPeriodNs;
    if (period === 0) return Infinity;
    let next = v.periodicLastNs + period;
    if (now >= next) {
      v.periodicLastNs = now;
      next = now + period;
      this.hv.timers.sendTimer(v);
    }
    return next;
  }

  /** The running vCPU's periodic timer period changed (VCPUOP_set/stop_periodic_timer). */
  periodicChanged(v: Vcpu): void {
    const p = v.runningOn >= 0 ? this.pcpus[v.runningOn] : undefined;
    if (!p) return;
    const now = this.hv.engine.now;
    p.periodicAtNs =
      v.periodicPeriodNs > 0 ? Math.max(now, v.periodicLastNs) + v.periodicPeriodNs : Infinity;
    if (!p.inLoop) {
      this.deferDepth++;
      this.pcpuWork(p, false);
      this.deferEnd();
    }
  }

  /** Time `p` spent running vCPUs up to now (including the current span). */
  busyTime(cpu: number): number {
    const p = this.pcpus[cpu] as Pcpu;
    return p.busyNs + (p.curr !== null ? this.hv.engine.now - p.spanStartNs : 0);
  }
}
