// Block I/O through the whole data path: a guest thread's O_DIRECT-like reads (readPages) through
// blkfront's ring, blkback's request processor, positional reads of a real image file into dom0
// bounce pages, and GNTTABOP_copy by the real grant-table engine into the guest pages the reader
// owns, granted to the backend for each request. Events are delivered synchronously (no
// scheduler), so the figure is the data path's own cost.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BLKIF_BOUNCE_PAGES, BlkifProcessor } from '../../dom0/backends/blkback/blkif-processor.js';
import { SyncBlockFile } from '../../dom0/backends/blkback/block-file.js';
import type { LocalPage } from '../../dom0/backends/platform.js';
import { BlkfrontRing } from '../../domU/blkfront/blkfront-ring.js';
import { XenBlockDevice } from '../../domU/blkfront/xen-block-device.js';
import type { KThread } from '../../domU/kthread.js';
import { GNTTABOP_copy } from '../../hypercalls/grant-table.js';
import { World } from '../grant-tables/world.js';
import { median, opsPerSec, type Bench } from './harness.js';

const IMAGE_BYTES = 64 << 20;
/** Paired repetitions of blk.seqread (its figure is their median ratio; ~0.2 s each). */
const REPS = 9;
const SECTORS = IMAGE_BYTES / 512;

interface Rig {
  disk: XenBlockDevice;
  file: SyncBlockFile;
  /** `n` pages of the guest's own for the reader (out of blkfront's way). */
  readerPages(n: number): number[];
  /** The guest's view of its page `pfn`. */
  view(pfn: number): Uint8Array;
  cleanup(): void;
}

function makeImage(): { file: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xensim-blkbench-'));
  const file = path.join(dir, 'disk.img');
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;
  const fd = fs.openSync(file, 'w');
  for (let off = 0; off < IMAGE_BYTES; off += chunk.length)
    fs.writeSync(fd, chunk, 0, chunk.length, off);
  fs.closeSync(fd);
  return { file, dir };
}

/** Runs a guest thread whose waits are already satisfied by synchronous event delivery. */
function run<R>(gen: KThread<R>): R {
  for (;;) {
    const r = gen.next(0);
    if (r.done === true) return r.value;
    const v = r.value;
    if (typeof v === 'object' && v.kind === 'wait' && !v.until()) throw new Error('deadlock');
  }
}

function rig(): Rig {
  const img = makeImage();
  const world = new World(128 << 20);
  const dom0 = world.domain(0, 64, 4);
  const domU = world.domain(1, 1024, 4);
  const free: number[] = [];
  for (let pfn = 1023; pfn >= 0; pfn--) free.push(pfn);
  let proc: BlkifProcessor | null = null;
  let ring: BlkfrontRing | null = null;
  const backendKick = () => {
    const out = proc?.process();
    if (out?.fault) throw new Error(out.fault);
    if (out?.notify) ring?.onEvent();
  };
  const r = BlkfrontRing.setup({
    allocPage: () => free.pop() ?? -1,
    freePage: (pfn) => {
      free.push(pfn);
    },
    pfnToMfn: (pfn) => domU.mem.pfnToMfn(pfn),
    writableView: (pfn) => domU.mem.writableView(pfn),
    view: (pfn) => domU.mem.view(pfn),
    grantAccess: (mfn, ro) => domU.client.grantAccess(0, mfn, ro),
    endAccess: (ref) => domU.client.endAccess(ref),
    notify: backendKick,
  });
  if (!r.ok) throw new Error(r.error);
  ring = r.value;
  const m = dom0.client.map(1, ring.ringRef, false);
  const ringBytes = dom0.mem.mappedView(m.hostAddr);
  if (m.status !== 0 || !ringBytes) throw new Error('map');
  const bounce: LocalPage[] = [];
  for (let pfn = 0; pfn < BLKIF_BOUNCE_PAGES; pfn++) {
    const bytes = dom0.mem.writableView(pfn);
    if (!bytes) throw new Error('bounce');
    bounce.push({ gmfn: dom0.mem.pfnToMfn(pfn), bytes });
  }
  const f = SyncBlockFile.open(img.file, true);
  if (!f.ok) throw new Error(f.error);
  const p = BlkifProcessor.attach(ringBytes, {
    frontendDomid: 1,
    copy: (ops, count) => dom0.op(GNTTABOP_copy, ops, count),
    disk: {
      file: f.file,
      sectors: SECTORS,
      readOnly: false,
      flushCache: true,
      barrier: true,
      discard: true,
    },
    bounce,
  });
  if (!p.ok) throw new Error(p.error);
  proc = p.value;
  const disk = new XenBlockDevice('xvda', ring, {
    sectors: SECTORS,
    info: 0,
    sectorSize: 512,
    flushCache: true,
    barrier: true,
    discard: true,
  });
  return {
    disk,
    file: f.file,
    readerPages: (n) => {
      const pfns: number[] = [];
      for (let i = 0; i < n; i++) pfns.push(free.shift() ?? -1);
      if (pfns.includes(-1)) throw new Error('reader pages');
      return pfns;
    },
    view: (pfn) => {
      const v = domU.mem.view(pfn);
      if (!v) throw new Error(`page ${pfn}`);
      return v;
    },
    cleanup: () => {
      f.file.close();
      fs.rmSync(img.dir, { recursive: true, force: true });
    },
  };
}

