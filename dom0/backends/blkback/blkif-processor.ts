// The request loop of the block backend (Linux drivers/block/xen-blkback/blkback.c do_block_io_op,
// __do_block_io_op, dispatch_rw_block_io, dispatch_discard_io, make_response), as a core with no
// I/O of its own: it takes the mapped ring page, a grant-copy function, bounce pages and a file,
// and returns how many responses it pushed, whether the frontend needs an event, and any fault.
//
// Every slot is copied out once before it is parsed (the frontend may rewrite it meanwhile) and
// parsed into results: nothing the frontend writes can throw. Data moves by grant copy between the
// frontend's granted pages and dom0's bounce pages, and between those and the file through one
// positional vector read or write per request. Like the block layer under Linux's
// blkback (blk_start_plug/blk_finish_plug around __do_block_io_op, then bio merging), reads queued
// back to back that continue each other on disk are served by one host read.

import {
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTST_okay,
  gntstMessage,
  type gnttab_copy,
} from '../../../hypercalls/grant-table.js';
import {
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_REQ_ID_OFF,
  BLKIF_REQ_NR_SEGMENTS_OFF,
  BLKIF_REQ_OPERATION_OFF,
  BLKIF_REQ_SECTOR_NUMBER_OFF,
  BLKIF_REQ_SEG_OFF,
  BLKIF_REQUEST_BYTES,
  BLKIF_RESPONSE_BYTES,
  BLKIF_RING_ENTRY_BYTES,
  BLKIF_RSP_ID_OFF,
  BLKIF_RSP_OPERATION_OFF,
  BLKIF_RSP_STATUS_OFF,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
  BLKIF_SECTOR_BYTES,
  BLKIF_SECTORS_PER_PAGE,
  BLKIF_SEGMENT_BYTES,
  checkBlkifRequest,
  readBlkifRequest,
  readBlkifRequestDiscard,
  type BlkifRequest,
} from '../../../hypercalls/io/blkif.js';
import { BackRing, type IoResult } from '../../../hypercalls/io/ring.js';
import { PAGE_SIZE } from '../../../hypercalls/types.js';
import { DOMID_SELF } from '../../../hypercalls/xen.js';
import type { LocalPage } from '../platform.js';
import { newBlkbackMetrics, type BlkbackMetrics } from './metrics.js';

import type {
  BlkifDisk,
  BlkifProcessorDeps,
  GrantCopyFn,
  ProcessOutcome,
} from './blkif-processor-types.js';

export type { BlkifDisk, BlkifProcessorDeps, GrantCopyFn, ProcessOutcome };

/** What one request came to: a response status, and a fault when the frontend misbehaved. */
interface Handled {
  status: number;
  fault: string | null;
}

const RSP_OKAY: Handled = { status: BLKIF_RSP_OKAY, fault: null };
const RSP_ERROR: Handled = { status: BLKIF_RSP_ERROR, fault: null };
const RSP_EOPNOTSUPP: Handled = { status: BLKIF_RSP_EOPNOTSUPP, fault: null };
/** The outcome for a status (shared objects: the hot path allocates none). */
const done = (status: number): Handled =>
  status === BLKIF_RSP_OKAY ? RSP_OKAY : status === BLKIF_RSP_ERROR ? RSP_ERROR : RSP_EOPNOTSUPP;
const faulted = (fault: string): Handled => ({ status: BLKIF_RSP_ERROR, fault });

/** Requests merged into one host read at most (4 x 44 KiB, within Linux's default max_sectors_kb). */
const MERGE_MAX = 4;
/** Segments of a full merged read. */
const MERGE_SEGS = MERGE_MAX * BLKIF_MAX_SEGMENTS_PER_REQUEST;
/** Bounce pages that let a whole merged read go through one GNTTABOP_copy. */
export const BLKIF_BOUNCE_PAGES = MERGE_SEGS;

