// The request side of the block frontend (Linux drivers/block/xen-blkfront.c setup_blkring,
// blkif_queue_rw_req, blkif_interrupt, with feature-persistent's idea of reusing granted pages): one
// shared ring page, a shadow entry per ring slot keyed by request id, and a pool of data pages
// granted to the backend once and reused. No I/O of its own: grants, pages and the event channel
// come in through BlkfrontIo, so tests drive it with plain memory.

import {
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_DISCARD,
  BLKIF_OP_READ,
  BLKIF_RING_ENTRY_BYTES,
  BLKIF_RSP_OKAY,
  BLKIF_SECTOR_BYTES,
  BLKIF_SECTORS_PER_PAGE,
  readBlkifResponse,
  writeBlkifRequest,
  writeBlkifRequestDiscard,
  type BlkifSegment,
} from '../../hypercalls/io/blkif.js';
import { FrontRing, sharedRingInit, type IoResult } from '../../hypercalls/io/ring.js';
import { asGrantRef, PAGE_SIZE } from '../../hypercalls/types.js';

/** Sectors one request carries: 11 full pages. */
export const SECTORS_PER_REQUEST = BLKIF_MAX_SEGMENTS_PER_REQUEST * BLKIF_SECTORS_PER_PAGE;

/** What the ring needs from the guest kernel. */
export interface BlkfrontIo {
  /** A free pfn of the guest's own, or -1. */
  allocPage(): number;
  freePage(pfn: number): void;
  pfnToMfn(pfn: number): number;
  /** A view to write page `pfn` through (marks it dirty); not kept across a yield. */
  writableView(pfn: number): Uint8Array | undefined;
  /** A view to read page `pfn`. */
  view(pfn: number): Uint8Array | undefined;
  /** gnttab_grant_foreign_access to the backend domain: a ref, or negative. */
  grantAccess(mfn: number, readonly: boolean): number;
  /** gnttab_end_foreign_access_ref: false while the backend still maps it. */
  endAccess(ref: number): boolean;
  /** notify_remote_via_irq on the ring's event channel. */
  notify(): void;
}

interface DataPage {
  readonly pfn: number;
  readonly ref: number;
}

/** One request in flight (blk_shadow). */
export interface BlkTicket {
  readonly operation: number;
  done: boolean;
  /** BLKIF_RSP_* once done. */
  status: number;
  /** For reads: where the data goes when the response arrives. */
  readonly dst: Uint8Array | undefined;
  pages: DataPage[];
}

export class BlkfrontRing {
  readonly ring: FrontRing;
  readonly ringPfn: number;
  /** The ring page's grant ref (the `ring-ref` node). */
  readonly ringRef: number;
  /** Set when the backend broke the protocol; every waiter gives up. */
  broken: string | null = null;
  /** Requests and responses seen (metrics). */
  requests = 0;
  responses = 0;
  private readonly io: BlkfrontIo;
  private readonly shadow: (BlkTicket | undefined)[];
  private readonly freeIds: number[] = [];
  private readonly pool: DataPage[] = [];
  private poolSize = 0;
  private unpushed = 0;

  private constructor(io: BlkfrontIo, ring: FrontRing, ringPfn: number, ringRef: number) {
    this.io = io;
    this.ring = ring;
    this.ringPfn = ringPfn;
    this.ringRef = ringRef;
    this.shadow = new Array<BlkTicket | undefined>(ring.size).fill(undefined);
    for (let i = ring.size - 1; i >= 0; i--) this.freeIds.push(i);
  }

  /** setup_blkring: a zeroed page, SHARED_RING_INIT, FRONT_RING_INIT, granted writable to the backend. */
  static setup(io: BlkfrontIo): IoResult<BlkfrontRing> {
    const pfn = io.allocPage();
    if (pfn < 0) return { ok: false, error: 'blkfront: no page for the ring' };
    const bytes = io.writableView(pfn);
    if (!bytes) {
      io.freePage(pfn);
      return { ok: false, error: `blkfront: ring page ${pfn} has no frame` };
    }
    bytes.fill(0);
    const view = new DataView(bytes.buffer, bytes.byteOffset, PAGE_SIZE);
    sharedRingInit(view);
    const ring = FrontRing.attach(view, BLKIF_RING_ENTRY_BYTES);
    if (!ring.ok) {
      io.freePage(pfn);
      return ring;
    }
    const ref = io.grantAccess(io.pfnToMfn(pfn), false);
    if (ref < 0) {
      io.freePage(pfn);
      return { ok: false, error: `blkfront: granting the ring page: ${ref}` };
    }
    return { ok: true, value: new BlkfrontRing(io, ring.value, pfn, ref) };
  }

