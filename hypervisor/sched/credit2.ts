// The credit2 scheduler of xen/common/sched/credit2.c (Xen's default since 4.12): credit is time in
// ns burnt at a weight-scaled rate, runqueues sorted by credit, a credit reset when the best has none
// left, ratelimit, caps through a per-domain budget refilled every 10 ms, and load balancing.

import { XEN_EINVAL, err, ok, type XenResult } from '../../hypercalls/errno.js';
import { XEN_SCHEDULER_CREDIT2 } from '../../hypercalls/domctl.js';
import type { Domain, Vcpu } from '../domain.js';
import { putWeightAndCap, type SchedHost, type SchedParams, type Scheduler } from './scheduler.js';

export const CSCHED2_CREDIT_INIT_NS = 10_000_000;
export const CSCHED2_MIN_TIMER_NS = 500_000;
export const CSCHED2_MAX_TIMER_NS = 10_000_000;
export const CSCHED2_MIGRATE_RESIST_NS = 500_000;
export const CSCHED2_CAP_PERIOD_NS = 10_000_000;

/** credit2_runqueue=: one runqueue for the whole (single-socket) host, or one per pCPU. */
export type Credit2Runqueue = 'socket' | 'cpu';

export class Credit2Scheduler implements Scheduler {
  readonly name = 'credit2' as const;
  readonly id = XEN_SCHEDULER_CREDIT2;
  readonly tickPeriodNs = 0;
  sliceNs = Infinity;
  private ratelimitNs = 1_000_000;
  private readonly host: SchedHost;
  /** Runqueues, each sorted by credit (highest first). */
  private readonly rqs: Vcpu[][] = [];
  private readonly rqOf: Int32Array;
  /**
   * Credit of the vCPU each pCPU runs (+Infinity when idle), as of the schedule() that chose it: a running
   * vCPU's credit changes only there and in a reset, so wakes compare these instead of reading every vCPU.
   */
  private readonly runCredit: Float64Array;
  private maxWeight = 256;
  private capTimer = -1;
  private readonly capFn = (): void => this.replenish();

  constructor(host: SchedHost, runqueue: Credit2Runqueue = 'socket') {
    this.host = host;
    this.rqOf = new Int32Array(host.nrPcpus);
    this.runCredit = new Float64Array(host.nrPcpus).fill(Infinity);
    const n = runqueue === 'cpu' ? host.nrPcpus : 1;
    for (let i = 0; i < n; i++) this.rqs.push([]);
    for (let c = 0; c < host.nrPcpus; c++) this.rqOf[c] = runqueue === 'cpu' ? c : 0;
  }

  insertVcpu(v: Vcpu): void {
    v.credit = CSCHED2_CREDIT_INIT_NS;
    v.rqCpu = -1;
    this.recomputeMaxWeight();
  }

  removeVcpu(v: Vcpu): void {
    this.dequeue(v);
  }

  private recomputeMaxWeight(): void {
    let m = 1;
    for (const d of this.host.domains()) if (d.weight > m) m = d.weight;
    this.maxWeight = m;
  }

  wake(v: Vcpu): void {
    if ((v.runningOn >= 0 && v.hard[v.runningOn] === 1) || v.rqCpu >= 0) return;
    const h = this.host;
    const p = v.processor;
    // runq_tickle(): an idle pCPU in hard affinity (its own first, then soft-preferred ones) takes it.
    let target = (v.hardAll || v.hard[p] === 1) && h.isIdle(p) ? p : -1;
    if (target < 0) target = this.findIdle(v, true);
    if (target < 0 && !v.softAll) target = this.findIdle(v, false);
    if (target >= 0) {
      v.processor = target;
      this.enqueue(v);
      h.tickle(target);
      return;
    }
    // Otherwise preempt the pCPU running the least credit, if the newcomer has clearly more.
    let lowest = Infinity;
    const n = h.nrPcpus;
    const runCredit = this.runCredit;
    for (let c = 0; c < n; c++) {
      const credit = runCredit[c] as number;
      if (credit < lowest && (v.hardAll || v.hard[c] === 1)) {
        lowest = credit;
        target = c;
      }
    }
    if (target >= 0 && v.credit > lowest + CSCHED2_MIGRATE_RESIST_NS) {
      v.processor = target;
      this.enqueue(v);
      h.tickle(target);
      return;
    }
    if (v.hard[p] !== 1) v.processor = firstSet(v.hard);
    this.enqueue(v);
  }