const LAST_SECT = BLKIF_SECTORS_PER_PAGE - 1;
/** 2^53 / 2^32: a sector_number whose high word reaches this is left to the BigInt parser. */
const SAFE_HIGH_WORD = 0x20_0000;

export class BlkifProcessor {
  readonly ring: BackRing;
  readonly metrics: BlkbackMetrics;
  private readonly deps: BlkifProcessorDeps;
  private readonly ringBytes: Uint8Array;
  /** Private copies of the slots being handled (one per request of a merged read). */
  private readonly slots: Uint8Array[] = [];
  private readonly slotViews: DataView[] = [];
  /**
   * The reads of a merged read, scanned straight from their private slots (no objects): for slot k
   * its first sector, segment count and sector count; segment j of the plug (all slots' segments
   * in order) in runGref/runFirst/runLast.
   */
  private readonly plugSector = new Float64Array(MERGE_MAX);
  private readonly plugNseg = new Uint8Array(MERGE_MAX);
  private readonly plugSectors = new Uint16Array(MERGE_MAX);
  private readonly runGref = new Uint32Array(MERGE_SEGS);
  private readonly runFirst = new Uint8Array(MERGE_SEGS);
  private readonly runLast = new Uint8Array(MERGE_SEGS);
  /** Reused GNTTABOP_copy ops, one per segment, with their `u` unions for each side. */
  private readonly ops: gnttab_copy[] = [];
  private readonly localU: { gmfn: number }[] = [];
  private readonly remoteU: { ref: number }[] = [];
  /**
   * The file side of a request: one preadv/pwritev straight into or out of the bounce pages, each
   * segment's piece at its in-page offset (the pieces the grant copies use), so no bytes pass
   * through an intermediate buffer. Machine frames start off page alignment in host memory
   * (frame-store.ts), which keeps the host kernel's copy into them at full speed.
   */
  private readonly iov: Uint8Array[] = [];
  /**
   * spans[c]: one view over bounce pages 0..c-1 when they follow each other in host memory (as
   * dom0's allocation gives them), so a read of whole pages is one plain pread into one buffer.
   */
  private readonly spans: (Uint8Array | undefined)[] = [];
  /** ringSlots[i]: the request bytes of ring entry i in the shared page (views made once). */
  private readonly ringSlots: Uint8Array[] = [];
  /** Set once a fault was found: the ring is never read again. */
  private dead: string | null = null;

  private constructor(ring: BackRing, ringBytes: Uint8Array, deps: BlkifProcessorDeps) {
    this.ring = ring;
    this.ringBytes = ringBytes;
    this.deps = deps;
    this.metrics = deps.metrics ?? newBlkbackMetrics();
    for (let k = 0; k < MERGE_MAX; k++) {
      const slot = new Uint8Array(BLKIF_REQUEST_BYTES);
      this.slots.push(slot);
      this.slotViews.push(new DataView(slot.buffer));
    }
    for (let i = 0; i < ring.size; i++) {
      const off = ring.slotOffset(i);
      this.ringSlots.push(ringBytes.subarray(off, off + BLKIF_REQUEST_BYTES));
    }
    const b0 = deps.bounce[0]?.bytes;
    for (let c = 1; b0 !== undefined && c <= deps.bounce.length; c++) {
      const b = (deps.bounce[c - 1] as LocalPage).bytes;
      if (b.buffer !== b0.buffer || b.byteOffset !== b0.byteOffset + (c - 1) * PAGE_SIZE) break;
      this.spans[c] = new Uint8Array(b0.buffer, b0.byteOffset, c * PAGE_SIZE);
    }
    for (let i = 0; i < MERGE_SEGS; i++) {
      this.ops.push({
        source: { u: {}, domid: 0, offset: 0 },
        dest: { u: {}, domid: 0, offset: 0 },
        len: 0,
        flags: 0,
      });
      this.localU.push({ gmfn: 0 });
      this.remoteU.push({ ref: 0 });
    }
  }