/** Reads the whole image once, so the path and the limits all see a warm page cache. */
function warm(file: SyncBlockFile): void {
  const buf = new Uint8Array(1 << 20);
  for (let pos = 0; pos < IMAGE_BYTES; pos += buf.length) file.readAt(buf, pos);
}

/** Sequential 64 KiB positional reads of the image straight into one buffer: bytes/s. */
function fileSeqRate(file: SyncBlockFile): number {
  const buf = new Uint8Array(64 << 10);
  let pos = 0;
  return opsPerSec((n) => {
    for (let i = 0; i < n; i++) {
      file.readAt(buf, pos);
      pos = (pos + buf.length) % IMAGE_BYTES;
    }
  }, buf.length);
}

/** 4 KiB page copies with Uint8Array.set over a 4 MiB pool of cached page views: bytes/s. */
function pageCopyRate(): number {
  const pool = new ArrayBuffer(4 << 20);
  const pages: Uint8Array[] = [];
  for (let i = 0; i < 1024; i++) pages.push(new Uint8Array(pool, i * 4096, 4096));
  let k = 0;
  return opsPerSec((n) => {
    for (let i = 0; i < n; i++) {
      (pages[(k + 512) & 1023] as Uint8Array).set(pages[k & 1023] as Uint8Array);
      k++;
    }
  }, 4096);
}

/** Random 4 KiB positional reads (same PRNG sequence as the guest): reads/s. */
function fileRandRate(file: SyncBlockFile): number {
  const buf = new Uint8Array(4096);
  let x = 0x9e3779b9;
  return opsPerSec((n) => {
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      file.readAt(buf, ((x >>> 0) % (IMAGE_BYTES / 4096)) * 4096);
    }
  }, 1);
}

/** The path really delivers: the reader's pages hold the image's bytes at `pos` after a read. */
function checkRead(r: Rig, pages: number[], pos: number): void {
  const res = run(r.disk.readPages(pos / 512, pages));
  if (!res.ok) throw new Error(res.error);
  const want = new Uint8Array(pages.length * 4096);
  r.file.readAt(want, pos);
  pages.forEach((pfn, i) => {
    const got = r.view(pfn);
    for (let b = 0; b < 4096; b++) {
      if (got[b] !== want[i * 4096 + b]) throw new Error(`page ${i} byte ${b} differs`);
    }
  });
}

const seqread: Bench = {
  name: 'blk.seqread',
  unit: 'MB/s',
  better: 'higher',
  target: 0.5,
  run() {
    const r = rig();
    try {
      warm(r.file);
      const pages = r.readerPages(16);
      const bytes = pages.length * 4096;
      checkRead(r, pages, 4096);
      let sector = 0;
      const through = (n: number) => {
        for (let i = 0; i < n; i++) {
          const res = run(r.disk.readPages(sector, pages));
          if (!res.ok) throw new Error(res.error);
          sector = (sector + 128) % SECTORS;
        }
      };
      opsPerSec(through, bytes, 300); // warm-up: JIT tiers, grant refs, bounce pages
      const vals: number[] = [];
      const files: number[] = [];
      const copies: number[] = [];
      const ratios: number[] = [];
      // Paired: each repetition measures the path and its limit back to back, and the figure is
      // the median of the per-repetition ratios, so a load swing hits both sides of one ratio.
      for (let rep = 0; rep < REPS; rep++) {
        vals.push(opsPerSec(through, bytes, 200));
        files.push(fileSeqRate(r.file));
        copies.push(pageCopyRate());
        ratios.push((vals[rep] as number) / Math.min(files[rep] as number, copies[rep] as number));
      }
      const value = median(vals) / 1e6;
      const fileMBs = median(files) / 1e6;
      const copyMBs = median(copies) / 1e6;
      return {
        value,
        // The limit the median paired ratio implies (value / limit = that ratio).
        limit: value / median(ratios),
        limitName: 'min(sequential 64 KiB file read, 4 KiB page copy), paired per repetition',
        extra: {
          fileSeqMBs: Math.round(fileMBs),
          pageCopyMBs: Math.round(copyMBs),
          runsMBs: vals.map((v) => Math.round(v / 1e6)).join(' '),
          ratios: ratios.map((x) => x.toFixed(3)).join(' '),
        },
      };
    } finally {
      r.cleanup();
    }
  },
};

const randread: Bench = {
  name: 'blk.randread',
  unit: 'IOPS',
  better: 'higher',
  target: 0.3,
  run() {
    const r = rig();
    try {
      warm(r.file);
      const page = r.readerPages(1);
      checkRead(r, page, 8 * 4096);
      let x = 0x9e3779b9;
      const through = (n: number) => {
        for (let i = 0; i < n; i++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          const res = run(r.disk.readPages(((x >>> 0) % (IMAGE_BYTES / 4096)) * 8, page));
          if (!res.ok) throw new Error(res.error);
        }
      };
      opsPerSec(through, 1, 300); // warm-up
      const vals: number[] = [];
      const limits: number[] = [];
      for (let rep = 0; rep < 3; rep++) {
        vals.push(opsPerSec(through, 1));
        limits.push(fileRandRate(r.file));
      }
      return { value: median(vals), limit: median(limits), limitName: 'random 4 KiB readSync' };
    } finally {
      r.cleanup();
    }
  },
};

export const benches: Bench[] = [seqread, randread];
