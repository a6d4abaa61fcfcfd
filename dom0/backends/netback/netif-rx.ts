// The rx half of one vif in netback (Linux drivers/net/xen-netback/rx.c xenvif_rx_action,
// xenvif_rx_copy_flush): frames from the bridge wait in a bounded queue and are grant-copied into
// the buffers the guest posted on the rx ring, a run of frames per GNTTABOP_copy call, straight
// from their pool page when they have one, else through the bounce pages. A NetFrame's fragments
// are copied straight from the sending guest's grants (xenvif_gop_frag_copy on a foreign page:
// GNTCOPY_source_gref), so guest-to-guest data is copied once, by the hypervisor; a fragment that
// would overflow the current buffer but fits a fresh one starts a fresh one (start_new_rx_buffer,
// Linux netback up to 4.10), so page-sized fragments land one op per buffer, page-aligned, unless
// that would take more than XEN_NETBK_LEGACY_SLOTS_MAX buffers (then buffers are filled up, as
// rx.c xenvif_rx_data_slot does). Each response takes the slot of its request, in request order.

import {
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTST_okay,
  gntstMessage,
  type gnttab_copy,
} from '../../../hypercalls/grant-table.js';
import {
  NET_RX_RING_SIZE,
  NETIF_RSP_ERROR,
  NETRXF_more_data,
} from '../../../hypercalls/io/netif.js';
import {
  SRING_REQ_EVENT_OFF,
  SRING_REQ_PROD_OFF,
  type BackRing,
} from '../../../hypercalls/io/ring.js';
import { PAGE_SIZE } from '../../../hypercalls/types.js';
import { DOMID_SELF } from '../../../hypercalls/xen.js';
import { PageFrame } from '../../net/frame-pool.js';
import {
  isNetFrame,
  releaseAny,
  retainAny,
  type Frame,
  type NetFrame,
} from '../../net/net-frame.js';
import type { LocalPage } from '../platform.js';
import type { NetbackMetrics } from './metrics.js';
import type { NetifOutcome, NetifProcessorDeps } from './netif-processor.js';

/** Frames from the bridge waiting for rx buffers, at most. */
export const RX_QUEUE_MAX = 512;
/** Copy ops per rx GNTTABOP_copy call (Linux's COPY_BATCH_SIZE). */
const RX_BATCH_OPS = 64;
/** rxIds: the op's slot goes on in the next op. */
const SLOT_CONT = -1;
/** Buffers one frame may take in the guest (XEN_NETBK_LEGACY_SLOTS_MAX, what netfront accepts). */
const RX_MAX_SLOTS = 18;

/**
 * The rx buffers NetFrame `f` takes when a fragment that would overflow a buffer that holds data
 * already, but fits in a fresh one, starts a fresh one (start_new_rx_buffer).
 */
function sparseSlots(f: NetFrame): number {
  let slots = 1;
  let dpos = (f.head as PageFrame).length;
  for (let k = 0; k < f.fragCount; k++) {
    const len = f.fragLen[k] as number;
    let used = 0;
    while (used < len) {
      if (dpos === PAGE_SIZE || (used === 0 && dpos > 0 && dpos + len > PAGE_SIZE)) {
        slots++;
        dpos = 0;
      }
      const n = len - used < PAGE_SIZE - dpos ? len - used : PAGE_SIZE - dpos;
      used += n;
      dpos += n;
    }
  }
  return slots;
}

/**
 * The slot of the next response: the one of the oldest unanswered request. Callers answer only
 * requests they consumed, so rsp_prod_pvt never passes req_cons (BackRing.produceResponse without
 * its result object, on the per-packet path).
 */
export function nextResponse(ring: BackRing): number {
  const off = ring.slotOffset(ring.rspProdPvt);
  ring.rspProdPvt = (ring.rspProdPvt + 1) >>> 0;
  return off;
}