  /** BACK_RING_ATTACH over the mapped ring page (the frontend initialised it). */
  static attach(ringPage: Uint8Array, deps: BlkifProcessorDeps): IoResult<BlkifProcessor> {
    if (deps.bounce.length < BLKIF_MAX_SEGMENTS_PER_REQUEST) {
      return { ok: false, error: `blkback: ${deps.bounce.length} bounce pages, need 11` };
    }
    const view = new DataView(ringPage.buffer, ringPage.byteOffset, ringPage.byteLength);
    const ring = BackRing.attach(view, BLKIF_RING_ENTRY_BYTES);
    if (!ring.ok) return ring;
    return { ok: true, value: new BlkifProcessor(ring.value, ringPage, deps) };
  }

  /** The fault that stopped this ring, if any. */
  get fault(): string | null {
    return this.dead;
  }

  /**
   * do_block_io_op: handles waiting requests (at most `budget`), pushes their responses, and before
   * going idle runs RING_FINAL_CHECK_FOR_REQUESTS so a request pushed meanwhile is not missed.
   */
  process(budget = Number.POSITIVE_INFINITY): ProcessOutcome {
    const out: ProcessOutcome = { responses: 0, notify: false, more: false, fault: this.dead };
    if (this.dead !== null) return out;
    let left = budget;
    for (;;) {
      while (left > 0) {
        const next = this.ring.consumeRequest();
        if (!next.ok) return this.stop(out, next.error);
        if (next.value === undefined) break;
        left--;
        this.load(0, next.value);
        const n = this.plug(left);
        if (n > 0) {
          left -= n - 1;
          const fault = this.mergedRead(out, n);
          if (fault !== null) return this.stop(out, fault);
          continue;
        }
        const h = this.handle();
        if (!this.respond(out, h.status, 0)) return this.stop(out, 'blkback: response slot lost');
        if (h.fault !== null) return this.stop(out, h.fault);
      }
      this.push(out);
      if (left <= 0) {
        out.more = this.ring.unconsumedRequests() > 0;
        return out;
      }
      if (!this.ring.finalCheckForRequests()) return out;
    }
  }

  private stop(out: ProcessOutcome, fault: string): ProcessOutcome {
    this.dead = fault;
    this.push(out);
    out.fault = fault;
    return out;
  }

  private push(out: ProcessOutcome): void {
    if (this.ring.pushResponsesAndCheckNotify()) out.notify = true;
  }

  /**
   * make_response: fills the response slot in place (as Linux does through RING_GET_RESPONSE): its
   * 16 bytes zeroed, then the id and operation of the private copy of the request in slot `k`, and
   * the status, at blkif.h's offsets (the bytes writeBlkifResponse would write; a test pins it).
   */
  private respond(out: ProcessOutcome, status: number, k: number): boolean {
    const off = this.ring.produceResponse();
    if (!off.ok) return false;
    const at = off.value;
    const v = this.ring.view;
    const req = this.slotViews[k] as DataView;
    for (let b = 0; b < BLKIF_RESPONSE_BYTES; b += 4) v.setUint32(at + b, 0, true);
    v.setUint32(at + BLKIF_RSP_ID_OFF, req.getUint32(BLKIF_REQ_ID_OFF, true), true);
    v.setUint32(at + BLKIF_RSP_ID_OFF + 4, req.getUint32(BLKIF_REQ_ID_OFF + 4, true), true);
    v.setUint8(at + BLKIF_RSP_OPERATION_OFF, req.getUint8(BLKIF_REQ_OPERATION_OFF));
    v.setInt16(at + BLKIF_RSP_STATUS_OFF, status, true);
    if (status !== BLKIF_RSP_OKAY) this.metrics.errorResponses++;
    out.responses++;
    return true;
  }

