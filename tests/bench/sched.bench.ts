// sched.idle64 / sched.idle256: many mostly idle domains (2 vCPUs each, 100 Hz timer ticks) on 8 pCPUs,
// in simulated seconds per wall second against the fixed targets.

import { Engine } from '../../hypervisor/engine/engine.js';
import { Hypervisor } from '../../hypervisor/hypervisor.js';
import { tickingIdle } from '../../hypervisor/workloads/sleeper.js';
import { engineHoldRate } from './engine.bench.js';
import { median, type Bench, type BenchResult } from './harness.js';

export function buildIdleHost(
  nrDomains: number,
  scheduler: 'credit' | 'credit2' = 'credit2',
): Hypervisor {
  const engine = new Engine({ seed: 11, trace: false });
  const hv = new Hypervisor({ engine, nrPcpus: 8, scheduler });
  const program = tickingIdle(100);
  for (let i = 0; i < nrDomains; i++) {
    const r = hv.createDomain({ maxVcpus: 2 });
    if (!r.ok) throw new Error(`createDomain: errno ${r.errno}`);
    hv.boot(r.value, program);
    hv.unpauseByController(r.value);
  }
  return hv;
}

function simSecondsPerWallSecond(nrDomains: number, simSeconds: number): number {
  const hv = buildIdleHost(nrDomains);
  const w0 = performance.now();
  while (performance.now() - w0 < 300) hv.engine.runFor(0.05e9); // JIT warm-up
  const t0 = performance.now();
  hv.engine.runFor(simSeconds * 1e9);
  const wallS = (performance.now() - t0) / 1000;
  return simSeconds / wallS;
}

function idleBench(name: string, nrDomains: number, target: number, simSeconds: number): Bench {
  return {
    name,
    unit: 'sim s / wall s',
    better: 'higher',
    target: 1,
    run(): BenchResult {
      const xs = [0, 1, 2].map(() => simSecondsPerWallSecond(nrDomains, simSeconds));
      const value = median(xs);
      // The target is absolute; the engine's hold rate in the same run tells how loaded the machine was.
      const hold = engineHoldRate();
      const wakesPerWallS = value * nrDomains * 2 * 100;
      return {
        value,
        limit: target,
        limitName: `target: ${target} simulated s per wall s (${nrDomains} domains x 2 vCPUs, 8 pCPUs, 100 Hz)`,
        extra: {
          engineHoldRate: Math.round(hold),
          timerWakesPerWallS: Math.round(wakesPerWallS),
          holdOpsPerWake: Math.round((hold / wakesPerWallS) * 10) / 10,
        },
      };
    },
  };
}

export const benches: Bench[] = [
  idleBench('sched.idle64', 64, 60, 20),
  idleBench('sched.idle256', 256, 15, 5),
];
