// Resource controls (libxl_mem.c libxl_set_memory_target/libxl_domain_setmaxmem, libxl_domain.c
// libxl_set_vcpuonline/libxl_set_vcpuaffinity, libxl_sched.c; reference 7.1, 9, 11): memory target
// and maximum with LIBXL_MAXMEM_CONSTANT, vCPU availability, pinning and scheduler parameters.

import {
  XEN_SCHEDULER_CREDIT,
  XEN_SCHEDULER_CREDIT2,
  XEN_VCPUAFFINITY_HARD,
  XEN_VCPUAFFINITY_SOFT,
} from '../../hypercalls/domctl.js';
import { ToolstackError } from './api.js';
import type { DomainRecord } from './domain-registry.js';
import type { LifecycleDeps } from './lifecycle.js';
import { xcError } from './xc-errors.js';
import { domPath, LIBXL_MAXMEM_CONSTANT_KB } from './xs-layout.js';

/** LIBXL_MIN_DOM0_MEM: dom0's target may not go below 128 MiB. */
export const LIBXL_MIN_DOM0_MEM_KB = 128 * 1024;

function readKb(deps: LifecycleDeps, domid: number, node: string): number | undefined {
  const v = deps.xs.read(`${domPath(domid)}/memory/${node}`);
  if (v === undefined) return undefined;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : undefined;
}

/** libxl_set_memory_target (absolute): memory/target, and max_pages = target + 1 MiB. */
export function memSet(
  deps: LifecycleDeps,
  domid: number,
  rec: DomainRecord | undefined,
  targetKb: number,
): void {
  if (!Number.isSafeInteger(targetKb) || targetKb < 0)
    throw new ToolstackError('INVAL', `invalid memory size ${targetKb}`);
  if (domid === 0 && targetKb < LIBXL_MIN_DOM0_MEM_KB)
    throw new ToolstackError(
      'INVAL',
      `new target ${targetKb} for dom0 is below the minimum threshold`,
    );
  const staticMax = rec?.staticMaxKb ?? readKb(deps, domid, 'static-max');
  if (staticMax !== undefined && targetKb > staticMax)
    throw new ToolstackError(
      'INVAL',
      `memory_dynamic_max must be less than or equal to memory_static_max`,
    );
  const m = deps.xc.maxMem(domid, targetKb + LIBXL_MAXMEM_CONSTANT_KB);
  if (!m.ok)
    throw xcError(
      `new target ${targetKb} for domain ${domid}: xc_domain_setmaxmem failed`,
      m.errno,
    );
  const w = deps.xs.write(`${domPath(domid)}/memory/target`, String(targetKb));
  if (!w.ok)
    throw new ToolstackError('FAIL', `cannot write memory/target of domain ${domid}: ${w.error}`);
  if (rec) rec.targetKb = targetKb;
}

/** libxl_domain_setmaxmem: not below the current target; static-max and max_pages follow. */
export function memMax(
  deps: LifecycleDeps,
  domid: number,
  rec: DomainRecord | undefined,
  maxKb: number,
): void {
  if (!Number.isSafeInteger(maxKb) || maxKb < 0)
    throw new ToolstackError('INVAL', `invalid memory size ${maxKb}`);
  const target = rec?.targetKb ?? readKb(deps, domid, 'target');
  if (target !== undefined && maxKb < target)
    throw new ToolstackError(
      'INVAL',
      `memory_static_max must be greater than or or equal to memory_dynamic_max`,
    );
  const m = deps.xc.maxMem(domid, maxKb + LIBXL_MAXMEM_CONSTANT_KB);
  if (!m.ok) throw xcError(`xc_domain_setmaxmem for domain ${domid} failed`, m.errno);
  deps.xs.write(`${domPath(domid)}/memory/static-max`, String(maxKb));
  if (rec) rec.staticMaxKb = maxKb;
}

/** libxl_set_vcpuonline: cpu/<i>/availability for every vCPU; the guest brings them up or down. */
export function vcpuSet(deps: LifecycleDeps, domid: number, count: number): void {
  const info = deps.xc.getInfo(domid);
  if (!info.ok) throw xcError(`getting domain info for ${domid}`, info.errno);
  const max = info.value.max_vcpu_id + 1;
  if (!Number.isInteger(count) || count < 1)
    throw new ToolstackError('INVAL', `invalid number of vcpus ${count}`);
  if (count > max)
    throw new ToolstackError(
      'INVAL',
      `Requested vcpus are greater than max allowed vcpus for the domain (${count} > ${max})`,
    );
  const r = deps.xs.transact((tx) => {
    for (let i = 0; i < max; i++) {
      const w = deps.xs.write(
        `${domPath(domid)}/cpu/${i}/availability`,
        i < count ? 'online' : 'offline',
        tx,
      );
      if (!w.ok) return w;
    }
    return { ok: true, value: undefined };
  });
  if (!r.ok) throw new ToolstackError('FAIL', `vcpu-set: xenstore write failed: ${r.error}`);
}