  /** Copies the request slot at `off` into private slot `k` (read once: the frontend may rewrite it). */
  private load(k: number, off: number): void {
    const entry = (off - this.ring.slotOffset(0)) / BLKIF_RING_ENTRY_BYTES;
    const shared = this.ringSlots[entry] ?? this.ringBytes.subarray(off, off + BLKIF_REQUEST_BYTES);
    (this.slots[k] as Uint8Array).set(shared);
  }

  /**
   * Scans private slot `k` as a read the merged path serves, straight from its bytes: READ with
   * 1..11 segments, each within its page, together one run on disk (each segment but the last ends
   * its page, each but the first starts one), all within the disk. Its segments go to the run
   * arrays from `base`. Returns its sector count, or -1: anything else (a fault included) is left
   * to the full parser in handle(), so the answers are the same.
   */
  private scanRead(k: number, base: number): number {
    const v = this.slotViews[k] as DataView;
    if (v.getUint8(BLKIF_REQ_OPERATION_OFF) !== BLKIF_OP_READ) return -1;
    const nseg = v.getUint8(BLKIF_REQ_NR_SEGMENTS_OFF);
    if (nseg < 1 || nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST) return -1;
    let n = 0;
    for (let i = 0; i < nseg; i++) {
      const so = BLKIF_REQ_SEG_OFF + i * BLKIF_SEGMENT_BYTES;
      const first = v.getUint8(so + 4);
      const last = v.getUint8(so + 5);
      if (last > LAST_SECT || first > last) return -1;
      if ((i > 0 && first !== 0) || (i + 1 < nseg && last !== LAST_SECT)) return -1;
      this.runGref[base + i] = v.getUint32(so, true);
      this.runFirst[base + i] = first;
      this.runLast[base + i] = last;
      n += last - first + 1;
    }
    const high = v.getUint32(BLKIF_REQ_SECTOR_NUMBER_OFF + 4, true);
    if (high >= SAFE_HIGH_WORD) return -1;
    const sector = high * 0x1_0000_0000 + v.getUint32(BLKIF_REQ_SECTOR_NUMBER_OFF, true);
    if (sector + n > this.deps.disk.sectors) return -1;
    this.plugSector[k] = sector;
    this.plugNseg[k] = nseg;
    this.plugSectors[k] = n;
    return n;
  }

  /**
   * The plug: with a read the merged path serves in slot 0, takes the reads queued right behind it
   * that continue it on disk (at most MERGE_MAX, within the budget and the bounce pages). Returns how many requests were
   * gathered (served by mergedRead, a lone read too); 0 when slot 0 is not such a read.
   */
  private plug(left: number): number {
    if (this.scanRead(0, 0) < 0) return 0;
    let n = 1;
    let segs = this.plugNseg[0] as number;
    let end = (this.plugSector[0] as number) + (this.plugSectors[0] as number);
    while (n < MERGE_MAX && left >= n && this.ring.unconsumedRequests() > 0) {
      if (this.runLast[segs - 1] !== LAST_SECT) break;
      this.load(n, this.ring.slotOffset(this.ring.reqCons));
      if (this.scanRead(n, segs) < 0 || this.plugSector[n] !== end || this.runFirst[segs] !== 0)
        break;
      // The whole plug goes through the bounce pages at once (a lone read always fits: attach
      // asks for 11).
      if (segs + (this.plugNseg[n] as number) > this.deps.bounce.length) break;
      const c = this.ring.consumeRequest();
      if (!c.ok || c.value === undefined) break;
      segs += this.plugNseg[n] as number;
      end += this.plugSectors[n] as number;
      n++;
    }
    return n;
  }

