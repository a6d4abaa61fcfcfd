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
}
