// The seam between the scheduling core and a scheduling policy (struct scheduler in xen/common/sched/private.h).

import { XEN_EINVAL, err, ok, type XenResult } from '../../hypercalls/errno.js';
import type { Domain, Vcpu } from '../domain.js';

/** What a policy may ask of the core. */
export interface SchedHost {
  readonly nrPcpus: number;
  now(): number;
  /** The vCPU running on `cpu`, or null when it idles. */
  curr(cpu: number): Vcpu | null;
  /** `cpu` runs nothing and has not been asked to reschedule yet. */
  isIdle(cpu: number): boolean;
  /** raise_softirq(SCHEDULE_SOFTIRQ) on `cpu`. */
  tickle(cpu: number): void;
  /** Parks (or unparks) a vCPU for a cap; the core re-evaluates whether it may run. */
  setParked(v: Vcpu, parked: boolean): void;
  /** Live domains in domid order. */
  domains(): readonly Domain[];
  /** Schedules `fn` at absolute time `timeNs` (the engine's timer). */
  at(timeNs: number, fn: () => void): number;
  cancel(id: number): void;
  instant(kind: string, v: Vcpu, fields?: Record<string, number | string>): void;
}

/** Host-wide scheduler parameters (xen_sysctl_credit_schedule / credit2_schedule). */
export interface SchedParams {
  tsliceMs: number;
  ratelimitUs: number;
  vcpuMigrDelayUs: number;
}

export interface Scheduler {
  readonly name: 'credit' | 'credit2';
  /** XEN_SCHEDULER_* id. */
  readonly id: number;
  /** Slice chosen by the last `schedule()` call, in ns (Infinity = until something happens). */
  sliceNs: number;
  insertVcpu(v: Vcpu): void;
  removeVcpu(v: Vcpu): void;
  /** `v` became runnable and is not running: queue it and tickle a pCPU. */
  wake(v: Vcpu): void;
  /** `v` stopped being runnable while queued: take it off its runqueue. */
  sleep(v: Vcpu): void;
  yieldVcpu(v: Vcpu): void;
  /** Chooses what `cpu` runs next; `prev` is what ran there (if it can go on running, `prevRunnable`). */
  schedule(cpu: number, now: number, prev: Vcpu | null, prevRunnable: boolean): Vcpu | null;
  /** Period of the per-pCPU tick while busy (0: no tick). */
  readonly tickPeriodNs: number;
  tick(cpu: number, now: number, curr: Vcpu): void;
  /** Hard affinity of a queued vCPU changed. */
  affinityChanged(v: Vcpu): void;
  /** Weight/cap changed (already validated and stored on the domain). */
  domainParamsChanged(d: Domain): void;
  getParams(): SchedParams;
  setParams(p: SchedParams): XenResult<number>;
  /** Validates and applies domain parameters (weight 0 / cap 0xFFFF = unchanged). */
  setDomainParams(d: Domain, weight: number, cap: number): XenResult<number>;
}

/** Returns pCPU ids allowed by `mask` starting after `from`, wrapping (cpumask_cycle order). */
export function firstAllowedFrom(
  mask: Uint8Array,
  from: number,
  pred: (cpu: number) => boolean,
): number {
  const n = mask.length;
  for (let i = 1; i <= n; i++) {
    const c = (from + i) % n;
    if (mask[c] === 1 && pred(c)) return c;
  }
  return -1;
}

/**
 * XEN_DOMCTL_SCHEDOP_putinfo for the weight-and-cap schedulers (csched_dom_cntl in credit.c,
 * csched2_dom_cntl in credit2.c): weight 1..65535 (0 = unchanged), cap in percent of one pCPU up
 * to 100 per vCPU (0 = none, 0xFFFF = unchanged). Removing the cap unparks the domain's vCPUs.
 */
export function putWeightAndCap(
  host: SchedHost,
  d: Domain,
  weight: number,
  cap: number,
): XenResult<number> {
  if (!Number.isInteger(weight) || weight < 0 || weight > 65535) return err(XEN_EINVAL);
  if (!Number.isInteger(cap) || cap < 0 || cap > 0xffff) return err(XEN_EINVAL);
  if (cap !== 0xffff && cap > 100 * Math.max(1, d.vcpus.length)) return err(XEN_EINVAL);
  if (weight !== 0) d.weight = weight;
  if (cap !== 0xffff) {
    d.cap = cap;
    if (cap === 0) for (const v of d.vcpus) if (v.parked) host.setParked(v, false);
  }
  return ok(0);
}
