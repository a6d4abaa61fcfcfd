// The guest-side block API over one blkfront ring (Linux's block layer above xen-blkfront.c
// blkif_queue_request / blkif_interrupt): sector reads, writes, flush and discard as generator
// functions a guest thread runs with `yield*`. Large transfers are split into requests of up to 11
// pages and queued together; the thread waits (in the kernel's sense) until their responses arrive.

import type { BlockDevice, BlockResult } from '../block-device.js';
import { SECTOR_BYTES } from '../block-device.js';
import { waitUntil, type KThread, type Wait } from '../kthread.js';
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
import {
  BLKIF_RSP_RESUBMIT,
  SECTORS_PER_REQUEST,
  type BlkfrontRing,
  type BlkTicket,
} from './blkfront-ring.js';

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

/** How opens and closes reach the frontend's handshake machine (DEVICE_OPENED / DEVICE_CLOSED). */
export interface OpenHooks {
  opened(): KThread;
  closed(): KThread;
}

const allDone = (tickets: readonly BlkTicket[]): boolean => {
  for (let i = 0; i < tickets.length; i++) if (!(tickets[i] as BlkTicket).done) return false;
  return true;
};

/** The thread sleeps until the responses of `tickets` have all arrived (blk_mq's wait on the request). */
const waitFor = (tickets: readonly BlkTicket[]): Wait => ({
  kind: 'wait',
  until: () => allDone(tickets),
  deadlineNs: Number.POSITIVE_INFINITY,
});

/** An attempt that met a resume: the caller issues it again on the new ring. */
const RESUBMIT = Symbol('resubmit');

export class XenBlockDevice implements BlockDevice {
  readonly name: string;
  info: DiskInfo;
  private ring: BlkfrontRing;
  /** Between a resume in a new domain and the reconnect: requests wait, then go to the new ring. */
  private suspended = false;
  private readonly hooks: OpenHooks | undefined;
  private openers = 0;

  constructor(name: string, ring: BlkfrontRing, info: DiskInfo, hooks?: OpenHooks) {
    this.name = name;
    this.ring = ring;
    this.info = info;
    this.hooks = hooks;
  }

  /**
   * blkfront_resume: the domain moved; the disk (the gendisk) stays, its ring is gone. Requests in
   * flight and new ones wait for `reattach` and are then issued again (blkif_recover).
   */
  suspend(): void {
    this.suspended = true;
    this.ring.abandon();
  }

  /** The disk is gone for good (the device closed): waiting requests fail instead of waiting. */
  detach(): void {
    this.suspended = false;
  }

  /** blkif_recover: the reconnected ring (same disk, as the backend reports it again). */
  reattach(ring: BlkfrontRing, info: DiskInfo): void {
    this.ring = ring;
    this.info = info;
    this.suspended = false;
  }

  /** A ring that went away: a resume means "issue it again", anything else is the error. */
  private brokenResult(): BlockResult<undefined> | typeof RESUBMIT {
    return this.suspended ? RESUBMIT : err(`${this.name}: ${this.ring.broken ?? 'no ring'}`);
  }

  /** Runs one attempt of an operation until it is not answered by "resubmit" (a resume). */
  private *recovering<T>(
    attempt: () => KThread<BlockResult<T> | typeof RESUBMIT>,
  ): KThread<BlockResult<T>> {
    for (;;) {
      if (this.suspended) yield* waitUntil(() => !this.suspended);
      const r = yield* attempt();
      if (r !== RESUBMIT) return r;
    }
  }

  /** Opens not yet matched by a close (Linux's bd_openers on the gendisk). */
  get openCount(): number {
    return this.openers;
  }

  /** blkif_open: counts the opener and tells the frontend, which then refuses a backend close. */
  *open(): KThread<BlockResult<undefined>> {
    // Linux answers ENXIO once the disk is gone (info->gd cleared or the ring in error).
    if (this.ring.broken !== null) return err(`${this.name}: ${this.ring.broken} (ENXIO)`);
    this.openers++;
    if (this.hooks) yield* this.hooks.opened();
    return { ok: true, value: undefined };
  }

  /** blkif_release: the last close of a disk the backend wants closed lets the frontend close. */
  *close(): KThread<BlockResult<undefined>> {
    if (this.openers === 0) return err(`${this.name}: close without open`);
    this.openers--;
    if (this.hooks) yield* this.hooks.closed();
    return { ok: true, value: undefined };
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
    if (this.ring.broken !== null && !this.suspended) return `${this.name}: ${this.ring.broken}`;
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
    for (;;) {
      if (this.suspended) yield* waitUntil(() => !this.suspended);
      const r = yield* this.transfer(BLKIF_OP_READ, sector, count, dst);
      if (r !== RESUBMIT) return r.ok ? { ok: true, value: dst } : r;
    }
  }

