// Shared setup for hypervisor tests: a host with dom0 and guests, and hypercalls issued as a domain.

import { Engine } from '../../hypervisor/engine/engine.js';
import { Hypervisor, type HypervisorOptions } from '../../hypervisor/hypervisor.js';
import type { Domain } from '../../hypervisor/domain.js';
import type { GuestProgram, HypercallInterface } from '../../hypercalls/guest-interface.js';
import { idleProgram } from '../../hypervisor/workloads/idle.js';

export function makeHost(
  o: Partial<Omit<HypervisorOptions, 'engine'>> & { seed?: number; trace?: boolean } = {},
): Hypervisor {
  const engine = new Engine({ seed: o.seed ?? 1, trace: o.trace ?? false });
  return new Hypervisor({
    engine,
    nrPcpus: o.nrPcpus ?? 2,
    scheduler: o.scheduler ?? 'credit',
    ...o,
  });
}

/** Creates a domU (unpaused unless `paused`), running `program` (idle by default). */
export function guest(
  hv: Hypervisor,
  o: {
    vcpus?: number;
    program?: GuestProgram;
    paused?: boolean;
    weight?: number;
    cap?: number;
  } = {},
): Domain {
  const r = hv.createDomain({ maxVcpus: o.vcpus ?? 1 });
  if (!r.ok) throw new Error(`createDomain: errno ${r.errno}`);
  const d = r.value;
  if (o.weight !== undefined || o.cap !== undefined) {
    hv.sched.setDomainParams(d, o.weight ?? 0, o.cap ?? 0xffff);
    hv.sched.domainParamsChanged(d);
  }
  hv.boot(d, o.program ?? idleProgram);
  if (!o.paused) hv.unpauseByController(d);
  return d;
}

/** The domain's hypercall page (calls made from outside its vCPUs count as vCPU 0's). */
export function hc(d: Domain): HypercallInterface {
  if (!d.env) throw new Error('no env');
  return d.env.hypercalls;
}