/** libxl_set_vcpuaffinity for one vCPU or all; null leaves that mask alone. */
export function vcpuPin(
  deps: LifecycleDeps,
  domid: number,
  vcpu: number | 'all',
  hard: readonly number[] | null,
  soft: readonly number[] | null,
  force: boolean,
): void {
  const info = deps.xc.getInfo(domid);
  if (!info.ok) throw xcError(`getting domain info for ${domid}`, info.errno);
  const phys = deps.xc.physinfo();
  const nr = phys.ok ? phys.value.nr_cpus : 1;
  const max = info.value.max_vcpu_id + 1;
  if (vcpu !== 'all' && (vcpu < 0 || vcpu >= max))
    throw new ToolstackError('INVAL', `vcpu ${vcpu} of domain ${domid} does not exist`);
  for (const c of [...(hard ?? []), ...(soft ?? [])])
    if (c < 0 || c >= nr)
      throw new ToolstackError('INVAL', `cpu ${c} is not present on this host (${nr} cpus)`);
  const toMask = (cpus: readonly number[] | null): boolean[] => {
    const m = new Array<boolean>(nr).fill(false);
    for (const c of cpus ?? []) m[c] = true;
    return m;
  };
  const flags =
    (hard ? XEN_VCPUAFFINITY_HARD : 0) | (soft ? XEN_VCPUAFFINITY_SOFT : 0) | (force ? 4 : 0);
  if ((flags & 3) === 0) return;
  const list = vcpu === 'all' ? [...Array(max).keys()] : [vcpu];
  for (const v of list) {
    const r = deps.xc.setVcpuAffinity(domid, {
      vcpu: v,
      flags,
      cpumap_hard: toMask(hard),
      cpumap_soft: toMask(soft),
    });
    if (!r.ok) throw xcError(`setting vcpu affinity of vcpu ${v}`, r.errno);
  }
}

export type SchedName = 'credit' | 'credit2';
export const schedIdOf = (s: SchedName): number =>
  s === 'credit' ? XEN_SCHEDULER_CREDIT : XEN_SCHEDULER_CREDIT2;

/** The scheduler of Pool-0; commands for another scheduler fail as xl's do. */
export function requireScheduler(deps: LifecycleDeps, s: SchedName): number {
  const id = deps.xc.schedId();
  if (!id.ok) throw xcError('getting the scheduler id', id.errno);
  if (id.value !== schedIdOf(s))
    throw new ToolstackError('INVAL', `Scheduler ${s} is not the scheduler of cpupool Pool-0`);
  return id.value;
}

/** libxl_domain_sched_params_set: weight 1..65535, cap 0..100*nr_cpus (0 = none). */
export function schedDomainSet(
  deps: LifecycleDeps,
  s: SchedName,
  domid: number,
  p: { weight?: number; cap?: number },
): void {
  const sid = requireScheduler(deps, s);
  const cur = deps.xc.schedGet(domid, sid);
  if (!cur.ok) throw xcError(`getting scheduler parameters of domain ${domid}`, cur.errno);
  if (p.weight !== undefined && (!Number.isInteger(p.weight) || p.weight < 1 || p.weight > 65535))
    throw new ToolstackError('INVAL', `weight out of range (1..65535): ${p.weight}`);
  const phys = deps.xc.physinfo();
  const nr = phys.ok ? phys.value.nr_cpus : 1;
  if (p.cap !== undefined && (!Number.isInteger(p.cap) || p.cap < 0 || p.cap > 100 * nr))
    throw new ToolstackError('INVAL', `cap out of range (0..${100 * nr}): ${p.cap}`);
  const r = deps.xc.schedSet(domid, sid, {
    weight: p.weight ?? cur.value.weight,
    cap: p.cap ?? cur.value.cap,
  });
  if (!r.ok) throw xcError(`setting scheduler parameters of domain ${domid}`, r.errno);
}
