// A memory dirtier: keeps a working set of its own pages and writes real bytes into them at a set
// rate (pages per second), cycling through the set, so pre-copy migration rounds and log-dirty
// bitmaps see a known dirtying rate. Each write stamps the pass number and pfn into the page.

import type { GuestMain, Kernel } from '../kernel-api.js';
import type { KThread } from '../kthread.js';

export interface MemoryDirtierOptions {
  workingSetPages: number;
  pagesPerSecond: number;
  /** Length of one burst of writes, ns; default 1 ms. */
  tickNs?: number;
  /** CPU per page written, ns; default 250 (a 4 KiB memset). */
  nsPerPage?: number;
  /** Stop after this many page writes; default: never. */
  maxWrites?: number;
  stats?: MemoryDirtierStats;
}

export interface MemoryDirtierStats {
  pfns: number[];
  writes: number;
  /** Pages that could not be allocated (the working set is smaller than asked). */
  shortPages: number;
  errors: number;
}

/** The 16-byte stamp written at the start of each page: magic, pass, pfn, write count. */
export function dirtierStamp(pass: number, pfn: number, writes: number): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0x64697274, true); // "trid": "dirt" little endian
  dv.setUint32(4, pass >>> 0, true);
  dv.setUint32(8, pfn >>> 0, true);
  dv.setUint32(12, writes >>> 0, true);
  return b;
}

export function* dirtyMemory(k: Kernel, opts: MemoryDirtierOptions): KThread<number> {
  const stats = opts.stats ?? { pfns: [], writes: 0, shortPages: 0, errors: 0 };
  const tick = Math.max(1000, opts.tickNs ?? 1_000_000);
  const nsPerPage = opts.nsPerPage ?? 250;
  const want = Math.max(0, Math.floor(opts.workingSetPages));
  for (let i = 0; i < want; i++) {
    const pfn = k.pages.alloc();
    if (pfn < 0) {
      stats.shortPages = want - i;
      break;
    }
    stats.pfns.push(pfn);
  }
  const set = stats.pfns;
  if (set.length === 0 || opts.pagesPerSecond <= 0) return 1;
  const max = opts.maxWrites ?? Infinity;
  let carry = 0;
  let next = 0;
  while (stats.writes < max) {
    const start = k.now();
    carry += (opts.pagesPerSecond * tick) / 1e9;
    let n = Math.floor(carry);
    carry -= n;
    n = Math.min(n, max - stats.writes);
    for (let i = 0; i < n; i++) {
      const pfn = set[next] as number;
      const pass = Math.floor(stats.writes / set.length);
      if (k.writePage(pfn, 0, dirtierStamp(pass, pfn, stats.writes)) !== 0) stats.errors++;
      stats.writes++;
      next = (next + 1) % set.length;
    }
    if (n > 0) yield* k.burn(n * nsPerPage);
    const rest = start + tick - k.now();
    if (rest > 0 && stats.writes < max) yield* k.sleep(rest);
  }
  return 0;
}

/** `memory-dirtier <workingSetPages> <pagesPerSecond>` */
export const memoryDirtier: GuestMain = function* memoryDirtier(k, args) {
  return yield* dirtyMemory(k, {
    workingSetPages: Number(args[0] ?? 256),
    pagesPerSecond: Number(args[1] ?? 1000),
  });
};