export class NetifRx {
  private readonly d: NetifProcessorDeps;
  private readonly ring: BackRing;
  private readonly metrics: NetbackMetrics;
  private readonly rxOps: gnttab_copy[];
  private readonly rxQueue: (Frame | undefined)[] = new Array<Frame | undefined>(RX_QUEUE_MAX);
  private rxHead = 0;
  private rxLen = 0;
  /** The rx batch being staged: ops used, bounce page and offset of the next chunk. */
  private rxBatchOps = 0;
  private rxBatchPage = 0;
  private rxBatchOff = 0;
  /** Per op: the request id of the slot it ends (SLOT_CONT when the slot goes on). */
  private readonly rxIds = new Int32Array(RX_BATCH_OPS);
  private readonly rxLast = new Uint8Array(RX_BATCH_OPS);
  /** Per op: 1 when it copies from a sending guest's grant. */
  private readonly rxForeign = new Uint8Array(RX_BATCH_OPS);
  /** The frame of each batch op that ends one (released after the copy). */
  private readonly rxFrames: (Frame | undefined)[] = new Array<Frame | undefined>(RX_BATCH_OPS);

  constructor(d: NetifProcessorDeps, ring: BackRing, metrics: NetbackMetrics) {
    this.d = d;
    this.ring = ring;
    this.metrics = metrics;
    this.rxOps = Array.from({ length: RX_BATCH_OPS }, () => ({
      // Both union members on every `u`, so the grant engine sees one object shape for all ops.
      source: { u: { ref: 0, gmfn: 0 }, domid: DOMID_SELF, offset: 0 },
      dest: { u: { ref: 0, gmfn: 0 }, domid: d.frontendDomid, offset: 0 },
      len: 0,
      flags: GNTCOPY_dest_gref,
      status: 0,
    }));
  }

  /** Frames waiting for rx buffers. */
  get queued(): number {
    return this.rxLen;
  }

  /** Drops every queued frame (the vif is going away), releasing pool frames. */
  dropQueue(): void {
    while (this.rxLen > 0) {
      releaseAny(this.rxQueue[this.rxHead] as Frame);
      this.rxPop();
    }
  }

  /** Queues a frame from the bridge; false (counted) when the queue is full. */
  enqueue(frame: Frame): boolean {
    if (this.rxLen >= RX_QUEUE_MAX) {
      this.metrics.rxDropped++;
      this.metrics.lastDrop = 'rx queue full';
      return false;
    }
    retainAny(frame);
    this.rxQueue[(this.rxHead + this.rxLen) % RX_QUEUE_MAX] = frame;
    this.rxLen++;
    return true;
  }

  /**
   * xenvif_rx_action: up to `budget` queued frames into the guest's posted buffers. The chunks of
   * a run of frames are packed into the bounce pages and copied by one GNTTABOP_copy call
   * (xenvif_rx_copy_flush), then answered in request order.
   */
  process(budget: number): NetifOutcome {
    const out = newOutcome();
    const ring = this.ring;
    const start = ring.rspProdPvt;
    while (this.rxLen > 0) {
      if (out.packets >= budget) {
        out.more = true;
        break;
      }
      const prod = ring.view.getUint32(SRING_REQ_PROD_OFF, true);
      if ((prod - ring.reqCons) >>> 0 > ring.size) {
        out.fault = `Impossible number of rx requests: req_prod ${prod}, req_cons ${ring.reqCons}`;
        break;
      }
      const frame = this.rxQueue[this.rxHead] as Frame;
      let need = frame.length <= PAGE_SIZE ? 1 : Math.ceil(frame.length / PAGE_SIZE);
      let sparse = false;
      if (isNetFrame(frame) && frame.linear === null && this.d.rxSg) {
        const n = sparseSlots(frame);
        sparse = n <= RX_MAX_SLOTS;
        if (sparse) need = n;
      }
      if (need > NET_RX_RING_SIZE || (need > 1 && !this.d.rxSg) || need > this.d.bounce.length) {
        this.rxPop();
        releaseAny(frame);
        this.metrics.rxDropped++;
        this.metrics.lastDrop = `rx frame of ${frame.length} bytes does not fit the guest's buffers`;
        continue;
      }
      if (ring.unconsumedRequests() < need) {
        // xenvif_rx_ring_slots_available: ask for an event once enough buffers are posted.
        ring.view.setUint32(SRING_REQ_EVENT_OFF, (ring.reqCons + need) >>> 0, true);
        if (ring.unconsumedRequests() < need) break;
      }
      if (!this.rxFits(frame, need)) this.rxFlush();
      this.rxPop();
      if (isNetFrame(frame)) {
        if (frame.linear === null) this.rxNetFrame(frame, sparse);
        else this.rxFrame(frame.linear, need, frame);
      } else this.rxFrame(frame, need, frame);
      out.packets++;
    }
    this.rxFlush();
    if (ring.rspProdPvt !== start) out.notify = ring.pushResponsesAndCheckNotify();
    return out;
  }

