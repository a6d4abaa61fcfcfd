// The guest-side block API over one blkfront ring (Linux's block layer above xen-blkfront.c
// blkif_queue_request / blkif_interrupt): sector reads, writes, flush and discard as generator
// functions a guest thread runs with `yield*`. Large transfers are split into requests of up to 11
// pages and queued together; the thread waits (in the kernel's sense) until their responses arrive.

import type { BlockDevice, BlockResult } from '../block-device.js';
import { SECTOR_BYTES } from '../block-device.js';
import { waitUntil, type KThread } from '../kthread.js';
import {
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_OKAY,
  VDISK_CDROM,
  VDISK_READONLY,
  VDISK_REMOVABLE,
} from '../../hypercalls/io/blkif.js';
import { BLKIF_SECTORS_PER_PAGE } from '../../hypercalls/io/blkif.js';
import { SECTORS_PER_REQUEST, type BlkfrontRing, type BlkTicket } from './blkfront-ring.js';

/** What the backend published when it connected (reference 6.2). */
export interface DiskInfo {
  /** `sectors`, 512-byte units. */
  readonly sectors: number;
  /** `info`: VDISK_* bits. */
  readonly info: number;
  /** `sector-size`. */
  readonly sectorSize: number;
  readonly flushCache: boolean;
  readonly barrier: boolean;
  readonly discard: boolean;
}

const err = (error: string): { ok: false; error: string } => ({ ok: false, error });

/** The guest's name for a status (Linux logs the errno it maps to). */
function statusError(what: string, status: number): string {
  if (status === BLKIF_RSP_EOPNOTSUPP) return `${what}: operation not supported by the backend`;
  return `${what}: backend returned BLKIF_RSP_ERROR (${status})`;
}

export class XenBlockDevice implements BlockDevice {
  readonly name: string;
  readonly info: DiskInfo;
  private readonly ring: BlkfrontRing;

  constructor(name: string, ring: BlkfrontRing, info: DiskInfo) {
    this.name = name;
    this.ring = ring;
    this.info = info;
  }

  get sectors(): number {
    return this.info.sectors;
  }
  get readOnly(): boolean {
    return (this.info.info & VDISK_READONLY) !== 0;
  }
  get removable(): boolean {
    return (this.info.info & VDISK_REMOVABLE) !== 0;
  }
  get cdrom(): boolean {
    return (this.info.info & VDISK_CDROM) !== 0;
  }

  private check(sector: number, count: number): string | null {
    if (this.ring.broken !== null) return `${this.name}: ${this.ring.broken}`;
    if (!Number.isInteger(sector) || !Number.isInteger(count) || sector < 0 || count < 1) {
      return `${this.name}: bad range ${sector}+${count}`;
    }
    if (sector + count > this.info.sectors) {
      return `${this.name}: sectors ${sector}..${sector + count - 1} beyond the end (${this.info.sectors})`;
    }
    return null;
  }

  read(sector: number, count: number): KThread<BlockResult<Uint8Array>> {
    return this.readInto(sector, new Uint8Array(count * SECTOR_BYTES));
  }

  /** Reads `dst.length / 512` sectors into `dst` (no allocation: what benchmarks use). */
  *readInto(sector: number, dst: Uint8Array): KThread<BlockResult<Uint8Array>> {
    const count = Math.floor(dst.length / SECTOR_BYTES);
    const bad = this.check(sector, count);
    if (bad !== null) return err(bad);
    const r = yield* this.transfer(BLKIF_OP_READ, sector, count, dst);
    return r.ok ? { ok: true, value: dst } : r;
  }

  *write(sector: number, data: Uint8Array): KThread<BlockResult<undefined>> {
    if (data.length % SECTOR_BYTES !== 0) return err(`${this.name}: write of ${data.length} bytes`);
    const bad = this.check(sector, data.length / SECTOR_BYTES);
    if (bad !== null) return err(bad);
    // Linux marks the disk read-only (set_disk_ro) and the block layer refuses with EROFS.
    if (this.readOnly) return err(`${this.name}: read-only disk (EROFS)`);
    return yield* this.transfer(BLKIF_OP_WRITE, sector, data.length / SECTOR_BYTES, data);
  }

  /** Splits into requests of up to 88 sectors, queues them all, then waits for every response. */
  private *transfer(
    op: number,
    sector: number,
    count: number,
    data: Uint8Array,
  ): KThread<BlockResult<undefined>> {
    const tickets: BlkTicket[] = [];
    for (let done = 0; done < count;) {
      const n = Math.min(SECTORS_PER_REQUEST, count - done);
      const nseg = Math.ceil(n / BLKIF_SECTORS_PER_PAGE);
      if (!this.ring.canSubmit(nseg)) {
        this.ring.push();
        yield* waitUntil(() => this.ring.canSubmit(nseg) || this.ring.broken !== null);
        if (this.ring.broken !== null) break;
      }
      const from = done * SECTOR_BYTES;
      const t = this.ring.submitRw(
        op,
        sector + done,
        n,
        data.subarray(from, from + n * SECTOR_BYTES),
      );
      if (!t.ok) return err(`${this.name}: ${t.error}`);
      tickets.push(t.value);
      done += n;
    }
    this.ring.push();
    return yield* this.wait(tickets, op === BLKIF_OP_READ ? 'read' : 'write');
  }

  private *wait(tickets: BlkTicket[], what: string): KThread<BlockResult<undefined>> {
    yield* waitUntil(() => tickets.every((t) => t.done));
    if (this.ring.broken !== null && tickets.some((t) => t.status !== BLKIF_RSP_OKAY)) {
      return err(`${this.name}: ${this.ring.broken}`);
    }
    for (const t of tickets) {
      if (t.status !== BLKIF_RSP_OKAY) return err(`${this.name}: ${statusError(what, t.status)}`);
    }
    return { ok: true, value: undefined };
  }

  /** BLKIF_OP_FLUSH_DISKCACHE, or WRITE_BARRIER without it; nothing to do when the backend has neither. */
  *flush(): KThread<BlockResult<undefined>> {
    const op = this.info.flushCache
      ? BLKIF_OP_FLUSH_DISKCACHE
      : this.info.barrier
        ? BLKIF_OP_WRITE_BARRIER
        : -1;
    if (op < 0) return { ok: true, value: undefined };
    return yield* this.noData(() => this.ring.submitNoData(op), 'flush');
  }

  /** BLKIF_OP_DISCARD of `count` sectors (feature-discard). */
  *discard(sector: number, count: number, secure = false): KThread<BlockResult<undefined>> {
    if (!this.info.discard) return err(`${this.name}: discard not supported`);
    const bad = this.check(sector, count);
    if (bad !== null) return err(bad);
    return yield* this.noData(() => this.ring.submitDiscard(sector, count, secure), 'discard');
  }

  private *noData(
    submit: () => ReturnType<BlkfrontRing['submitNoData']>,
    what: string,
  ): KThread<BlockResult<undefined>> {
    if (!this.ring.canSubmit(0)) {
      yield* waitUntil(() => this.ring.canSubmit(0) || this.ring.broken !== null);
    }
    if (this.ring.broken !== null) return err(`${this.name}: ${this.ring.broken}`);
    const t = submit();
    if (!t.ok) return err(`${this.name}: ${t.error}`);
    this.ring.push();
    return yield* this.wait([t.value], what);
  }
}
