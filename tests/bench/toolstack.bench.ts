// Toolstack benchmarks: creating the 1,000th domain while 999 run, against creating the first on
// the same kind of host, measured in the same run (no linear scans in the build path).

import { performance } from 'node:perf_hooks';
import { cleanupHost, createReq, makeHost, type TestHost } from '../toolstack/host.js';
import { median, type Bench, type BenchResult } from './harness.js';

const N = 1000;
const WINDOW = 15;

const cfg = (i: number): string =>
  `name = "d${i}"\nkernel = "/boot/vmlinuz-xensim-pv"\nmemory = 1\nvcpus = 1\n`;

/** Creates domain `i` and returns its wall time in ms (the build op finishes without waiting). */
async function timedCreate(h: TestHost, i: number): Promise<number> {
  const t0 = performance.now();
  const p = h.ts.create(createReq(cfg(i)));
  const r = await h.run(p);
  const t = performance.now() - t0;
  if (r.domid === undefined) throw new Error('create failed');
  return t;
}

/** Median time of creating one more domain (each destroyed again) on a host running `h`'s domains. */
async function createOneMore(h: TestHost, base: number): Promise<number> {
  const times: number[] = [];
  for (let k = 0; k < WINDOW; k++) {
    const name = base + k;
    times.push(await timedCreate(h, name));
    const domid = h.ts.domidOf(`d${name}`);
    if (domid === undefined) throw new Error('lost the domain');
    await h.run(h.ts.destroy(domid));
    h.engine.runFor(1_000_000);
  }
  return median(times);
}

async function create1000(): Promise<BenchResult> {
  // Warm the JIT on a throwaway host.
  const warm = makeHost({ memoryBytes: 256 * 1024 * 1024 });
  for (let i = 0; i < 60; i++) await timedCreate(warm, i);
  cleanupHost(warm);

  const h = makeHost({ memoryBytes: 2048 * 1024 * 1024 });
  const first = await createOneMore(h, 100_000);
  for (let i = 1; i < N; i++) {
    await timedCreate(h, i);
    h.engine.runFor(1_000_000); // the running domains get their time between creates
  }
  const last = await createOneMore(h, 200_000);
  cleanupHost(h);
  return {
    value: last,
    limit: 2 * first,
    limitName: '2 x median time of creating the first domain on the same host',
    extra: { firstMs: first, lastMs: last, running: N - 1 },
  };
}

export const benches: Bench[] = [
  { name: 'toolstack.create1000', unit: 'ms', better: 'lower', target: 1, run: create1000 },
];