  /** Requests that can be queued now with `nseg` segments each (ring slots and data pages). */
  canSubmit(nseg: number): boolean {
    if (this.broken !== null || this.freeIds.length === 0 || this.ring.full()) return false;
    return this.pool.length >= nseg || this.poolSize + nseg - this.pool.length <= this.maxPool();
  }

  private maxPool(): number {
    return this.ring.size * BLKIF_MAX_SEGMENTS_PER_REQUEST;
  }

  /** A granted data page: from the pool, else a fresh one granted now. */
  private takePage(): DataPage | undefined {
    const p = this.pool.pop();
    if (p) return p;
    if (this.poolSize >= this.maxPool()) return undefined;
    const pfn = this.io.allocPage();
    if (pfn < 0) return undefined;
    const ref = this.io.grantAccess(this.io.pfnToMfn(pfn), false);
    if (ref < 0) {
      this.io.freePage(pfn);
      return undefined;
    }
    this.poolSize++;
    return { pfn, ref };
  }

  /**
   * blkif_queue_rw_req for `nsec` sectors (<= SECTORS_PER_REQUEST) at `sector`: data sits from
   * offset 0 of each segment page, 8 sectors a page. For a write `src` holds the bytes; for a
   * read the response's data is copied into `dst`. The request is pushed by `push()`.
   */
  submitRw(
    operation: number,
    sector: number,
    nsec: number,
    data: Uint8Array | undefined,
  ): IoResult<BlkTicket> {
    const nseg = Math.ceil(nsec / BLKIF_SECTORS_PER_PAGE);
    if (nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST)
      return { ok: false, error: 'blkfront: too many sectors' };
    if (!this.canSubmit(nseg)) return { ok: false, error: 'blkfront: ring full' };
    const pages: DataPage[] = [];
    for (let i = 0; i < nseg; i++) {
      const p = this.takePage();
      if (!p) {
        this.pool.push(...pages);
        return { ok: false, error: 'blkfront: no data pages' };
      }
      pages.push(p);
    }
    const seg: BlkifSegment[] = [];
    for (let i = 0; i < nseg; i++) {
      const page = pages[i] as DataPage;
      const secs = Math.min(BLKIF_SECTORS_PER_PAGE, nsec - i * BLKIF_SECTORS_PER_PAGE);
      if (operation !== BLKIF_OP_READ && data) {
        const v = this.io.writableView(page.pfn);
        const from = i * PAGE_SIZE;
        v?.set(data.subarray(from, from + secs * BLKIF_SECTOR_BYTES));
      }
      seg.push({ gref: asGrantRef(page.ref), first_sect: 0, last_sect: secs - 1 });
    }
    const ticket: BlkTicket = {
      operation,
      done: false,
      status: BLKIF_RSP_OKAY,
      dst: operation === BLKIF_OP_READ ? data : undefined,
      pages,
    };
    return this.queue(ticket, (off, id) =>
      writeBlkifRequest(this.ring.view, off, {
        operation,
        handle: 0,
        id: BigInt(id),
        sector_number: BigInt(sector),
        seg,
      }),
    );
  }

  /** A request with no data (FLUSH_DISKCACHE or WRITE_BARRIER with 0 segments). */
  submitNoData(operation: number, sector = 0): IoResult<BlkTicket> {
    if (!this.canSubmit(0)) return { ok: false, error: 'blkfront: ring full' };
    const ticket: BlkTicket = { operation, done: false, status: 0, dst: undefined, pages: [] };
    return this.queue(ticket, (off, id) =>
      writeBlkifRequest(this.ring.view, off, {
        operation,
        handle: 0,
        id: BigInt(id),
        sector_number: BigInt(sector),
        seg: [],
      }),
    );
  }

