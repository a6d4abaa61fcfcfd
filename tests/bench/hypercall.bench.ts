// hypercall.null: the null hypercall (XENVER_version) issued by guest code on a vCPU, per wall second,
// against the fixed target of 3 M/s.

import { Engine } from '../../hypervisor/engine/engine.js';
import { Hypervisor } from '../../hypervisor/hypervisor.js';
import type { GuestCoroutine, GuestEnv } from '../../hypercalls/guest-interface.js';
import { XENVER_version } from '../../hypercalls/version.js';
import { median, type Bench } from './harness.js';

const TARGET = 3_000_000;
const BATCH = 1000;

function nullRate(): number {
  const engine = new Engine({ seed: 3, trace: false });
  const hv = new Hypervisor({ engine, nrPcpus: 1, scheduler: 'credit2' });
  let calls = 0;
  function* caller(env: GuestEnv): GuestCoroutine {
    const h = env.hypercalls;
    for (;;) {
      for (let i = 0; i < BATCH; i++) h.xen_version(XENVER_version, null);
      calls += BATCH;
      yield 0;
    }
  }
  const r = hv.createDomain({ maxVcpus: 1 });
  if (!r.ok) throw new Error('createDomain');
  hv.boot(r.value, caller);
  hv.unpauseByController(r.value);
  const w0 = performance.now();
  while (performance.now() - w0 < 150) engine.runFor(10_000_000); // JIT warm-up
  const c0 = calls;
  const t0 = performance.now();
  while (performance.now() - t0 < 400) engine.runFor(10_000_000);
  return ((calls - c0) * 1000) / (performance.now() - t0);
}

export const benches: Bench[] = [
  {
    name: 'hypercall.null',
    unit: 'hypercalls/s',
    better: 'higher',
    target: 1,
    run() {
      const value = median([nullRate(), nullRate(), nullRate()]);
      return { value, limit: TARGET, limitName: 'target: 3 M null hypercalls per wall second' };
    },
  },
];
