// A small demonstration for the CLI: several CPU-bound domains with different weights share the
// pCPUs for a while, and each one's share of the host is returned (pure: the caller prints it).

import { Engine } from './engine/engine.js';
import { Hypervisor } from './hypervisor.js';
import { cpuBound } from './workloads/cpu-bound.js';

export interface SchedulingDemoOptions {
  /** Weights of the domains, one CPU-bound vCPU each (default 128, 256, 512). */
  weights?: number[];
  /** Caps in % of a pCPU (0 = none), by domain; default none. */
  caps?: number[];
  nrPcpus?: number;
  scheduler?: 'credit' | 'credit2';
  seconds?: number;
  seed?: number;
}

export interface SchedulingDemoRow {
  domid: number;
  weight: number;
  cap: number;
  cpuTimeNs: number;
  /** Fraction of all pCPU time this domain used. */
  share: number;
  /** Share expected from the weights alone (caps ignored). */
  expectedShare: number;
}

export function runSchedulingDemo(o: SchedulingDemoOptions = {}): SchedulingDemoRow[] {
  const weights = o.weights ?? [128, 256, 512];
  const nrPcpus = o.nrPcpus ?? 1;
  const seconds = o.seconds ?? 3;
  const engine = new Engine({ seed: o.seed ?? 1, trace: false });
  const hv = new Hypervisor({ engine, nrPcpus, scheduler: o.scheduler ?? 'credit' });
  const doms = weights.map((w, i) => {
    const r = hv.createDomain({ maxVcpus: 1 });
    if (!r.ok) throw new Error(`createDomain failed: errno ${r.errno}`);
    const d = r.value;
    hv.sched.setDomainParams(d, w, o.caps?.[i] ?? 0);
    hv.sched.domainParamsChanged(d);
    hv.boot(d, cpuBound());
    hv.unpauseByController(d);
    return d;
  });
  engine.runFor(seconds * 1e9);
  const total = seconds * 1e9 * nrPcpus;
  const wsum = weights.reduce((a, b) => a + b, 0);
  return doms.map((d, i) => {
    const cpu = hv.cpuTime(d);
    return {
      domid: d.domid,
      weight: d.weight,
      cap: d.cap,
      cpuTimeNs: cpu,
      share: cpu / total,
      expectedShare: (weights[i] as number) / wsum,
    };
  });
}