  /**
   * Serves the `n` plugged reads (one or more; the plug took no more than the bounce pages hold)
   * with one host read into the bounce pages and one GNTTABOP_copy batch into the frontend's pages.
   * Then the responses in order; a failed host read answers them all with an error, a failed copy
   * answers its request with an error and is a fault. Returns the fault.
   */
  private mergedRead(out: ProcessOutcome, n: number): string | null {
    const m = this.metrics;
    m.readReqs += n;
    let segs = 0;
    for (let k = 0; k < n; k++) segs += this.plugNseg[k] as number;
    if (!this.readRun(segs, this.plugSector[0] as number)) {
      for (let k = 0; k < n; k++) {
        if (!this.respond(out, BLKIF_RSP_ERROR, k)) return 'blkback: response slot lost';
      }
      return null;
    }
    const rc = this.issueCopies(segs);
    if (rc !== null) return this.failPlug(out, 0, rc);
    let base = 0;
    for (let k = 0; k < n; k++) {
      const nseg = this.plugNseg[k] as number;
      for (let i = 0; i < nseg; i++) {
        const op = this.ops[base + i] as gnttab_copy;
        if (op.status !== GNTST_okay) {
          this.respond(out, BLKIF_RSP_ERROR, k);
          const ref = this.runGref[base + i] as number;
          return `blkback: grant copy of seg[${i}] gref ${ref}: ${gntstMessage(op.status ?? -1)}`;
        }
      }
      m.sectorsRead += this.plugSectors[k] as number;
      if (!this.respond(out, BLKIF_RSP_OKAY, k)) return 'blkback: response slot lost';
      base += nseg;
    }
    return null;
  }

  /** The copy hypercall itself failed: request `k` of the plug gets an error; a fault. */
  private failPlug(out: ProcessOutcome, k: number, fault: string): string {
    this.respond(out, BLKIF_RSP_ERROR, k);
    return fault;
  }

  /**
   * Segments 0..count-1 of the plug (on disk from `sector`): one preadv into bounce pages
   * 0..count-1, each at its segment's in-page offset, and the GNTTABOP_copy ops that take them on
   * to the frontend's granted pages. False when the host read failed.
   */
  private readRun(count: number, sector: number): boolean {
    const bounce = this.deps.bounce;
    const fe = this.deps.frontendDomid;
    for (let j = 0; j < count; j++) {
      const first = this.runFirst[j] as number;
      const len = ((this.runLast[j] as number) - first + 1) * BLKIF_SECTOR_BYTES;
      const page = bounce[j] as LocalPage;
      this.setCopy(
        j,
        page.gmfn,
        this.runGref[j] as number,
        first * BLKIF_SECTOR_BYTES,
        len,
        false,
        fe,
      );
    }
    const file = this.deps.disk.file;
    const pos = sector * BLKIF_SECTOR_BYTES;
    // The plug's segments are one run on disk (scanRead): whole pages when the first starts its
    // page and the last ends its own.
    const whole = this.runFirst[0] === 0 && this.runLast[count - 1] === LAST_SECT;
    const span = whole ? this.spans[count] : undefined;
    if (span !== undefined) return file.readAt(span, pos).ok;
    const iov = this.iov;
    iov.length = 0;
    for (let j = 0; j < count; j++) {
      const bytes = (bounce[j] as LocalPage).bytes;
      const from = (this.runFirst[j] as number) * BLKIF_SECTOR_BYTES;
      const to = ((this.runLast[j] as number) + 1) * BLKIF_SECTOR_BYTES;
      iov.push(from === 0 && to === PAGE_SIZE ? bytes : bytes.subarray(from, to));
    }
    return file.readvAt(iov, pos).ok;
  }

