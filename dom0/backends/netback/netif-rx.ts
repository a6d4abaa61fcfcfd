// The rx half of one vif in netback (Linux drivers/net/xen-netback/rx.c xenvif_rx_action,
// xenvif_rx_copy_flush): frames from the bridge wait in a bounded queue and are grant-copied into
// the buffers the guest posted on the rx ring, a run of frames per GNTTABOP_copy call, straight
// from their pool page when they have one, else through the bounce pages; each response takes the
// slot of its request, in request order.

import {
  GNTCOPY_dest_gref,
  GNTST_okay,
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
import { PageFrame, releaseFrame, retainFrame } from '../../net/frame-pool.js';
import type { LocalPage } from '../platform.js';
import type { NetbackMetrics } from './metrics.js';
import type { NetifOutcome, NetifProcessorDeps } from './netif-processor.js';

/** Frames from the bridge waiting for rx buffers, at most. */
export const RX_QUEUE_MAX = 512;
/** Copy ops per rx GNTTABOP_copy call. */
const RX_BATCH_OPS = 64;

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
  private readonly rxQueue: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(
    RX_QUEUE_MAX,
  );
  private rxHead = 0;
  private rxLen = 0;
  /** The rx batch being staged: ops used, bounce page and offset of the next chunk. */
  private rxBatchOps = 0;
  private rxBatchPage = 0;
  private rxBatchOff = 0;
  private readonly rxIds = new Uint16Array(RX_BATCH_OPS);
  private readonly rxLast = new Uint8Array(RX_BATCH_OPS);
  /** The frame of each batch op that ends one (released after the copy). */
  private readonly rxFrames: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(
    RX_BATCH_OPS,
  );

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
      releaseFrame(this.rxQueue[this.rxHead] as Uint8Array);
      this.rxPop();
    }
  }

  /** Queues a frame from the bridge; false (counted) when the queue is full. */
  enqueue(frame: Uint8Array): boolean {
    if (this.rxLen >= RX_QUEUE_MAX) {
      this.metrics.rxDropped++;
      this.metrics.lastDrop = 'rx queue full';
      return false;
    }
    retainFrame(frame);
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
    const out: NetifOutcome = {
      packets: 0,
      notify: false,
      more: false,
      throttledUntilNs: null,
      fault: null,
    };
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
      const frame = this.rxQueue[this.rxHead] as Uint8Array;
      const need = frame.length <= PAGE_SIZE ? 1 : Math.ceil(frame.length / PAGE_SIZE);
      if (need > NET_RX_RING_SIZE || (need > 1 && !this.d.rxSg) || need > this.d.bounce.length) {
        this.rxPop();
        releaseFrame(frame);
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
      this.rxFrame(frame, need);
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
  private rxFits(frame: Uint8Array, need: number): boolean {
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
  private rxFrame(frame: Uint8Array, need: number): void {
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
      op.len = chunk;
      op.status = 0;
      this.rxIds[j] = id;
      this.rxLast[j] = k === need - 1 ? 1 : 0;
      this.rxFrames[j] = k === need - 1 ? frame : undefined;
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
    let bytes = 0;
    for (let j = 0; j < count; j++) {
      const op = this.rxOps[j] as gnttab_copy;
      const ok = rc >= 0 && (op.status ?? 0) === GNTST_okay;
      if (!ok) failed = true;
      bytes += op.len;
      const last = this.rxLast[j] === 1;
      const off = nextResponse(ring);
      // netif_rx_response: id u16 @0, offset u16 @2, flags u16 @4, status i16 @6.
      v.setUint16(off, this.rxIds[j] as number, true);
      v.setUint16(off + 2, 0, true);
      v.setUint16(off + 4, last ? 0 : NETRXF_more_data, true);
      v.setInt16(off + 6, ok ? op.len : NETIF_RSP_ERROR, true);
      if (!last) continue;
      releaseFrame(this.rxFrames[j] as Uint8Array);
      this.rxFrames[j] = undefined;
      if (failed) {
        this.metrics.rxErrors++;
        this.metrics.lastDrop = 'rx grant copy failed (bogus rx grant ref?)';
      } else {
        this.metrics.rxPackets++;
        this.metrics.rxBytes += bytes;
      }
      failed = false;
      bytes = 0;
    }
  }
}