  private findIdle(v: Vcpu, soft: boolean): number {
    const h = this.host;
    const n = h.nrPcpus;
    const any = v.hardAll && (!soft || v.softAll);
    for (let c = 0; c < n; c++) {
      if ((any || (v.hard[c] === 1 && (!soft || v.soft[c] === 1))) && h.isIdle(c)) return c;
    }
    return -1;
  }

  sleep(v: Vcpu): void {
    this.dequeue(v);
  }

  yieldVcpu(v: Vcpu): void {
    v.yieldFlag = true;
  }

  /** t2c(): the max-weight vCPU burns 1 credit per ns, others faster. */
  private burn(v: Vcpu, now: number): void {
    const delta = now - v.lastBurnNs;
    if (delta <= 0) return;
    v.credit -= Math.round((delta * this.maxWeight) / v.dom.weight);
    v.lastBurnNs = now;
    const d = v.dom;
    if (d.cap !== 0) {
      d.budgetNs -= delta;
      if (d.budgetNs <= 0) for (const w of d.vcpus) if (!w.parked) this.host.setParked(w, true);
    }
  }

  schedule(cpu: number, now: number, prev: Vcpu | null, prevRunnable: boolean): Vcpu | null {
    if (prev !== null) this.burn(prev, now);
    let keepable: Vcpu | null = prev !== null && prevRunnable && !prev.parked ? prev : null;
    if (keepable !== null && keepable.hard[cpu] !== 1) {
      // Its hard affinity no longer allows this pCPU: it migrates through a wake elsewhere.
      keepable.yieldFlag = false;
      this.wake(keepable);
      keepable = null;
    }
    if (keepable !== null && !keepable.yieldFlag && this.ratelimitNs > 0) {
      const ran = now - keepable.startTimeNs;
      if (ran < this.ratelimitNs) {
        this.sliceNs = this.ratelimitNs - ran;
        this.runCredit[cpu] = keepable.credit;
        return keepable;
      }
    }
    const rq = this.rqOf[cpu] as number;
    let best = this.pick(rq, cpu);
    if (best === null && this.rqs.length > 1) best = this.balance(cpu);
    let next: Vcpu | null = best;
    if (keepable !== null) {
      const keep = best === null || (!keepable.yieldFlag && keepable.credit >= best.credit);
      if (keep) next = keepable;
      else this.enqueue(keepable);
    }
    if (prev !== null) prev.yieldFlag = false;
    if (next === null) {
      this.sliceNs = Infinity;
      this.runCredit[cpu] = Infinity;
      return null;
    }
    if (next !== prev) this.dequeue(next);
    if (next.credit <= 0) this.resetCredit(rq, next);
    next.processor = cpu;
    if (next !== prev) next.startTimeNs = now;
    next.lastBurnNs = now;
    this.sliceNs = this.runtime(rq, next);
    this.runCredit[cpu] = next.credit;
    return next;
  }

  private pick(rq: number, cpu: number): Vcpu | null {
    const q = this.rqs[rq] as Vcpu[];
    for (let i = 0; i < q.length; i++) {
      const v = q[i] as Vcpu;
      if (v.hardAll || v.hard[cpu] === 1) return v;
    }
    return null;
  }

  /** balance_load(), reduced: an idle runqueue pulls the best allowed vCPU from the most loaded one. */
  private balance(cpu: number): Vcpu | null {
    let busiest = -1;
    let load = 0;
    for (let r = 0; r < this.rqs.length; r++) {
      const q = this.rqs[r] as Vcpu[];
      if (q.length > load && q.some((v) => v.hard[cpu] === 1)) {
        busiest = r;
        load = q.length;
      }
    }
    return busiest < 0 ? null : this.pick(busiest, cpu);
  }

  /** reset_credit(): every vCPU of the runqueue gets CREDIT_INIT (times m for a deep deficit), clipped to CREDIT_INIT. */
  private resetCredit(rq: number, snext: Vcpu): void {
    let m = 1;
    if (snext.credit < -CSCHED2_CREDIT_INIT_NS)
      m += Math.floor(-snext.credit / CSCHED2_CREDIT_INIT_NS);
    const bump = (v: Vcpu): void => {
      v.credit = Math.min(v.credit + m * CSCHED2_CREDIT_INIT_NS, CSCHED2_CREDIT_INIT_NS);
    };
    for (const d of this.host.domains())
      for (const v of d.vcpus) if (this.rqs.length === 1 || this.rqOf[v.processor] === rq) bump(v);
    (this.rqs[rq] as Vcpu[]).sort((a, b) => b.credit - a.credit);
    for (let c = 0; c < this.host.nrPcpus; c++) {
      const cur = this.host.curr(c);
      if (cur !== null) this.runCredit[c] = cur.credit;
    }
    this.host.instant('sched.credit2.reset', snext);
  }