  private handle(): Handled {
    const slot = this.slots[0] as Uint8Array;
    const slotView = this.slotViews[0] as DataView;
    const op = slot[0] ?? 0;
    if (op === BLKIF_OP_DISCARD) return this.discard();
    const parsed = readBlkifRequest(slotView, 0);
    if (!parsed.ok) return faulted(parsed.error);
    // DEVIATION(xen): Linux answers an unknown operation with EOPNOTSUPP and an INDIRECT request
    // (not advertised) with an error, keeping the device; xensim also closes the device, as the
    // issue asks of a frontend that breaks the protocol.
    const checked = checkBlkifRequest(parsed.value);
    if (!checked.ok) return faulted(`blkback: ${checked.error}`);
    const req = checked.value;
    switch (op) {
      case BLKIF_OP_READ:
        return this.readWrite(req, false);
      case BLKIF_OP_WRITE:
        return this.readWrite(req, true);
      case BLKIF_OP_FLUSH_DISKCACHE:
      case BLKIF_OP_WRITE_BARRIER:
        return this.flush(req, op === BLKIF_OP_WRITE_BARRIER);
      default:
        return faulted(`blkback: operation ${op} not handled`);
    }
  }

  /** Sectors covered by the segments, or -1 past the end of the disk (not a fault: an error reply). */
  private span(req: BlkifRequest): number {
    let n = 0;
    for (const s of req.seg) n += s.last_sect - s.first_sect + 1;
    const end = req.sector_number + BigInt(n);
    return end > BigInt(this.deps.disk.sectors) ? -1 : n;
  }

  private readWrite(req: BlkifRequest, write: boolean): Handled {
    const m = this.metrics;
    if (write) m.writeReqs++;
    else m.readReqs++;
    // dispatch_rw_block_io: a write to a read-only vbd is refused before any grant is touched.
    if (write && this.deps.disk.readOnly) return done(BLKIF_RSP_ERROR);
    const n = this.span(req);
    if (n < 0) return done(BLKIF_RSP_ERROR);
    if (write) {
      const c = this.copySegments(req, true);
      if (c !== null) return faulted(c);
      const f = this.fileIo(req, true);
      if (f !== null) return done(BLKIF_RSP_ERROR);
      m.sectorsWritten += n;
      return done(BLKIF_RSP_OKAY);
    }
    const f = this.fileIo(req, false);
    if (f !== null) return done(BLKIF_RSP_ERROR);
    const c = this.copySegments(req, false);
    if (c !== null) return faulted(c);
    m.sectorsRead += n;
    return done(BLKIF_RSP_OKAY);
  }

  /** FLUSH_DISKCACHE (and WRITE_BARRIER, a flush on both sides of its data): fsync, as REQ_PREFLUSH|REQ_FUA. */
  private flush(req: BlkifRequest, barrier: boolean): Handled {
    this.metrics.flushReqs++;
    const disk = this.deps.disk;
    if (barrier ? !disk.barrier : !disk.flushCache) return done(BLKIF_RSP_EOPNOTSUPP);
    if (req.nr_segments > 0) {
      if (disk.readOnly) return done(BLKIF_RSP_ERROR);
      const n = this.span(req);
      if (n < 0) return done(BLKIF_RSP_ERROR);
      if (barrier && !disk.file.flush().ok) return done(BLKIF_RSP_ERROR);
      const c = this.copySegments(req, true);
      if (c !== null) return faulted(c);
      if (this.fileIo(req, true) !== null) return done(BLKIF_RSP_ERROR);
      this.metrics.sectorsWritten += n;
    }
    return done(disk.file.flush().ok ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR);
  }

  /** dispatch_discard_io. */
  private discard(): Handled {
    this.metrics.discardReqs++;
    const d = readBlkifRequestDiscard(this.slotViews[0] as DataView, 0);
    if (!d.ok) return faulted(d.error);
    const disk = this.deps.disk;
    if (!disk.discard) return done(BLKIF_RSP_EOPNOTSUPP);
    if (disk.readOnly) return done(BLKIF_RSP_ERROR);
    const end = d.value.sector_number + d.value.nr_sectors;
    if (end > BigInt(disk.sectors)) return done(BLKIF_RSP_ERROR);
    const r = disk.file.discard(
      Number(d.value.sector_number) * BLKIF_SECTOR_BYTES,
      Number(d.value.nr_sectors) * BLKIF_SECTOR_BYTES,
    );
    return done(r.ok ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR);
  }

