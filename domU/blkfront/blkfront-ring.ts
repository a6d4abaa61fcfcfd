// The request side of the block frontend (Linux drivers/block/xen-blkfront.c setup_blkring,
// blkif_queue_rw_req, blkif_interrupt, blkif_completion, with feature-persistent's idea of reusing
// granted pages): one shared ring page, a shadow entry per ring slot keyed by request id, and a pool
// of data pages granted to the backend once and reused. A request may instead carry the caller's own
// pages, granted for that request only and revoked at its completion (what Linux does with bio pages
// when grants are not persistent). No I/O of its own: grants, pages and the event channel come in
// through BlkfrontIo, so tests drive it with plain memory.

import {
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_DISCARD,
  BLKIF_OP_READ,
  BLKIF_REQ_ID_OFF,
  BLKIF_REQ_NR_SEGMENTS_OFF,
  BLKIF_REQ_OPERATION_OFF,
  BLKIF_REQ_SECTOR_NUMBER_OFF,
  BLKIF_REQ_SEG_OFF,
  BLKIF_REQUEST_BYTES,
  BLKIF_RING_ENTRY_BYTES,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_ID_OFF,
  BLKIF_RSP_OKAY,
  BLKIF_RSP_STATUS_OFF,
  BLKIF_SECTOR_BYTES,
  BLKIF_SECTORS_PER_PAGE,
  BLKIF_SEGMENT_BYTES,
  writeBlkifRequest,
  writeBlkifRequestDiscard,
} from '../../hypercalls/io/blkif.js';
import { FrontRing, sharedRingInit, type IoResult } from '../../hypercalls/io/ring.js';
import { PAGE_SIZE } from '../../hypercalls/types.js';
import type { FrontendIo } from '../xenbus/frontend-io.js';

/** Sectors one request carries: 11 full pages. */
export const SECTORS_PER_REQUEST = BLKIF_MAX_SEGMENTS_PER_REQUEST * BLKIF_SECTORS_PER_PAGE;

/** What the ring needs from the guest kernel. */
export type BlkfrontIo = FrontendIo;

interface DataPage {
  readonly pfn: number;
  readonly ref: number;
}

/** Not a blkif status: a request the old ring never answered, to be issued again after a resume. */
export const BLKIF_RSP_RESUBMIT = -0x100;

/** One request in flight (blk_shadow). */
export interface BlkTicket {
  readonly operation: number;
  done: boolean;
  /** BLKIF_RSP_* once done. */
  status: number;
  /** For pool-page reads: where the data goes when the response arrives. */
  readonly dst: Uint8Array | undefined;
  /** Pool pages carrying the data (given back at completion). */
  pages: DataPage[];
  /** Refs granting the caller's own pages for this request only (ended at completion). */
  refs: number[];
}