  private rxPop(): void {
    this.rxQueue[this.rxHead] = undefined;
    this.rxHead = (this.rxHead + 1) % RX_QUEUE_MAX;
    this.rxLen--;
  }

  /** The frame's chunks fit in the bounce space and copy ops left in this batch. */
  private rxFits(frame: Frame, need: number): boolean {
    if (isNetFrame(frame)) {
      if (frame.linear === null) {
        return this.rxBatchOps + need + frame.fragCount + 1 <= this.rxOps.length;
      }
      return this.rxFits(frame.linear, need);
    }
    if (this.rxBatchOps + need > this.rxOps.length) return false;
    // A pool frame is copied from where it lies.
    if (frame instanceof PageFrame && frame.page !== null) return true;
    const len = frame.length;
    const pages = this.d.bounce.length;
    if (need > 1) return this.rxBatchPage + (this.rxBatchOff > 0 ? 1 : 0) + need <= pages;
    if (this.rxBatchOff + len <= PAGE_SIZE) return this.rxBatchPage < pages;
    return this.rxBatchPage + 1 < pages;
  }

  /** Stages one frame: each chunk into bounce space and a copy op to the guest's buffer. */
  private rxFrame(frame: Uint8Array, need: number, holder: Frame): void {
    const ring = this.ring;
    const v = ring.view;
    for (let k = 0; k < need; k++) {
      // processRx saw `need` unconsumed requests (bounded by the slots already answered).
      const off = ring.slotOffset(ring.reqCons);
      ring.reqCons = (ring.reqCons + 1) >>> 0;
      // netif_rx_request: id u16 @0, gref u32 @4 (read once).
      const id = v.getUint16(off, true);
      const gref = v.getUint32(off + 4, true);
      const chunk = need === 1 ? frame.length : Math.min(PAGE_SIZE, frame.length - k * PAGE_SIZE);
      const j = this.rxBatchOps++;
      const op = this.rxOps[j] as gnttab_copy;
      op.dest.u.ref = gref;
      op.dest.offset = 0;
      op.source.domid = DOMID_SELF;
      op.flags = GNTCOPY_dest_gref;
      op.len = chunk;
      op.status = 0;
      this.rxIds[j] = id;
      this.rxForeign[j] = 0;
      this.rxLast[j] = k === need - 1 ? 1 : 0;
      this.rxFrames[j] = k === need - 1 ? holder : undefined;
      if (frame instanceof PageFrame && frame.page !== null) {
        // One copy from the frame's dom0 page straight into the guest's buffer (need is 1).
        op.source.u.gmfn = frame.page.src.gmfn;
        op.source.offset = frame.pageOffset;
        continue;
      }
      if (this.rxBatchOff + chunk > PAGE_SIZE) {
        this.rxBatchPage++;
        this.rxBatchOff = 0;
      }
      const page = this.d.bounce[this.rxBatchPage] as LocalPage;
      if (need === 1) page.bytes.set(frame, this.rxBatchOff);
      else page.bytes.set(frame.subarray(k * PAGE_SIZE, k * PAGE_SIZE + chunk), this.rxBatchOff);
      op.source.u.gmfn = page.gmfn;
      op.source.offset = this.rxBatchOff;
      this.rxBatchOff = (this.rxBatchOff + chunk + 7) & ~7;
    }
  }

