// The credit (credit1) scheduler of xen/common/sched/credit.c: weights, caps with parking, 30 ms
// timeslice, 10 ms tick, ratelimit, BOOST/UNDER/OVER priorities, accounting every timeslice, work
// stealing and hard/soft affinity.

import { XEN_EINVAL, err, ok, type XenResult } from '../../hypercalls/errno.js';
import { XEN_SCHEDULER_CREDIT } from '../../hypercalls/domctl.js';
import type { Domain, Vcpu } from '../domain.js';
import { putWeightAndCap, type SchedHost, type SchedParams, type Scheduler } from './scheduler.js';

export const CSCHED_PRI_TS_BOOST = 0;
export const CSCHED_PRI_TS_UNDER = -1;
export const CSCHED_PRI_TS_OVER = -2;
export const CSCHED_PRI_IDLE = -64;
export const CSCHED_DEFAULT_WEIGHT = 256;
const CREDITS_PER_MSEC = 10;
const TICKS_PER_TSLICE = 3;
const NS_PER_MS = 1_000_000;

export class CreditScheduler implements Scheduler {
  readonly name = 'credit' as const;
  readonly id = XEN_SCHEDULER_CREDIT;
  sliceNs = Infinity;
  tickPeriodNs: number;
  private tsliceMs = 30;
  private ratelimitNs = 1_000_000;
  private migrDelayUs = 0;
  private creditsPerTslice: number;
  private readonly host: SchedHost;
  /** Per-pCPU runqueues: highest priority first, FIFO within a priority. */
  private readonly runq: Vcpu[][] = [];
  private acctTimer = -1;
  private readonly acctFn = (): void => this.acct();

  constructor(host: SchedHost) {
    this.host = host;
    for (let i = 0; i < host.nrPcpus; i++) this.runq.push([]);
    this.creditsPerTslice = CREDITS_PER_MSEC * this.tsliceMs;
    this.tickPeriodNs = this.computeTick();
  }

  private computeTick(): number {
    const ticks = this.tsliceMs < TICKS_PER_TSLICE ? 1 : TICKS_PER_TSLICE;
    return Math.floor((this.tsliceMs * NS_PER_MS) / ticks);
  }

  insertVcpu(v: Vcpu): void {
    v.credit = 0;
    v.pri = CSCHED_PRI_TS_UNDER;
    v.residual = 0;
    v.active = false;
    v.rqCpu = -1;
  }

  /** The master accounting timer runs while any vCPU is in the accounting (so an idle host has no events). */
  private armAcct(): void {
    if (this.acctTimer < 0)
      this.acctTimer = this.host.at(this.host.now() + this.tsliceMs * NS_PER_MS, this.acctFn);
  }

  removeVcpu(v: Vcpu): void {
    this.dequeue(v);
    if (v.active) {
      v.active = false;
      v.dom.activeVcpus--;
    }
  }

  wake(v: Vcpu): void {
    if ((v.runningOn >= 0 && v.hard[v.runningOn] === 1) || v.rqCpu >= 0) return;
    // Temporarily boost the priority of a waking vCPU that is under its fair share (csched_unit_wake).
    if (v.pri === CSCHED_PRI_TS_UNDER && !v.parked && v.runningOn < 0) v.pri = CSCHED_PRI_TS_BOOST;
    const cpu = this.placeOnWake(v);
    v.processor = cpu;
    this.enqueue(cpu, v, false);
    this.tickle(cpu, v);
  }

  /** DEVIATION(xen): Xen queues on v->processor and tickles an idler that then steals; placing directly on the idler has the same outcome with one reschedule fewer. */
  private placeOnWake(v: Vcpu): number {
    const h = this.host;
    const p = v.processor;
    if (v.hard[p] === 1 && h.isIdle(p)) return p;
    const soft = this.findIdle(v, true, p);
    if (soft >= 0) return soft;
    const hard = this.findIdle(v, false, p);
    if (hard >= 0) return hard;
    if (v.hard[p] === 1) return p;
    for (let c = 0; c < h.nrPcpus; c++) if (v.hard[c] === 1) return c;
    return p;
  }

  private findIdle(v: Vcpu, soft: boolean, from: number): number {
    const n = this.host.nrPcpus;
    for (let i = 0; i < n; i++) {
      const c = (from + i) % n;
      if (v.hard[c] !== 1 || (soft && v.soft[c] !== 1)) continue;
      if (this.host.isIdle(c)) return c;
    }
    return -1;
  }

