// A live migration between two hosts of a pool over the in-process link, checked against the
// analytic pre-copy model for the same dirtying pattern and link (Clark et al. NSDI 2005).

import { afterEach, describe, expect, it } from 'vitest';
import { SimPool } from '../../dom0/host/pool.js';
import { predictPrecopy } from '../../dom0/migration/precopy-model.js';
import { precopyPolicy } from '../../dom0/migration/precopy-policy.js';

const SEC = 1_000_000_000;
const GBIT = 125_000_000;
const LAT = 100_000;

let pool: SimPool | undefined;
afterEach(() => {
  pool?.dispose();
  pool = undefined;
});

describe('live migration in a pool', () => {
  it('a memory dirtier moves host to host in the live rounds the model predicts, and runs on', async () => {
    const p = (pool = new SimPool({
      hosts: ['a', 'b'],
      defaults: { nrPcpus: 2, memoryBytes: 1024 << 20, dom0MemBytes: 256 << 20 },
    }));
    const a = p.host('a');
    const b = p.host('b');
    const domid = await a.create({
      name: 'g',
      kernel: '/boot/vmlinuz-xensim-pv',
      memory: 32,
      extra: 'init=memory-dirtier -- 256 1000',
    });
    p.runFor(2 * SEC);
    const [src, dst] = p.connect('a', 'b', { bytesPerSecond: GBIT, latencyNs: LAT });
    const received = b.toolstack.migrateReceive(dst, {}, () => undefined);
    const stats = await p.run(a.toolstack.migrateSend(domid, src, {}, () => undefined));
    const { domid: newDomid } = await p.run(received);

    const model = predictPrecopy({
      guestPages: 32 * 256,
      dirty: { workingSetPages: 256, pagesPerSecond: 1000 },
      bytesPerSecond: GBIT,
      latencyNs: LAT,
      policy: precopyPolicy('xen'),
    });
    // The live rounds agree to the byte and the nanosecond.
    const live = stats.rounds.filter((r) => !r.final);
    expect(live).toEqual(model.rounds.filter((r) => !r.final));
    expect(live.length).toBe(2);
    // The stop-and-copy holds the last dirty set plus what the guest wrote while it suspended.
    const final = stats.rounds.find((r) => r.final);
    expect(final?.pagesSent).toBeGreaterThanOrEqual(model.rounds.at(-1)?.pagesSent ?? 0);
    expect(stats.downtimeNs).toBeLessThan(2_000_000);

    // The source copy is gone, the handoff was taken, and the guest runs on host b.
    const left = await p.run(a.toolstack.listDomains());
    expect(left.map((d) => d.name)).toEqual(['Domain-0']);
    expect(p.handoffs.size).toBe(0);
    const d = b.hypervisor.domain(newDomid);
    const cpu0 = d?.cpuTimeNs ?? 0;
    p.runFor(1 * SEC);
    expect(d?.cpuTimeNs ?? 0).toBeGreaterThan(cpu0);
  });
});