  /**
   * Stages a NetFrame: the head from dom0, then each fragment straight from the sender's grant,
   * into the guest's buffers in order (packed as sparseSlots counted them, or filled up), an op per piece that
   * lies in one source and one buffer.
   */
  private rxNetFrame(f: NetFrame, sparse: boolean): void {
    const ring = this.ring;
    const v = ring.view;
    const head = f.head as PageFrame;
    const headGmfn = (head.page as NonNullable<PageFrame['page']>).src.gmfn;
    let id = -1;
    let gref = 0;
    let dpos = 0;
    let j = -1;
    for (let seg = -1; seg < f.fragCount; seg++) {
      const len = seg < 0 ? head.length : (f.fragLen[seg] as number);
      let used = 0;
      while (used < len) {
        if (
          id < 0 ||
          dpos === PAGE_SIZE ||
          (sparse && used === 0 && dpos > 0 && dpos + len > PAGE_SIZE)
        ) {
          // The buffer in use (if any) ends with the last op; take the next posted one.
          if (j >= 0) this.rxIds[j] = id;
          const off = ring.slotOffset(ring.reqCons);
          ring.reqCons = (ring.reqCons + 1) >>> 0;
          // netif_rx_request: id u16 @0, gref u32 @4 (read once).
          id = v.getUint16(off, true);
          gref = v.getUint32(off + 4, true);
          dpos = 0;
        }
        const n = len - used < PAGE_SIZE - dpos ? len - used : PAGE_SIZE - dpos;
        j = this.rxBatchOps++;
        const op = this.rxOps[j] as gnttab_copy;
        if (seg < 0) {
          op.source.domid = DOMID_SELF;
          op.source.u.gmfn = headGmfn;
          op.source.offset = head.pageOffset + used;
          op.flags = GNTCOPY_dest_gref;
          this.rxForeign[j] = 0;
        } else {
          op.source.domid = f.fragDomid;
          op.source.u.ref = f.fragRef[seg] as number;
          op.source.offset = (f.fragOff[seg] as number) + used;
          op.flags = GNTCOPY_source_gref | GNTCOPY_dest_gref;
          this.rxForeign[j] = 1;
        }
        op.dest.u.ref = gref;
        op.dest.offset = dpos;
        op.len = n;
        op.status = 0;
        this.rxIds[j] = SLOT_CONT;
        this.rxLast[j] = 0;
        this.rxFrames[j] = undefined;
        used += n;
        dpos += n;
      }
    }
    this.rxIds[j] = id;
    this.rxLast[j] = 1;
    this.rxFrames[j] = f;
  }

  /** One GNTTABOP_copy for the staged chunks, then their responses in request order. */
  private rxFlush(): void {
    const count = this.rxBatchOps;
    this.rxBatchOps = 0;
    this.rxBatchPage = 0;
    this.rxBatchOff = 0;
    if (count === 0) return;
    const ring = this.ring;
    const rc = this.d.copy(this.rxOps, count);
    const v = ring.view;
    let failed = false;
    let fragFailed = 0;
    let bytes = 0;
    let slotOk = true;
    let slotBytes = 0;
    for (let j = 0; j < count; j++) {
      const op = this.rxOps[j] as gnttab_copy;
      const st = rc >= 0 ? (op.status ?? 0) : GNTST_okay - 1;
      const ok = st === GNTST_okay;
      if (!ok) {
        failed = true;
        slotOk = false;
        if (this.rxForeign[j] === 1 && rc >= 0) fragFailed = st;
      }
      bytes += op.len;
      slotBytes += op.len;
      const id = this.rxIds[j] as number;
      if (id === SLOT_CONT) continue;
      const last = this.rxLast[j] === 1;
      const off = nextResponse(ring);
      // netif_rx_response: id u16 @0, offset u16 @2, flags u16 @4, status i16 @6.
      v.setUint16(off, id, true);
      v.setUint16(off + 2, 0, true);
      v.setUint16(off + 4, last ? 0 : NETRXF_more_data, true);
      v.setInt16(off + 6, slotOk ? slotBytes : NETIF_RSP_ERROR, true);
      slotOk = true;
      slotBytes = 0;
      if (!last) continue;
      releaseAny(this.rxFrames[j] as Frame);
      this.rxFrames[j] = undefined;
      if (fragFailed !== 0) {
        this.metrics.rxErrors++;
        this.metrics.rxFragErrors++;
        this.metrics.lastDrop = `rx copy from the sender's grant failed: ${gntstMessage(fragFailed)}`;
      } else if (failed) {
        this.metrics.rxErrors++;
        this.metrics.lastDrop = 'rx grant copy failed (bogus rx grant ref?)';
      } else {
        this.metrics.rxPackets++;
        this.metrics.rxBytes += bytes;
      }
      failed = false;
      fragFailed = 0;
      bytes = 0;
    }
  }
}

/** A processing round's outcome before anything happened. */
export function newOutcome(): NetifOutcome {
  return { packets: 0, notify: false, more: false, throttledUntilNs: null, fault: null };
}