  /** __runq_tickle(): preempt `cpu` if the newcomer outranks what runs there. */
  private tickle(cpu: number, v: Vcpu): void {
    const cur = this.host.curr(cpu);
    if (cur === null || v.pri > cur.pri) this.host.tickle(cpu);
  }

  sleep(v: Vcpu): void {
    this.dequeue(v);
  }

  yieldVcpu(v: Vcpu): void {
    v.yieldFlag = true;
  }

  schedule(cpu: number, now: number, prev: Vcpu | null, prevRunnable: boolean): Vcpu | null {
    if (prev !== null) this.burn(prev, now);
    if (prev !== null && prevRunnable && prev.hard[cpu] !== 1) {
      // Its hard affinity no longer allows this pCPU: it migrates (csched_unit_migrate).
      prev.yieldFlag = false;
      prevRunnable = false;
      this.wake(prev);
    }
    // Ratelimit: a runnable, non-yielding vCPU that ran less than the ratelimit keeps the pCPU.
    if (prev !== null && prevRunnable && !prev.yieldFlag && this.ratelimitNs > 0) {
      const ran = now - prev.startTimeNs;
      if (ran < this.ratelimitNs) {
        this.sliceNs = this.ratelimitNs - ran;
        return prev;
      }
    }
    if (prev !== null && prevRunnable) this.enqueue(cpu, prev, prev.yieldFlag);
    if (prev !== null) prev.yieldFlag = false;
    const q = this.runq[cpu] as Vcpu[];
    let next: Vcpu | null = q.length > 0 ? (q[0] as Vcpu) : null;
    const localPri = next === null ? CSCHED_PRI_IDLE : next.pri;
    if (localPri <= CSCHED_PRI_TS_OVER) {
      const stolen = this.steal(cpu, localPri);
      if (stolen !== null) next = stolen;
    }
    if (next !== null) {
      this.dequeue(next);
      next.processor = cpu;
      if (next !== prev) next.startTimeNs = now;
      next.lastBurnNs = now;
      this.sliceNs = this.tsliceMs * NS_PER_MS;
    } else {
      this.sliceNs = Infinity;
    }
    return next;
  }

