// Disk writer and reader with checksums: the writer fills a region of a block device with blocks
// whose bytes follow from (seed, block number) and records a checksum per block; the reader reads
// them back and counts mismatches, so data integrity across save/restore and migration is checked.
// Given the kernel's pages, the reader reads as with O_DIRECT: into pages of its own that blkfront
// grants to the backend (BlockDevice.readPages), so no copy is made in the guest on the way in.

import { SECTOR_BYTES, type BlockDevice } from '../block-device.js';
import type { GuestMain, Kernel } from '../kernel-api.js';
import type { KThread } from '../kthread.js';
import { PAGE_SIZE } from '../../hypercalls/types.js';

export interface DiskIoOptions {
  startSector?: number;
  /** Blocks to write/read. */
  blocks: number;
  /** Sectors per block; default 8 (4 KiB). */
  blockSectors?: number;
  seed?: number;
  /** Flush after writing. Default true. */
  flush?: boolean;
}

export interface DiskIoReport {
  blocks: number;
  bytes: number;
  /** FNV-1a of each block, in order. */
  checksums: number[];
  errors: string[];
  /** Reader only: blocks whose bytes differ from what the writer wrote. */
  mismatches: number;
}

/** FNV-1a, 32 bits. */
export function fnv1a(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of data) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

/** The block `index` for `seed`: an xorshift32 stream, so every byte depends on both. */
export function patternBlock(seed: number, index: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0 || 1;
  for (let i = 0; i < bytes; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
    out[i + 1] = (x >>> 8) & 0xff;
    out[i + 2] = (x >>> 16) & 0xff;
    out[i + 3] = (x >>> 24) & 0xff;
  }
  return out;
}

const newReport = (): DiskIoReport => ({
  blocks: 0,
  bytes: 0,
  checksums: [],
  errors: [],
  mismatches: 0,
});

export function* diskWrite(dev: BlockDevice, opts: DiskIoOptions): KThread<DiskIoReport> {
  const rep = newReport();
  const bs = opts.blockSectors ?? 8;
  const start = opts.startSector ?? 0;
  for (let i = 0; i < opts.blocks; i++) {
    const block = patternBlock(opts.seed ?? 1, i, bs * SECTOR_BYTES);
    const r = yield* dev.write(start + i * bs, block);
    if (!r.ok) {
      rep.errors.push(`write block ${i}: ${r.error}`);
      continue;
    }
    rep.blocks++;
    rep.bytes += block.length;
    rep.checksums.push(fnv1a(block));
  }
  if (opts.flush ?? true) {
    const f = yield* dev.flush();
    if (!f.ok) rep.errors.push(`flush: ${f.error}`);
  }
  return rep;
}

/** The kernel services an O_DIRECT-like reader uses: its page allocator and reading its own pages. */
export type PageIo = Pick<Kernel, 'pages' | 'readPage'>;

const SECTORS_PER_PAGE = PAGE_SIZE / SECTOR_BYTES;

/** `n` pages of the program's own, or null (none are taken then). */
function takePages(mem: PageIo, n: number): number[] | null {
  const pfns: number[] = [];
  for (let j = 0; j < n; j++) {
    const pfn = mem.pages.alloc();
    if (pfn < 0) {
      for (const p of pfns) mem.pages.release(p);
      return null;
    }
    pfns.push(pfn);
  }
  return pfns;
}

/**
 * Reads the blocks back and checks them. With `mem` and a disk offering readPages, and whole pages
 * per block, each block is read into the program's own pages (O_DIRECT-like), else through read().
 */
export function* diskRead(
  dev: BlockDevice,
  opts: DiskIoOptions,
  mem?: PageIo,
): KThread<DiskIoReport> {
  const rep = newReport();
  const bs = opts.blockSectors ?? 8;
  const start = opts.startSector ?? 0;
  const pfns =
    mem !== undefined && dev.readPages !== undefined && bs % SECTORS_PER_PAGE === 0
      ? takePages(mem, bs / SECTORS_PER_PAGE)
      : null;
  const block = new Uint8Array(bs * SECTOR_BYTES);
  try {
    for (let i = 0; i < opts.blocks; i++) {
      const r =
        pfns !== null && mem !== undefined && dev.readPages !== undefined
          ? yield* readDirect(dev.readPages.bind(dev), mem, start + i * bs, pfns, block)
          : yield* dev.read(start + i * bs, bs);
      if (!r.ok) {
        rep.errors.push(`read block ${i}: ${r.error}`);
        continue;
      }
      rep.blocks++;
      rep.bytes += r.value.length;
      const sum = fnv1a(r.value);
      rep.checksums.push(sum);
      if (sum !== fnv1a(patternBlock(opts.seed ?? 1, i, bs * SECTOR_BYTES))) rep.mismatches++;
    }
  } finally {
    if (pfns !== null && mem !== undefined) for (const p of pfns) mem.pages.release(p);
  }
  return rep;
}

/** One block into the program's pages, then its bytes out of them (to checksum) into `block`. */
function* readDirect(
  readPages: NonNullable<BlockDevice['readPages']>,
  mem: PageIo,
  sector: number,
  pfns: readonly number[],
  block: Uint8Array,
): KThread<{ ok: true; value: Uint8Array } | { ok: false; error: string }> {
  const r = yield* readPages(sector, pfns);
  if (!r.ok) return r;
  for (let j = 0; j < pfns.length; j++) {
    const e = mem.readPage(
      pfns[j] as number,
      0,
      block.subarray(j * PAGE_SIZE, (j + 1) * PAGE_SIZE),
    );
    if (e !== 0) return { ok: false, error: `reading back page ${pfns[j]}: errno ${e}` };
  }
  return { ok: true, value: block };
}

/** `disk-writer [blocks] [seed]` on the first disk, then prints the checksum of checksums. */
export const diskWriter: GuestMain = function* diskWriter(k, args) {
  const dev = k.blockDevices[0];
  if (!dev) {
    k.print('disk-writer: no block device\n');
    return 1;
  }
  const rep = yield* diskWrite(dev, { blocks: Number(args[0] ?? 64), seed: Number(args[1] ?? 1) });
  k.print(`disk-writer: ${rep.blocks} blocks, ${rep.errors.length} errors\n`);
  return rep.errors.length === 0 ? 0 : 1;
};

/** `disk-reader [blocks] [seed]`: verifies what disk-writer wrote. */
export const diskReader: GuestMain = function* diskReader(k, args) {
  const dev = k.blockDevices[0];
  if (!dev) {
    k.print('disk-reader: no block device\n');
    return 1;
  }
  const rep = yield* diskRead(
    dev,
    { blocks: Number(args[0] ?? 64), seed: Number(args[1] ?? 1) },
    k,
  );
  k.print(
    `disk-reader: ${rep.blocks} blocks, ${rep.mismatches} mismatches, ${rep.errors.length} errors\n`,
  );
  return rep.mismatches === 0 && rep.errors.length === 0 ? 0 : 1;
};
