// memory.footprint: a 16 GiB host with 64 domains of 256 MiB each, every guest touching 4 MiB of its
// memory through its guest interface; peak RSS must stay near what the guests touched.

import { XENMEM_populate_physmap } from '../../hypercalls/memory.js';
import { asDomId, PAGE_SIZE } from '../../hypercalls/types.js';
import { MachineMemory } from '../../hypervisor/memory/machine-memory.js';
import type { Bench } from './harness.js';

const MiB = 1 << 20;
const DOMAINS = 64;
const DOMAIN_BYTES = 256 * MiB;
const TOUCH_BYTES = 4 * MiB;
/** Where each guest touches: 1 MiB runs at these offsets (kernel low, the rest spread like a page cache). */
const TOUCH_RUNS_MIB = [0, 61, 130, 250];

function footprint(): { rss: number; touched: number; extra: Record<string, number> } {
  const pagesPerDomain = DOMAIN_BYTES / PAGE_SIZE;
  const mm = new MachineMemory({ memoryBytes: DOMAINS * DOMAIN_BYTES + 64 * MiB });
  const dom0 = { domid: asDomId(0), privileged: true };
  const page = new Uint8Array(PAGE_SIZE);
  let touched = 0;
  for (let d = 1; d <= DOMAINS; d++) {
    mm.createDomain(asDomId(d), pagesPerDomain);
    const ext = Array.from({ length: pagesPerDomain }, (_, i) => i);
    const r = mm.memoryOp(dom0, XENMEM_populate_physmap, {
      extent_start: ext,
      nr_extents: pagesPerDomain,
      extent_order: 0,
      mem_flags: 0,
      domid: d,
    });
    if (!r.ok || r.value !== pagesPerDomain) throw new Error(`populate d${d} failed`);
    const g = mm.guest(asDomId(d));
    if (!g.ok) throw new Error('no guest');
    for (const startMiB of TOUCH_RUNS_MIB) {
      const first = (startMiB * MiB) / PAGE_SIZE;
      for (let p = 0; p < MiB / PAGE_SIZE; p++) {
        page.fill((d + p) & 0xff);
        if (g.value.write(first + p, 0, page) !== 0) throw new Error('write failed');
        touched += PAGE_SIZE;
      }
    }
  }
  if (touched !== DOMAINS * TOUCH_BYTES) throw new Error('touch accounting');
  globalThis.gc?.();
  const rss = process.resourceUsage().maxRSS * 1024;
  return {
    rss,
    touched,
    extra: {
      hostFrames: mm.nrFrames,
      materializedFrames: mm.frames.materializedFrames,
      heapUsedBytes: process.memoryUsage().heapUsed,
    },
  };
}

export const benches: Bench[] = [
  {
    name: 'memory.footprint',
    unit: 'bytes',
    better: 'lower',
    target: 1,
    run() {
      const { rss, touched, extra } = footprint();
      return {
        value: rss,
        limit: 1.2 * touched + 150e6,
        limitName: '1.2 x bytes touched by 64 guests (4 MiB each of 256 MiB) + 150 MB',
        extra: { ...extra, touchedBytes: touched },
      };
    },
  },
];