  /** csched_load_balance(): take a higher-priority queued vCPU from a peer whose hard affinity allows `cpu` (soft-affinity pass first). */
  private steal(cpu: number, localPri: number): Vcpu | null {
    const n = this.host.nrPcpus;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 1; i < n; i++) {
        const peer = (cpu + i) % n;
        const q = this.runq[peer] as Vcpu[];
        for (const v of q) {
          if (v.pri <= localPri) break; // queue is sorted: nothing better behind
          if (v.hard[cpu] !== 1) continue;
          if (pass === 0 && v.soft[cpu] !== 1) continue;
          return v;
        }
      }
    }
    return null;
  }

  tick(_cpu: number, now: number, curr: Vcpu): void {
    // csched_unit_acct(): a vCPU found running at a tick consumes real CPU: no longer boosted.
    if (curr.pri === CSCHED_PRI_TS_BOOST) curr.pri = CSCHED_PRI_TS_UNDER;
    this.burn(curr, now);
    if (!curr.active) {
      curr.active = true;
      curr.dom.activeVcpus++;
      this.armAcct();
    }
  }

  /** burn_credits(): 10 credits per ms run, with a sub-credit residual. */
  private burn(v: Vcpu, now: number): void {
    const delta = now - v.lastBurnNs;
    if (delta <= 0) return;
    const val = delta * CREDITS_PER_MSEC + v.residual;
    const credits = Math.floor(val / NS_PER_MS);
    v.residual = val - credits * NS_PER_MS;
    v.credit -= credits;
    v.lastBurnNs = now;
  }

  /** csched_acct(): hand out credit_total by weight, honour caps (parking), refresh priorities. */
  private acct(): void {
    const h = this.host;
    this.acctTimer = -1;
    // Bring running vCPUs' credit up to date so the new priorities see what they used.
    for (let c = 0; c < h.nrPcpus; c++) {
      const cur = h.curr(c);
      if (cur !== null) this.burn(cur, h.now());
    }
    const doms = h.domains();
    let weightTotal = 0;
    for (const d of doms) if (d.activeVcpus > 0) weightTotal += d.weight * d.activeVcpus;
    if (weightTotal === 0) return; // nothing active (parked vCPUs stay active until unparked)
    let creditTotal = this.creditsPerTslice * h.nrPcpus;
    let weightLeft = weightTotal;
    const perTs = this.creditsPerTslice;
    for (const d of doms) {
      const active = d.activeVcpus;
      if (active === 0) continue;
      weightLeft -= d.weight * active;
      let creditPeak = active * perTs;
      let creditCap = 0;
      if (d.cap !== 0) {
        creditCap = Math.ceil((d.cap * perTs) / 100);
        if (creditCap < creditPeak) creditPeak = creditCap;
        creditCap = Math.ceil(creditCap / active);
      }
      let creditFair = Math.ceil((creditTotal * d.weight * active) / weightTotal);
      if (creditFair >= creditPeak) {
        // Give the unused part of this domain's fair share to those that follow.
        if (weightLeft !== 0)
          creditTotal += Math.ceil(((creditFair - creditPeak) * weightTotal) / weightLeft);
        creditFair = creditPeak;
      }
      creditFair = Math.ceil(creditFair / active);
      for (const v of d.vcpus) {
        if (!v.active) continue;
        let credit = v.credit + creditFair;
        if (credit < 0) {
          v.pri = CSCHED_PRI_TS_OVER;
          if (d.cap !== 0 && credit < -creditCap && !v.parked) h.setParked(v, true);
          if (credit < -perTs) credit = -perTs;
        } else {
          v.pri = CSCHED_PRI_TS_UNDER;
          if (v.parked) h.setParked(v, false);
          if (credit > perTs) {
            v.active = false;
            d.activeVcpus--;
            credit = Math.trunc(credit / 2);
          }
        }
        v.credit = credit;
      }
    }
    this.sortRunqueues();
    for (const d of doms) if (d.activeVcpus > 0) return this.armAcct();
  }

  private sortRunqueues(): void {
    for (const q of this.runq) if (q.length > 1) q.sort((a, b) => b.pri - a.pri); // stable: FIFO kept
  }

  /** __runq_insert(): behind every vCPU of equal or higher priority; a yielder goes behind one lower-priority vCPU too. */
  private enqueue(cpu: number, v: Vcpu, yielded: boolean): void {
    const q = this.runq[cpu] as Vcpu[];
    let i = 0;
    while (i < q.length && (q[i] as Vcpu).pri >= v.pri) i++;
    if (yielded && i < q.length) i++;
    if (i === q.length) q.push(v);
    else q.splice(i, 0, v);
    v.rqCpu = cpu;
  }

  private dequeue(v: Vcpu): void {
    if (v.rqCpu < 0) return;
    const q = this.runq[v.rqCpu] as Vcpu[];
    const i = q.indexOf(v);
    if (i >= 0) q.splice(i, 1);
    v.rqCpu = -1;
  }

  affinityChanged(v: Vcpu): void {
    if (v.rqCpu >= 0 && v.hard[v.rqCpu] !== 1) {
      this.dequeue(v);
      this.wake(v);
    }
  }

  domainParamsChanged(_d: Domain): void {
    /* picked up at the next accounting */
  }

  setDomainParams(d: Domain, weight: number, cap: number): XenResult<number> {
    return putWeightAndCap(this.host, d, weight, cap);
  }

  getParams(): SchedParams {
    return {
      tsliceMs: this.tsliceMs,
      ratelimitUs: this.ratelimitNs / 1000,
      vcpuMigrDelayUs: this.migrDelayUs,
    };
  }

  setParams(p: SchedParams): XenResult<number> {
    const { tsliceMs, ratelimitUs, vcpuMigrDelayUs } = p;
    if (!Number.isInteger(tsliceMs) || tsliceMs < 1 || tsliceMs > 1000) return err(XEN_EINVAL);
    if (!Number.isInteger(ratelimitUs) || ratelimitUs < 0 || ratelimitUs > 500_000)
      return err(XEN_EINVAL);
    if (ratelimitUs !== 0 && (ratelimitUs < 100 || ratelimitUs > tsliceMs * 1000))
      return err(XEN_EINVAL);
    if (!Number.isInteger(vcpuMigrDelayUs) || vcpuMigrDelayUs < 0 || vcpuMigrDelayUs > 100_000)
      return err(XEN_EINVAL);
    this.tsliceMs = tsliceMs;
    this.ratelimitNs = ratelimitUs * 1000;
    this.migrDelayUs = vcpuMigrDelayUs;
    this.creditsPerTslice = CREDITS_PER_MSEC * tsliceMs;
    this.tickPeriodNs = this.computeTick();
    return ok(0);
  }

  /** Runqueue contents of `cpu` (tests and debug keys). */
  queued(cpu: number): readonly Vcpu[] {
    return this.runq[cpu] ?? [];
  }
}
