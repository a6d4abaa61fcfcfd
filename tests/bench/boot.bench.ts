// Booting many guests with a disk each on one composed host (toolstack build, xenstored over the
// guests' rings, blkback, the guest kernel's xenbus and blkfront): the wall time from the first
// create until every vbd is Connected at both ends, and the 64th guest's cost against the first's.

import { performance } from 'node:perf_hooks';
import { SimHost } from '../../dom0/host/compose.js';
import { HostDirFilesystem, seedDom0Filesystem } from '../../dom0/toolstack/dom0-fs.js';
import { XsClient } from '../../dom0/toolstack/xs-client.js';
import { LocalXenstoreConnection } from '../../dom0/toolstack/xs-local.js';
import type { Bench, BenchResult } from './harness.js';

const GUESTS = 64;
const SEC = 1_000_000_000;
const DEVID = 51712; // xvda

const cfg = (i: number): string => `name = "storm${i}"
kernel = "/boot/vmlinuz-xensim-pv"
memory = 16
vcpus = 1
disk = [ '/var/lib/xen/images/storm${i}.img,raw,xvda,rw' ]
`;

const req = (configText: string) => ({
  configText,
  configSource: 'storm.cfg',
  overrides: [],
  paused: false,
  dryRun: false,
  cwd: '/',
});

/** Creates guest `i` and runs until its vbd is Connected at both ends; returns wall ms. */
async function bootOne(h: SimHost, xs: XsClient, i: number): Promise<number> {
  const t0 = performance.now();
  const r = await h.run(h.toolstack.create(req(cfg(i))), 60 * SEC);
  const domid = r.domid;
  if (domid === undefined) throw new Error(`storm${i} was not created`);
  const fe = `/local/domain/${domid}/device/vbd/${DEVID}/state`;
  const be = `/local/domain/0/backend/vbd/${domid}/${DEVID}/state`;
  const up = h.runUntil(() => xs.read(fe) === '4' && xs.read(be) === '4', 60 * SEC);
  if (!up) throw new Error(`storm${i}: vbd not Connected (fe ${xs.read(fe)}, be ${xs.read(be)})`);
  return performance.now() - t0;
}

function host(images: number): SimHost {
  const h = new SimHost({
    nrPcpus: 4,
    memoryBytes: 4096 * 1024 * 1024,
    dom0MemBytes: 512 << 20,
  });
  // Each guest its own sparse image in dom0's filesystem, created before the clock starts.
  seedDom0Filesystem(new HostDirFilesystem(h.rootDir), {
    diskImages: Array.from({ length: images }, (_, i) => `/var/lib/xen/images/storm${i}.img`),
  });
  return h;
}

async function storm64(): Promise<BenchResult> {
  // Warm the JIT on a throwaway host, so the first guest is not charged for compiling everything.
  const warm = host(4);
  const wxs = new XsClient(new LocalXenstoreConnection(warm.xenstored));
  for (let i = 0; i < 4; i++) await bootOne(warm, wxs, i);
  warm.dispose();

  const h = host(GUESTS);
  try {
    const xs = new XsClient(new LocalXenstoreConnection(h.xenstored));
    const times: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < GUESTS; i++) times.push(await bootOne(h, xs, i));
    const total = performance.now() - t0;
    const firstMs = times[0] ?? 0;
    const lastMs = times[GUESTS - 1] ?? 0;
    return {
      value: total,
      limit: 2000,
      limitName: '2 s budget for 64 guests created and their vbds Connected',
      extra: {
        firstMs: Math.round(firstMs * 100) / 100,
        lastMs: Math.round(lastMs * 100) / 100,
        ratioLastToFirst: Math.round((lastMs / firstMs) * 1000) / 1000,
      },
    };
  } finally {
    h.dispose();
  }
}

export const benches: Bench[] = [
  { name: 'boot.storm64', unit: 'ms', better: 'lower', target: 1, run: storm64 },
];