const NO_PAGES: DataPage[] = [];
const NO_REFS: number[] = [];

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
  /** The slot offset claimSlot found. */
  private claimedOff = 0;
  /** ids[i]: BigInt(i), the id of shadow slot i. */
  private readonly ids: bigint[] = [];

  private constructor(io: BlkfrontIo, ring: FrontRing, ringPfn: number, ringRef: number) {
    this.io = io;
    this.ring = ring;
    this.ringPfn = ringPfn;
    this.ringRef = ringRef;
    this.shadow = new Array<BlkTicket | undefined>(ring.size).fill(undefined);
    for (let i = ring.size - 1; i >= 0; i--) this.freeIds.push(i);
    for (let i = 0; i < ring.size; i++) this.ids.push(BigInt(i));
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
        for (const q of pages) this.pool.push(q);
        return { ok: false, error: 'blkfront: no data pages' };
      }
      pages.push(p);
    }
    if (operation !== BLKIF_OP_READ && data) {
      for (let i = 0; i < nseg; i++) {
        const secs = Math.min(BLKIF_SECTORS_PER_PAGE, nsec - i * BLKIF_SECTORS_PER_PAGE);
        const v = this.io.writableView((pages[i] as DataPage).pfn);
        const from = i * PAGE_SIZE;
        v?.set(data.subarray(from, from + secs * BLKIF_SECTOR_BYTES));
      }
    }
    const ticket: BlkTicket = {
      operation,
      done: false,
      status: BLKIF_RSP_OKAY,
      dst: operation === BLKIF_OP_READ ? data : undefined,
      pages,
      refs: NO_REFS,
    };
    return this.queueRw(ticket, sector, nsec);
  }

  /** Requests that can be queued now carrying the caller's own pages (a ring slot is all they need). */
  canSubmitDirect(): boolean {
    return this.broken === null && this.freeIds.length > 0 && !this.ring.full();
  }

  /**
   * blkif_queue_rw_req over the caller's pages (Linux without persistent grants: each bio page is
   * granted to the backend for this request, read-only for a write as blkif_queue_request's
   * `readonly = rq_data_dir(req)` did, and access ends when the response arrives). `nsec` sectors
   * (<= SECTORS_PER_REQUEST) at `sector` go to or come from pfns[first], pfns[first + 1], ...,
   * 8 sectors a page from offset 0. No byte is copied here.
   */
  submitPages(
    operation: number,
    sector: number,
    nsec: number,
    pfns: readonly number[],
    first: number,
  ): IoResult<BlkTicket> {
    const nseg = Math.ceil(nsec / BLKIF_SECTORS_PER_PAGE);
    if (nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST)
      return { ok: false, error: 'blkfront: too many sectors' };
    if (first < 0 || first + nseg > pfns.length)
      return { ok: false, error: `blkfront: ${nsec} sectors need ${nseg} pages` };
    if (!this.canSubmitDirect()) return { ok: false, error: 'blkfront: ring full' };
    const readonly = operation !== BLKIF_OP_READ;
    const refs: number[] = [];
    for (let i = 0; i < nseg; i++) {
      const pfn = pfns[first + i] as number;
      const mfn = this.io.pfnToMfn(pfn);
      const ref = mfn < 0 ? -1 : this.io.grantAccess(mfn, readonly);
      if (ref < 0) {
        for (const r of refs) this.io.endAccess(r);
        return { ok: false, error: `blkfront: granting page ${pfn} to the backend: ${ref}` };
      }
      refs.push(ref);
    }
    const ticket: BlkTicket = {
      operation,
      done: false,
      status: BLKIF_RSP_OKAY,
      dst: undefined,
      pages: NO_PAGES,
      refs,
    };
    return this.queueRw(ticket, sector, nsec);
  }

  /**
   * Queues the read/write request of `ticket` (its pages in order, 8 sectors each from offset 0),
   * filling the slot in place as Linux fills RING_GET_REQUEST: the 112 bytes zeroed, then
   * operation, nr_segments, handle 0, id, sector_number and the segments at blkif.h's offsets (the
   * bytes writeBlkifRequest would write; a test pins it).
   */
  private queueRw(ticket: BlkTicket, sector: number, nsec: number): IoResult<BlkTicket> {
    const id = this.claimSlot();
    if (id < 0) {
      this.release(ticket);
      return { ok: false, error: 'blkfront: ring full' };
    }
    const off = this.claimedOff;
    const pages = ticket.pages;
    const refs = ticket.refs;
    const nseg = pages.length + refs.length;
    const v = this.ring.view;
    // Word stores: TypedArray.fill costs more than the 28 stores for a 112-byte slot.
    for (let b = 0; b < BLKIF_REQUEST_BYTES; b += 4) v.setUint32(off + b, 0, true);
    v.setUint8(off + BLKIF_REQ_OPERATION_OFF, ticket.operation);
    v.setUint8(off + BLKIF_REQ_NR_SEGMENTS_OFF, nseg);
    v.setUint32(off + BLKIF_REQ_ID_OFF, id, true);
    v.setUint32(off + BLKIF_REQ_SECTOR_NUMBER_OFF, sector % 0x1_0000_0000, true);
    v.setUint32(off + BLKIF_REQ_SECTOR_NUMBER_OFF + 4, Math.floor(sector / 0x1_0000_0000), true);
    for (let i = 0; i < nseg; i++) {
      const so = off + BLKIF_REQ_SEG_OFF + i * BLKIF_SEGMENT_BYTES;
      const ref =
        i < pages.length ? (pages[i] as DataPage).ref : (refs[i - pages.length] as number);
      v.setUint32(so, ref, true);
      v.setUint8(so + 5, Math.min(BLKIF_SECTORS_PER_PAGE, nsec - i * BLKIF_SECTORS_PER_PAGE) - 1);
    }
    return this.queued(ticket, id);
  }

  /** A request with no data (FLUSH_DISKCACHE or WRITE_BARRIER with 0 segments). */
  submitNoData(operation: number, sector = 0): IoResult<BlkTicket> {
    if (!this.canSubmit(0)) return { ok: false, error: 'blkfront: ring full' };
    const ticket: BlkTicket = {
      operation,
      done: false,
      status: 0,
      dst: undefined,
      pages: NO_PAGES,
      refs: NO_REFS,
    };
    return this.queue(ticket, (off, id) =>
      writeBlkifRequest(this.ring.view, off, {
        operation,
        handle: 0,
        id: this.ids[id] as bigint,
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
      pages: NO_PAGES,
      refs: NO_REFS,
    };
    return this.queue(ticket, (off, id) =>
      writeBlkifRequestDiscard(this.ring.view, off, {
        flag: secure ? 1 : 0,
        handle: 0,
        id: this.ids[id] as bigint,
        sector_number: BigInt(sector),
        nr_sectors: BigInt(nsec),
      }),
    );
  }

  /** A free request id and the next slot (left in claimedOff), or -1 when the ring is full. */
  private claimSlot(): number {
    if (this.freeIds.length === 0 || this.ring.full()) return -1;
    const off = this.ring.produceRequest();
    if (!off.ok) return -1;
    this.claimedOff = off.value;
    return this.freeIds.pop() as number;
  }

  /** A request written by `write` into a claimed slot. */
  private queue(
    ticket: BlkTicket,
    write: (off: number, id: number) => IoResult<undefined>,
  ): IoResult<BlkTicket> {
    const id = this.claimSlot();
    if (id < 0) {
      this.release(ticket);
      return { ok: false, error: 'blkfront: ring full' };
    }
    const w = write(this.claimedOff, id);
    if (!w.ok) {
      // Cannot happen for values we built; the device is unusable if it does.
      this.freeIds.push(id);
      this.broken = `blkfront: ${w.error}`;
      return w;
    }
    return this.queued(ticket, id);
  }

  private queued(ticket: BlkTicket, id: number): IoResult<BlkTicket> {
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
        // The response's id (u64, ours: a shadow index) and status, read in place at blkif.h's offsets.
        const v = this.ring.view;
        const at = r.value;
        const id = v.getUint32(at + BLKIF_RSP_ID_OFF, true);
        const high = v.getUint32(at + BLKIF_RSP_ID_OFF + 4, true);
        const t = high === 0 && id < this.shadow.length ? this.shadow[id] : undefined;
        if (!t) {
          const raw = v.getBigUint64(at + BLKIF_RSP_ID_OFF, true);
          return this.fail(`blkfront: response for unknown id ${raw}`);
        }
        this.shadow[id] = undefined;
        this.freeIds.push(id);
        this.complete(t, v.getInt16(at + BLKIF_RSP_STATUS_OFF, true));
      }
    } while (this.ring.finalCheckForResponses());
  }

  /** blkif_completion: copies a pool-page read out, or ends access to the caller's pages. */
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
    // Linux (since XSA-396) will not hand a page back while the backend still maps it: the
    // request fails and the device is unusable ("backend has not unmapped grant").
    const stuck = this.release(t);
    if (stuck >= 0) t.status = BLKIF_RSP_ERROR;
    t.done = true;
    if (stuck >= 0) this.fail(`blkfront: backend has not unmapped grant ${stuck}`);
  }

  /**
   * Gives a request's pages back: pool pages to the pool, the caller's pages by ending their
   * grants. Returns a ref the backend still maps (its end is deferred), or -1.
   */
  private release(t: BlkTicket): number {
    const pages = t.pages;
    const refs = t.refs;
    t.pages = NO_PAGES;
    t.refs = NO_REFS;
    for (let i = 0; i < pages.length; i++) this.pool.push(pages[i] as DataPage);
    let stuck = -1;
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i] as number;
      if (!this.io.endAccess(ref)) stuck = ref;
    }
    return stuck;
  }

  private fail(error: string): void {
    this.broken = error;
    for (const t of this.shadow) {
      if (t && !t.done) {
        t.status = -1;
        t.done = true;
        this.release(t);
      }
    }
  }

  /**
   * The domain was migrated or restored (blkfront_resume): the old backend, grants and port are gone
   * with the old domain. Every request in flight is marked for resubmission (blkif_recover re-queues
   * them on the new ring); the ring's pages go back to the allocator unended, since their grants
   * died with the old grant table.
   */
  abandon(): void {
    this.broken = 'blkfront: suspended for migration';
    for (const t of this.shadow) {
      if (t && !t.done) {
        t.status = BLKIF_RSP_RESUBMIT;
        t.done = true;
        t.pages = NO_PAGES;
        t.refs = NO_REFS;
      }
    }
    for (const p of this.pool.splice(0)) this.io.freePage(p.pfn);
    this.poolSize = 0;
    this.io.freePage(this.ringPfn);
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