  /**
   * One GNTTABOP_copy batch for the request's segments: frontend pages into bounce pages for a
   * write, bounce pages into frontend pages for a read. Segment i uses bounce page i at the same
   * offset, so the data of a segment sits where it sits in the frontend's page. Returns a fault.
   */
  private copySegments(req: BlkifRequest, fromFrontend: boolean): string | null {
    const fe = this.deps.frontendDomid;
    const nseg = req.seg.length;
    for (let i = 0; i < nseg; i++) {
      const s = req.seg[i] as BlkifRequest['seg'][number];
      const offset = s.first_sect * BLKIF_SECTOR_BYTES;
      const len = (s.last_sect - s.first_sect + 1) * BLKIF_SECTOR_BYTES;
      const gmfn = (this.deps.bounce[i] as LocalPage).gmfn;
      this.setCopy(i, gmfn, s.gref, offset, len, fromFrontend, fe);
    }
    const rc = this.issueCopies(nseg);
    if (rc !== null) return rc;
    for (let i = 0; i < nseg; i++) {
      const st = (this.ops[i] as gnttab_copy).status;
      if (st !== GNTST_okay) {
        const ref = (req.seg[i] as BlkifRequest['seg'][number]).gref;
        return `blkback: grant copy of seg[${i}] gref ${ref}: ${gntstMessage(st ?? -1)}`;
      }
    }
    return null;
  }

  /** Fills reused op `i`: dom0's frame `gmfn` and the frontend's `gref`, same offset both sides. */
  private setCopy(
    i: number,
    gmfn: number,
    gref: number,
    offset: number,
    len: number,
    fromFrontend: boolean,
    fe: number,
  ): void {
    const op = this.ops[i] as gnttab_copy;
    const local = fromFrontend ? op.dest : op.source;
    const remote = fromFrontend ? op.source : op.dest;
    const lu = this.localU[i] as { gmfn: number };
    lu.gmfn = gmfn;
    local.u = lu;
    local.domid = DOMID_SELF;
    local.offset = offset;
    const ru = this.remoteU[i] as { ref: number };
    ru.ref = gref;
    remote.u = ru;
    remote.domid = fe;
    remote.offset = offset;
    op.len = len;
    op.flags = fromFrontend ? GNTCOPY_source_gref : GNTCOPY_dest_gref;
    op.status = 1;
  }

  /** GNTTABOP_copy of ops 0..count-1; a fault when the hypercall itself fails (each op has its status). */
  private issueCopies(count: number): string | null {
    this.metrics.grantCopies += count;
    const rc = this.deps.copy(this.ops, count);
    return rc < 0 ? `blkback: GNTTABOP_copy failed (${rc})` : null;
  }

  /**
   * Reads or writes the segments' bytes at sector_number with one preadv/pwritev: on disk the
   * segments follow each other, and segment i's piece is where it sits in bounce page i (where the
   * grant copies put or take it). Returns the host error.
   */
  private fileIo(req: BlkifRequest, write: boolean): string | null {
    const iov = this.iov;
    iov.length = 0;
    const nseg = req.seg.length;
    for (let i = 0; i < nseg; i++) {
      const s = req.seg[i] as BlkifRequest['seg'][number];
      const page = (this.deps.bounce[i] as LocalPage).bytes;
      iov.push(
        page.subarray(s.first_sect * BLKIF_SECTOR_BYTES, (s.last_sect + 1) * BLKIF_SECTOR_BYTES),
      );
    }
    const file = this.deps.disk.file;
    const pos = Number(req.sector_number) * BLKIF_SECTOR_BYTES;
    const r = write ? file.writevAt(iov, pos) : file.readvAt(iov, pos);
    return r.ok ? null : r.error;
  }
}
