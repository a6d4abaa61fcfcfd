import { describe, expect, it } from 'vitest';
import type { Domain } from '../../hypervisor/domain.js';
import type { Hypervisor } from '../../hypervisor/hypervisor.js';
import { cpuBound } from '../../hypervisor/workloads/cpu-bound.js';
import { ioLike } from '../../hypervisor/workloads/io-like.js';
import { sleeper } from '../../hypervisor/workloads/sleeper.js';
import { guest, makeHost } from './helpers.js';

const SEC = 1_000_000_000;
const share = (hv: Hypervisor, d: Domain, ns: number): number => hv.cpuTime(d) / ns;

describe('credit scheduler (sched/credit.c)', () => {
  it('two CPU-bound vCPUs with weights 256:512 on one pCPU get 1:2 of it within 2% over 3 s', () => {
    const hv = makeHost({ nrPcpus: 1, scheduler: 'credit' });
    const a = guest(hv, { program: cpuBound(), weight: 256 });
    const b = guest(hv, { program: cpuBound(), weight: 512 });
    hv.engine.runFor(3 * SEC);
    expect(Math.abs(share(hv, a, 3 * SEC) - 1 / 3)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(share(hv, b, 3 * SEC) - 2 / 3)).toBeLessThanOrEqual(0.02);
  });

  it('cap 50 holds a CPU-bound domain to 50% (+1%) of one pCPU, even with the pCPU otherwise idle', () => {
    const hv = makeHost({ nrPcpus: 1, scheduler: 'credit' });
    const d = guest(hv, { program: cpuBound(), cap: 50 });
    hv.engine.runFor(3 * SEC);
    const s = share(hv, d, 3 * SEC);
    expect(s).toBeLessThanOrEqual(0.51);
    expect(s).toBeGreaterThan(0.45);
  });

  it('a vCPU waking from I/O while UNDER is BOOSTed past CPU hogs: wake-to-run latency stays under 1 ms', () => {
    const hv = makeHost({ nrPcpus: 1, scheduler: 'credit' });
    guest(hv, { program: cpuBound() });
    guest(hv, { program: cpuBound() });
    const latencies: number[] = [];
    const record = (l: number): void => void latencies.push(l);
    guest(hv, { program: ioLike({ computeNs: 20_000, ioNs: 1_000_000, onWake: record }) });
    hv.engine.runFor(3 * SEC);
    expect(latencies.length).toBeGreaterThan(2500);
    expect(Math.max(...latencies)).toBeLessThan(1_000_000);
  });

  it('without BOOST-worthy credit (a sleeper that is OVER) the wake waits behind the hogs', () => {
    // Control for the BOOST test: a vCPU that burns more than its share loses priority, and waits.
    const hv = makeHost({ nrPcpus: 1, scheduler: 'credit' });
    guest(hv, { program: cpuBound() });
    guest(hv, { program: cpuBound() });
    const late: number[] = [];
    guest(hv, {
      program: sleeper({ periodNs: 4_000_000, workNs: 3_900_000, onWake: (l) => late.push(l) }),
    });
    hv.engine.runFor(2 * SEC);
    expect(Math.max(...late)).toBeGreaterThan(1_000_000);
  });

  it('ratelimit keeps a preempted vCPU running at least 1 ms', () => {
    const hv = makeHost({ nrPcpus: 1, scheduler: 'credit', trace: true });
    const hog = guest(hv, { program: cpuBound() });
    guest(hv, { program: ioLike({ computeNs: 20_000, ioNs: 200_000 }) });
    hv.engine.runFor(0.3 * SEC);
    const spans = hv.engine.trace.records({ kind: 'sched.run', dom: hog.domid });
    expect(spans.length).toBeGreaterThan(50);
    for (const s of spans) expect(s.durNs ?? 0).toBeGreaterThanOrEqual(1_000_000);
  });

  it('the same seed gives the same trace digest', () => {
    const run = (seed: number): string => {
      const hv = makeHost({ nrPcpus: 2, scheduler: 'credit', trace: true, seed });
      hv.createDom0({ maxVcpus: 1 });
      guest(hv, { program: cpuBound(), weight: 128, vcpus: 2 });
      guest(hv, { program: ioLike({ computeNs: 30_000, ioNs: 1_000_000 }) });
      guest(hv, { program: sleeper({ periodNs: 10_000_000, workNs: 100_000 }) });
      hv.engine.runFor(0.2 * SEC);
      return hv.engine.trace.digest();
    };
    expect(run(7)).toBe(run(7));
  });
});

describe('credit2 scheduler (sched/credit2.c)', () => {
  it('weights give proportional shares (256:512 on one pCPU within 2%)', () => {
    const hv = makeHost({ nrPcpus: 1, scheduler: 'credit2' });
    const a = guest(hv, { program: cpuBound(), weight: 256 });
    const b = guest(hv, { program: cpuBound(), weight: 512 });
    hv.engine.runFor(3 * SEC);
    expect(Math.abs(share(hv, a, 3 * SEC) - 1 / 3)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(share(hv, b, 3 * SEC) - 2 / 3)).toBeLessThanOrEqual(0.02);
  });

  it('three domains 1:1:2 on two pCPUs share them by weight within 3%', () => {
    const hv = makeHost({ nrPcpus: 2, scheduler: 'credit2' });
    const ds = [256, 256, 512].map((w) => guest(hv, { program: cpuBound(), weight: w }));
    hv.engine.runFor(3 * SEC);
    const shares = ds.map((d) => hv.cpuTime(d) / (6 * SEC));
    expect(Math.abs((shares[0] ?? 0) - 0.25)).toBeLessThanOrEqual(0.03);
    expect(Math.abs((shares[2] ?? 0) - 0.5)).toBeLessThanOrEqual(0.03);
  });

  it('a cap holds through the budget refilled every 10 ms', () => {
    const hv = makeHost({ nrPcpus: 1, scheduler: 'credit2' });
    const d = guest(hv, { program: cpuBound(), cap: 30 });
    hv.engine.runFor(2 * SEC);
    const s = share(hv, d, 2 * SEC);
    expect(s).toBeLessThanOrEqual(0.31);
    expect(s).toBeGreaterThan(0.27);
  });
});