  /**
   * O_DIRECT-like read of `pfns.length * 8` sectors into the caller's own pages, 8 sectors a page:
   * each page is granted to the backend for its request only (Linux's bio pages without persistent
   * grants) and the backend's grant copy writes the data straight into it.
   */
  *readPages(sector: number, pfns: readonly number[]): KThread<BlockResult<undefined>> {
    // The recovery loop inline (no closure per read): a hot path.
    for (;;) {
      if (this.suspended) yield* waitUntil(() => !this.suspended);
      const r = yield* this.pages(BLKIF_OP_READ, sector, pfns);
      if (r !== RESUBMIT) return r;
    }
  }

  /** O_DIRECT-like write of the caller's pages (granted read-only for the request). */
  writePages(sector: number, pfns: readonly number[]): KThread<BlockResult<undefined>> {
    return this.recovering(() => this.pages(BLKIF_OP_WRITE, sector, pfns));
  }

  private *pages(
    op: number,
    sector: number,
    pfns: readonly number[],
  ): KThread<BlockResult<undefined> | typeof RESUBMIT> {
    const count = pfns.length * BLKIF_SECTORS_PER_PAGE;
    const bad = this.check(sector, count);
    if (bad !== null) return err(bad);
    if (op === BLKIF_OP_WRITE && this.readOnly) return err(`${this.name}: read-only disk (EROFS)`);
    const tickets: BlkTicket[] = [];
    for (let done = 0; done < count;) {
      const n = Math.min(SECTORS_PER_REQUEST, count - done);
      if (!this.ring.canSubmitDirect()) {
        this.ring.push();
        yield* waitUntil(() => this.ring.canSubmitDirect() || this.ring.broken !== null);
        if (this.ring.broken !== null) return this.brokenResult();
      }
      const t = this.ring.submitPages(op, sector + done, n, pfns, done / BLKIF_SECTORS_PER_PAGE);
      if (!t.ok) {
        // Requests already queued carry pages the caller will reuse: wait for them first.
        this.ring.push();
        if (!allDone(tickets)) yield waitFor(tickets);
        return err(`${this.name}: ${t.error}`);
      }
      tickets.push(t.value);
      done += n;
    }
    this.ring.push();
    if (!allDone(tickets)) yield waitFor(tickets);
    return this.outcome(tickets, op === BLKIF_OP_READ ? 'read' : 'write');
  }

  *write(sector: number, data: Uint8Array): KThread<BlockResult<undefined>> {
    if (data.length % SECTOR_BYTES !== 0) return err(`${this.name}: write of ${data.length} bytes`);
    const bad = this.check(sector, data.length / SECTOR_BYTES);
    if (bad !== null) return err(bad);
    // Linux marks the disk read-only (set_disk_ro) and the block layer refuses with EROFS.
    if (this.readOnly) return err(`${this.name}: read-only disk (EROFS)`);
    return yield* this.recovering(() =>
      this.transfer(BLKIF_OP_WRITE, sector, data.length / SECTOR_BYTES, data),
    );
  }

  /** Splits into requests of up to 88 sectors, queues them all, then waits for every response. */
  private *transfer(
    op: number,
    sector: number,
    count: number,
    data: Uint8Array,
  ): KThread<BlockResult<undefined> | typeof RESUBMIT> {
    const tickets: BlkTicket[] = [];
    for (let done = 0; done < count;) {
      const n = Math.min(SECTORS_PER_REQUEST, count - done);
      const nseg = Math.ceil(n / BLKIF_SECTORS_PER_PAGE);
      if (!this.ring.canSubmit(nseg)) {
        this.ring.push();
        yield* waitUntil(() => this.ring.canSubmit(nseg) || this.ring.broken !== null);
        if (this.ring.broken !== null) return this.brokenResult();
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
    if (!allDone(tickets)) yield waitFor(tickets);
    return this.outcome(tickets, op === BLKIF_OP_READ ? 'read' : 'write');
  }

  /** What the caller gets once every ticket is done. */
  private outcome(tickets: BlkTicket[], what: string): BlockResult<undefined> | typeof RESUBMIT {
    if (tickets.some((t) => t.status === BLKIF_RSP_RESUBMIT)) return RESUBMIT;
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
    return yield* this.recovering(() => this.noData(() => this.ring.submitNoData(op), 'flush'));
  }

  /** BLKIF_OP_DISCARD of `count` sectors (feature-discard). */
  *discard(sector: number, count: number, secure = false): KThread<BlockResult<undefined>> {
    if (!this.info.discard) return err(`${this.name}: discard not supported`);
    const bad = this.check(sector, count);
    if (bad !== null) return err(bad);
    return yield* this.recovering(() =>
      this.noData(() => this.ring.submitDiscard(sector, count, secure), 'discard'),
    );
  }

  private *noData(
    submit: () => ReturnType<BlkfrontRing['submitNoData']>,
    what: string,
  ): KThread<BlockResult<undefined> | typeof RESUBMIT> {
    if (!this.ring.canSubmit(0)) {
      yield* waitUntil(() => this.ring.canSubmit(0) || this.ring.broken !== null);
    }
    if (this.ring.broken !== null) return this.brokenResult();
    const t = submit();
    if (!t.ok) return err(`${this.name}: ${t.error}`);
    this.ring.push();
    const tickets = [t.value];
    if (!allDone(tickets)) yield waitFor(tickets);
    return this.outcome(tickets, what);
  }
}