  /** blkif_queue_discard_req. */
  submitDiscard(sector: number, nsec: number, secure: boolean): IoResult<BlkTicket> {
    if (!this.canSubmit(0)) return { ok: false, error: 'blkfront: ring full' };
    const ticket: BlkTicket = {
      operation: BLKIF_OP_DISCARD,
      done: false,
      status: 0,
      dst: undefined,
      pages: [],
    };
    return this.queue(ticket, (off, id) =>
      writeBlkifRequestDiscard(this.ring.view, off, {
        flag: secure ? 1 : 0,
        handle: 0,
        id: BigInt(id),
        sector_number: BigInt(sector),
        nr_sectors: BigInt(nsec),
      }),
    );
  }

  private queue(
    ticket: BlkTicket,
    write: (off: number, id: number) => IoResult<undefined>,
  ): IoResult<BlkTicket> {
    const id = this.freeIds.pop();
    const off = this.ring.produceRequest();
    if (id === undefined || !off.ok) {
      if (id !== undefined) this.freeIds.push(id);
      this.pool.push(...ticket.pages);
      return { ok: false, error: 'blkfront: ring full' };
    }
    const w = write(off.value, id);
    if (!w.ok) {
      // Cannot happen for values we built; keep the slot consistent anyway with an empty flush.
      this.broken = `blkfront: ${w.error}`;
      return w;
    }
    this.shadow[id] = ticket;
    this.unpushed++;
    this.requests++;
    return { ok: true, value: ticket };
  }

  /** flush_requests: RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, then the event if the backend asked for one. */
  push(): void {
    if (this.unpushed === 0) return;
    this.unpushed = 0;
    if (this.ring.pushRequestsAndCheckNotify()) this.io.notify();
  }

  /** blkif_interrupt: takes every response, completes its shadow, final-checks before idling. */
  onEvent(): void {
    if (this.broken !== null) return;
    do {
      for (;;) {
        const r = this.ring.consumeResponse();
        if (!r.ok) return this.fail(r.error);
        if (r.value === undefined) break;
        const rsp = readBlkifResponse(this.ring.view, r.value);
        if (!rsp.ok) return this.fail(rsp.error);
        const id = rsp.value.id < BigInt(this.shadow.length) ? Number(rsp.value.id) : -1;
        const t = id >= 0 ? this.shadow[id] : undefined;
        if (!t) return this.fail(`blkfront: response for unknown id ${rsp.value.id}`);
        this.shadow[id] = undefined;
        this.freeIds.push(id);
        this.complete(t, rsp.value.status);
      }
    } while (this.ring.finalCheckForResponses());
  }

  private complete(t: BlkTicket, status: number): void {
    this.responses++;
    t.status = status;
    if (t.dst && status === BLKIF_RSP_OKAY) {
      for (let i = 0; i < t.pages.length; i++) {
        const from = i * PAGE_SIZE;
        const n = Math.min(PAGE_SIZE, t.dst.length - from);
        const v = this.io.view((t.pages[i] as DataPage).pfn);
        if (v) t.dst.set(n === PAGE_SIZE ? v : v.subarray(0, n), from);
      }
    }
    this.pool.push(...t.pages);
    t.pages = [];
    t.done = true;
  }

  private fail(error: string): void {
    this.broken = error;
    for (const t of this.shadow) {
      if (t && !t.done) {
        t.status = -1;
        t.done = true;
        this.pool.push(...t.pages);
        t.pages = [];
      }
    }
  }

  /** Requests still waiting for a response. */
  get inFlight(): number {
    return this.shadow.length - this.freeIds.length;
  }

  /**
   * blkif_free: fails what is in flight, ends access to the ring and data pages and frees them (a
   * page the backend still maps is leaked, as Linux leaks it rather than reuse a mapped page).
   */
  teardown(): void {
    if (this.broken === null) this.fail('blkfront: device closed');
    for (const p of this.pool.splice(0)) if (this.io.endAccess(p.ref)) this.io.freePage(p.pfn);
    this.poolSize = 0;
    if (this.io.endAccess(this.ringRef)) this.io.freePage(this.ringPfn);
  }
}
