// What a guest program sees of a virtual disk (Linux's block layer above xen-blkfront.c): sector
// reads and writes in 512-byte units and a flush. blkfront implements it over the blkif ring; the
// disk workloads and user programs use only this interface.

import type { KThread } from './kthread.js';

export const SECTOR_BYTES = 512;

export type BlockResult<T> = { ok: true; value: T } | { ok: false; error: string };

export interface BlockDevice {
  /** `xvda`, `xvdb`, ... */
  readonly name: string;
  /** Capacity in 512-byte sectors (the backend's `sectors`). */
  readonly sectors: number;
  readonly readOnly: boolean;
  /** Reads `count` sectors from `sector`. */
  read(sector: number, count: number): KThread<BlockResult<Uint8Array>>;
  /** Writes whole sectors (`data.length` a multiple of 512) at `sector`. */
  write(sector: number, data: Uint8Array): KThread<BlockResult<undefined>>;
  /** BLKIF_OP_FLUSH_DISKCACHE (or a barrier); ok when the backend has it on stable storage. */
  flush(): KThread<BlockResult<undefined>>;
  /**
   * O_DIRECT-like: reads `pfns.length * 8` sectors from `sector` straight into the caller's own
   * guest pages, 8 sectors a page from offset 0, with no copy in the guest (blkfront grants the
   * pages to the backend for the request, as Linux grants bio pages). Disks with no grant path
   * (a RAM disk in tests) need not offer it.
   */
  readPages?(sector: number, pfns: readonly number[]): KThread<BlockResult<undefined>>;
  /** O_DIRECT-like write of the caller's pages, the counterpart of readPages. */
  writePages?(sector: number, pfns: readonly number[]): KThread<BlockResult<undefined>>;
  /**
   * Opens the disk (a mount, an open file descriptor): while any opener remains, the frontend
   * refuses the backend's request to close ("Device in use; refusing to close").
   */
  open?(): KThread<BlockResult<undefined>>;
  /** Drops one open; the last close lets a close the backend asked for go ahead. */
  close?(): KThread<BlockResult<undefined>>;
}