  /** csched2_runtime(): run until the credit lead over the next in line is gone, within [min, max] timer. */
  private runtime(rq: number, snext: Vcpu): number {
    const q = this.rqs[rq] as Vcpu[];
    const other = q[0];
    let lead = other !== undefined ? snext.credit - other.credit : snext.credit;
    if (lead < 0) lead = 0;
    let t = Math.floor((lead * snext.dom.weight) / this.maxWeight);
    if (t < CSCHED2_MIN_TIMER_NS) t = CSCHED2_MIN_TIMER_NS;
    if (t > CSCHED2_MAX_TIMER_NS) t = CSCHED2_MAX_TIMER_NS;
    if (this.ratelimitNs > 0 && t < this.ratelimitNs) t = this.ratelimitNs;
    const d = snext.dom;
    if (d.cap !== 0 && d.budgetNs < t) t = Math.max(1, d.budgetNs);
    return t;
  }

  private enqueue(v: Vcpu): void {
    const rq = this.rqOf[v.processor] as number;
    const q = this.rqs[rq] as Vcpu[];
    // The queue is sorted by credit, highest first, FIFO among equals: insert after the last one with
    // at least as much credit (a binary search, so that a long runqueue is not walked on every wake).
    const c = v.credit;
    let lo = 0;
    let hi = q.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((q[mid] as Vcpu).credit >= c) lo = mid + 1;
      else hi = mid;
    }
    if (lo === q.length) q.push(v);
    else q.splice(lo, 0, v);
    v.rqCpu = rq;
  }

  private dequeue(v: Vcpu): void {
    if (v.rqCpu < 0) return;
    const q = this.rqs[v.rqCpu] as Vcpu[];
    if (q[0] === v) q.shift();
    else {
      const i = q.indexOf(v);
      if (i >= 0) q.splice(i, 1);
    }
    v.rqCpu = -1;
  }

  tick(): void {
    /* credit2 has no periodic tick */
  }

  /** replenish_domain_budget(): every 10 ms each capped domain gets cap% of the period back. */
  private replenish(): void {
    this.capTimer = -1;
    let anyCapped = false;
    for (const d of this.host.domains()) {
      if (d.cap === 0) continue;
      anyCapped = true;
      const tot = Math.floor((d.cap * CSCHED2_CAP_PERIOD_NS) / 100);
      d.budgetNs = Math.min(d.budgetNs, 0) + tot;
      if (d.budgetNs > 0) for (const v of d.vcpus) if (v.parked) this.host.setParked(v, false);
    }
    if (anyCapped) this.armCap();
  }

  private armCap(): void {
    if (this.capTimer < 0)
      this.capTimer = this.host.at(this.host.now() + CSCHED2_CAP_PERIOD_NS, this.capFn);
  }

  affinityChanged(v: Vcpu): void {
    if (v.rqCpu >= 0 && v.hard[v.processor] !== 1) {
      this.dequeue(v);
      this.wake(v);
    }
  }

  domainParamsChanged(d: Domain): void {
    this.recomputeMaxWeight();
    if (d.cap !== 0) {
      d.budgetNs = Math.floor((d.cap * CSCHED2_CAP_PERIOD_NS) / 100);
      this.armCap();
    }
  }

  setDomainParams(d: Domain, weight: number, cap: number): XenResult<number> {
    return putWeightAndCap(this.host, d, weight, cap);
  }

  getParams(): SchedParams {
    return { tsliceMs: 0, ratelimitUs: this.ratelimitNs / 1000, vcpuMigrDelayUs: 0 };
  }

  setParams(p: SchedParams): XenResult<number> {
    const r = p.ratelimitUs;
    if (!Number.isInteger(r) || r < 0 || r > 500_000 || (r !== 0 && r < 100))
      return err(XEN_EINVAL);
    this.ratelimitNs = r * 1000;
    return ok(0);
  }
}

function firstSet(mask: Uint8Array): number {
  const i = mask.indexOf(1);
  return i < 0 ? 0 : i;
}
