// The data path of one vif in netback (Linux drivers/net/xen-netback/netback.c
// xenvif_tx_build_gops, xenvif_count_requests, xenvif_get_extras, xenvif_tx_check_gop,
// make_tx_response) as a core with no I/O, with its rx half in netif-rx.ts and its zero-copy
// frames in netif-zerocopy.ts: it takes the two mapped ring pages, a grant-copy function, dom0
// bounce pages and a pool of dom0 frame pages. A packet's tx slots are grant-copied straight into one frame in a pool page, which goes to
// the bridge by reference; frames from the bridge are queued and grant-copied straight from their
// pool page into the buffers the guest posted on the rx ring, a run of frames per GNTTABOP_copy
// call. Frames of other origin (or with the pool exhausted) go through the bounce pages. With
// zeroCopy, a packet longer than XEN_NETBACK_TX_COPY_LEN has only its first 128 bytes copied
// into a pool page; the rest stays in the guest's grants as fragments of a NetFrame, and its tx
// slots are answered once the frame was consumed (netif-zerocopy.ts), so answers can come out of
// request order (each carries its request's id, which is what netfront looks at).
//
// Every slot is copied out (or its grant kept) before it is checked. Bad packets are dropped with
// NETIF_RSP_ERROR; protocol abuse (xenvif_fatal_tx_err) returns a fault.

import {
  GNTCOPY_source_gref,
  GNTST_okay,
  gntstMessage,
  type gnttab_copy,
} from '../../../hypercalls/grant-table.js';
import {
  NETIF_RSP_ERROR,
  NETIF_RSP_NULL,
  NETIF_RSP_OKAY,
  NETIF_RX_RING_ENTRY_BYTES,
  NETIF_TX_RING_ENTRY_BYTES,
  NETTXF_extra_info,
  NETTXF_more_data,
  readNetifExtraInfo,
  XEN_NETIF_EXTRA_FLAG_MORE,
  XEN_NETIF_EXTRA_TYPE_GSO,
  XEN_NETIF_NR_SLOTS_MIN,
} from '../../../hypercalls/io/netif.js';
import {
  BackRing,
  SRING_REQ_EVENT_OFF,
  SRING_REQ_PROD_OFF,
  SRING_RSP_PROD_OFF,
} from '../../../hypercalls/io/ring.js';
import { PAGE_SIZE } from '../../../hypercalls/types.js';
import { DOMID_SELF } from '../../../hypercalls/xen.js';
import type { PageFrame } from '../../net/frame-pool.js';
import { releaseFrame, type FramePool, type PoolPage } from '../../net/frame-pool.js';
import { FrameSlab } from '../../net/frame-slab.js';
import { NETBACK_TX_COPY_LEN, releaseAny, type Frame, type NetFrame } from '../../net/net-frame.js';
import type { LocalPage } from '../platform.js';
import type { CreditLimiter } from './credit.js';
import { newNetbackMetrics, type NetbackMetrics } from './metrics.js';
import { NetifRx, newOutcome, nextResponse } from './netif-rx.js';
import { TxZeroCopy } from './netif-zerocopy.js';

export { RX_QUEUE_MAX } from './netif-rx.js';

export type GrantCopyFn = (ops: gnttab_copy[], count: number) => number;

/** Slots a packet may use before it is dropped (max_skb_slots). */
export const MAX_SKB_SLOTS = XEN_NETIF_NR_SLOTS_MIN;
/** Slots beyond which the frontend is considered malicious (FATAL_SKB_SLOTS_DEFAULT). */
export const FATAL_SKB_SLOTS = 20;
/** Bounce pages a processor needs: one per slot of the largest packet accepted. */
export const NETBACK_BOUNCE_PAGES = MAX_SKB_SLOTS;
/** dom0 pages a vif's tx frames live in (frames of up to a page each, many to a page). */
export const NETBACK_POOL_PAGES = 32;
const ETH_HLEN = 14;
/** Copy ops one tx GNTTABOP_copy call carries at most (a run of packets). */
const TX_BATCH_OPS = 64;
/** Below this length a byte loop is cheaper than `subarray` + `set`. */
const SMALL_COPY_BYTES = 128;
/** txPacket's answer when the packet's last slot is not on the ring yet. */
const PARTIAL = false;
const VLAN_HLEN = 4;

export interface NetifProcessorDeps {
  readonly frontendDomid: number;
  readonly copy: GrantCopyFn;
  /** At least NETBACK_BOUNCE_PAGES of dom0's pages. */
  readonly bounce: readonly LocalPage[];
  /** Largest payload after the Ethernet header (the vif's `mtu`). */
  readonly mtu: number;
  /** feature-sg from the frontend: rx frames may span several slots. */
  readonly rxSg: boolean;
  /** A frame the guest sent (netback's start_xmit towards the bridge). */
  readonly deliver: (frame: Frame) => void;
  readonly now: () => number;
  readonly credit?: CreditLimiter | undefined;
  /** dom0 pages that tx packets are grant-copied straight into (else bounce pages and the heap). */
  readonly framePool?: FramePool | undefined;
  readonly metrics?: NetbackMetrics | undefined;
  /**
   * Keep what follows a packet's first XEN_NETBACK_TX_COPY_LEN bytes in the guest's grants (a
   * NetFrame) instead of copying it; needs framePool for the heads.
   */
  readonly zeroCopy?: boolean | undefined;
  /** Zero-copy frames were consumed outside processTx: call pushTxCompletions soon. */
  readonly onTxComplete?: (() => void) | undefined;
}

export interface NetifOutcome {
  /** Packets taken from the tx ring or put on the rx ring. */
  packets: number;
  /** The frontend wants an event. */
  notify: boolean;
  /** Budget ran out with work left: call again soon. */
  more: boolean;
  /** Set when the rate limit stopped tx: call again at this virtual time. */
  throttledUntilNs: number | null;
  /** The frontend broke the protocol: disconnect this vif. */
  fault: string | null;
}

interface Slot {
  gref: number;
  offset: number;
  flags: number;
  id: number;
  size: number;
  extra: boolean;
}

export class NetifProcessor {
  readonly tx: BackRing;
  readonly rx: BackRing;
  readonly metrics: NetbackMetrics;
  private readonly d: NetifProcessorDeps;
  /** The rx half: frames from the bridge into the guest's posted buffers. */
  readonly rxPath: NetifRx;
  private readonly ops: gnttab_copy[];
  private readonly slab = new FrameSlab();
  private readonly slots: Slot[];
  /** Tx packets staged for one copy call: their frames, op and slot counts, slot ids. */
  private txStaged = 0;
  private txOpsUsed = 0;
  private txSlotsUsed = 0;
  private readonly stFrame: (PageFrame | undefined)[];
  /** The NetFrame a staged packet becomes (its head is stFrame). */
  private readonly stNet: (NetFrame | undefined)[];
  /** Zero-copy frames of this vif (null without zeroCopy). */
  readonly zc: TxZeroCopy | null;
  private readonly stOps: Uint8Array;
  private readonly stSlots: Uint8Array;
  private readonly stTotal: Uint32Array;
  private readonly stSlotId: Uint16Array;
  private readonly stSlotExtra: Uint8Array;

  private constructor(d: NetifProcessorDeps, tx: BackRing, rx: BackRing) {
    this.d = d;
    this.tx = tx;
    this.rx = rx;
    this.metrics = d.metrics ?? newNetbackMetrics();
    this.rxPath = new NetifRx(d, rx, this.metrics);
    // Slots of staged packets are consumed but unanswered, so there are at most a ring's worth.
    const staged = tx.size + FATAL_SKB_SLOTS + 1;
    this.stFrame = new Array<PageFrame | undefined>(staged);
    this.stNet = new Array<NetFrame | undefined>(staged);
    this.zc =
      d.zeroCopy === true && d.framePool !== undefined ? new TxZeroCopy(d, tx, this.metrics) : null;
    this.stOps = new Uint8Array(staged);
    this.stSlots = new Uint8Array(staged);
    this.stTotal = new Uint32Array(staged);
    this.stSlotId = new Uint16Array(staged);
    this.stSlotExtra = new Uint8Array(staged);
    this.ops = Array.from({ length: TX_BATCH_OPS }, () => ({
      // Both union members on every `u`, so the grant engine sees one object shape for all ops.
      source: { u: { ref: 0, gmfn: 0 }, domid: d.frontendDomid, offset: 0 },
      dest: { u: { ref: 0, gmfn: 0 }, domid: DOMID_SELF, offset: 0 },
      len: 0,
      flags: GNTCOPY_source_gref,
      status: 0,
    }));
    this.slots = Array.from({ length: FATAL_SKB_SLOTS + 1 }, () => ({
      gref: 0,
      offset: 0,
      flags: 0,
      id: 0,
      size: 0,
      extra: false,
    }));
  }

  /** Attaches to the mapped tx and rx ring pages (the frontend initialised them). */
  static attach(
    txPage: Uint8Array,
    rxPage: Uint8Array,
    deps: NetifProcessorDeps,
  ): { ok: true; value: NetifProcessor } | { ok: false; error: string } {
    if (deps.bounce.length < NETBACK_BOUNCE_PAGES) {
      return { ok: false, error: `netback needs ${NETBACK_BOUNCE_PAGES} bounce pages` };
    }
    const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, PAGE_SIZE);
    // The rings carry on from the indices the frontend published (0 on a fresh ring).
    const txv = view(txPage);
    const rxv = view(rxPage);
    const tx = BackRing.attach(txv, NETIF_TX_RING_ENTRY_BYTES);
    if (!tx.ok) return tx;
    const rx = BackRing.attach(rxv, NETIF_RX_RING_ENTRY_BYTES);
    if (!rx.ok) return rx;
    return { ok: true, value: new NetifProcessor(deps, tx.value, rx.value) };
  }

  /** Frames waiting for rx buffers. */
  get rxQueued(): number {
    return this.rxPath.queued;
  }

  // ---------------------------------------------------------------- tx (guest -> bridge)

  /** xenvif_tx_action: up to `budget` packets from the tx ring. */
  processTx(budget: number): NetifOutcome {
    const out = newOutcome();
    const ring = this.tx;
    const zc = this.zc;
    if (zc !== null) zc.inRound = true;
    for (;;) {
      const prod = ring.view.getUint32(SRING_REQ_PROD_OFF, true);
      if ((prod - ring.reqCons) >>> 0 > ring.size) {
        out.fault = `Impossible number of requests: req_prod ${prod}, req_cons ${ring.reqCons}, size ${ring.size}`;
        break;
      }
      if (ring.unconsumedRequests() === 0) {
        this.txFlush();
        if (ring.rspProdPvt !== ring.view.getUint32(SRING_RSP_PROD_OFF, true)) {
          out.notify = ring.pushResponsesAndCheckNotify() || out.notify;
        }
        if (!ring.finalCheckForRequests()) break;
        continue;
      }
      if (out.packets >= budget) {
        out.more = true;
        break;
      }
      const credit = this.d.credit;
      if (credit) {
        // The credit left is exact only once the staged packets were sent.
        this.txFlush();
        const firstSize = ring.view.getUint16(ring.slotOffset(ring.reqCons) + 10, true);
        if (credit.exceeded(firstSize, this.d.now())) {
          out.throttledUntilNs = credit.nextCreditNs();
          this.metrics.txThrottled++;
          break;
        }
      }
      const fault = this.txPacket();
      if (fault === PARTIAL) {
        // Wake us when the frontend publishes more slots.
        ring.view.setUint32(SRING_REQ_EVENT_OFF, (prod + 1) >>> 0, true);
        break;
      }
      if (fault !== null) {
        out.fault = fault;
        break;
      }
      out.packets++;
    }
    this.txFlush();
    if (ring.rspProdPvt !== ring.view.getUint32(SRING_RSP_PROD_OFF, true)) {
      out.notify = ring.pushResponsesAndCheckNotify() || out.notify;
    }
    zc?.roundEnd();
    return out;
  }

  /**
   * Pushes the tx responses of zero-copy frames consumed since the last round (the dealloc
   * thread's kick); true when the frontend wants an event.
   */
  pushTxCompletions(): boolean {
    return this.zc?.pushCompletions() ?? false;
  }

  /** Consumes one packet's slots, copies and delivers it (or drops it); a fault string on abuse. */
  private txPacket(): string | null | false {
    const ring = this.tx;
    let n = 0;
    let gso = false;
    let more = true;
    let extraMore = false;
    let dataSlots = 0;
    while (more || extraMore) {
      if (n > FATAL_SKB_SLOTS) {
        return `Too many slots in a packet (more than ${FATAL_SKB_SLOTS}), or a missing last slot`;
      }
      if (ring.unconsumedRequests() === 0) {
        // The packet's last slot is not published yet: Linux waits; a ring that is full of
        // one packet's slots can never complete, so treat a full ring as abuse.
        this.txFlush();
        // Slots held by zero-copy frames are answered later; they are not this packet's.
        const held = this.zc?.heldSlots ?? 0;
        if ((ring.reqCons - ring.rspProdPvt - held) >>> 0 >= ring.size) {
          return 'Packet spans the whole tx ring without a last slot';
        }
        // Put the consumed slots back and wait for the frontend to publish the rest.
        ring.reqCons = (ring.reqCons - n) >>> 0;
        return PARTIAL;
      }
      const off = ring.slotOffset(ring.reqCons);
      const s = this.slots[n] as Slot;
      if (extraMore) {
        const x = readNetifExtraInfo(ring.view, off);
        if (!x.ok) return `Invalid extra type: ${x.error}`;
        if (x.value.type === XEN_NETIF_EXTRA_TYPE_GSO) gso = true;
        extraMore = (x.value.flags & XEN_NETIF_EXTRA_FLAG_MORE) !== 0;
        s.extra = true;
        ring.reqCons = (ring.reqCons + 1) >>> 0;
        n++;
        continue;
      }
      // RING_COPY_REQUEST: the slot is read once into our own copy (the ring view always holds it).
      const v = ring.view;
      const q = s;
      s.gref = v.getUint32(off, true);
      s.offset = v.getUint16(off + 4, true);
      s.flags = v.getUint16(off + 6, true);
      s.id = v.getUint16(off + 8, true);
      s.size = v.getUint16(off + 10, true);
      s.extra = false;
      ring.reqCons = (ring.reqCons + 1) >>> 0;
      n++;
      dataSlots++;
      if (q.offset + (dataSlots === 1 ? 0 : q.size) > PAGE_SIZE) {
        return `Cross page boundary, txreq.offset: ${q.offset}, size: ${q.size}`;
      }
      more = (q.flags & NETTXF_more_data) !== 0;
      // The extra-info slots follow the first request (xenvif_get_extras).
      if (dataSlots === 1) extraMore = (q.flags & NETTXF_extra_info) !== 0;
    }
    return this.txFinish(n, dataSlots, gso);
  }

  /** Checks sizes, copies the slots into bounce pages, responds and delivers. */
  private txFinish(n: number, dataSlots: number, gso: boolean): string | null {
    const m = this.metrics;
    const slots = this.slots;
    const first = slots[0] as Slot;
    const total = first.size;
    // The first slot holds what the later ones do not (xenvif_count_requests).
    let rest = 0;
    for (let i = 1; i < n; i++) {
      const s = slots[i] as Slot;
      if (s.extra) continue;
      if (s.size > total - rest) {
        return `Packet is bigger than frame: fragments exceed its size ${total}`;
      }
      rest += s.size;
    }
    const firstLen = total - rest;
    if (first.offset + firstLen > PAGE_SIZE) {
      return `Cross page boundary, txreq.offset: ${first.offset}, size: ${firstLen}`;
    }
    let reason: string | null = null;
    if (dataSlots > MAX_SKB_SLOTS) reason = `too many slots (${dataSlots} > ${MAX_SKB_SLOTS})`;
    else if (total < ETH_HLEN) reason = `bad packet size ${total}`;
    else if (!gso && total > ETH_HLEN + VLAN_HLEN + this.d.mtu) {
      reason = `frame of ${total} bytes exceeds MTU ${this.d.mtu}`;
    }
    // One grant copy per slot straight into a frame in a dom0 page when the pool has room (the
    // frame then goes to the bridge by reference), the copies of a run of packets in one call;
    // otherwise into bounce pages, then assembled.
    if (reason === null && this.zc !== null && total > NETBACK_TX_COPY_LEN) {
      if (this.txStageZc(n, total)) return null;
    }
    const pooled = reason === null ? (this.d.framePool?.alloc(total) ?? null) : null;
    if (pooled !== null) {
      this.txStage(pooled, n, firstLen, total);
      return null;
    }
    // Responses go out in request order: the staged packets first.
    this.txFlush();
    if (reason === null) {
      let k = 0;
      for (let i = 0; i < n; i++) {
        const s = slots[i] as Slot;
        if (s.extra) continue;
        const op = this.ops[k] as gnttab_copy;
        op.source.u.ref = s.gref;
        op.source.domid = this.d.frontendDomid;
        op.source.offset = s.offset;
        op.dest.u.gmfn = (this.d.bounce[k] as LocalPage).gmfn;
        op.dest.offset = 0;
        op.len = i === 0 ? firstLen : s.size;
        op.flags = GNTCOPY_source_gref;
        op.status = 0;
        k++;
      }
      const rc = this.d.copy(this.ops, k);
      if (rc < 0) reason = `grant copy failed: errno ${-rc}`;
      for (let j = 0; j < k && reason === null; j++) {
        const st = (this.ops[j] as gnttab_copy).status ?? 0;
        if (st !== GNTST_okay) reason = `grant copy of slot ${j} failed: ${gntstMessage(st)}`;
      }
    }
    let frame: Uint8Array | null = null;
    if (reason === null && dataSlots === 1) {
      frame = this.slab.alloc(total);
      const src = (this.d.bounce[0] as LocalPage).bytes;
      // Small frames: a byte loop beats creating a subarray for `set`.
      if (total <= SMALL_COPY_BYTES) for (let i = 0; i < total; i++) frame[i] = src[i] as number;
      else frame.set(src.subarray(0, total));
    } else if (reason === null) {
      frame = this.slab.alloc(total);
      let pos = 0;
      let k = 0;
      for (let i = 0; i < n; i++) {
        if ((slots[i] as Slot).extra) continue;
        const op = this.ops[k] as gnttab_copy;
        frame.set((this.d.bounce[k] as LocalPage).bytes.subarray(0, op.len), pos);
        pos += op.len;
        k++;
      }
    }
    const status = reason === null ? NETIF_RSP_OKAY : NETIF_RSP_ERROR;
    const tv = this.tx.view;
    for (let i = 0; i < n; i++) {
      const s = slots[i] as Slot;
      const off = nextResponse(this.tx);
      // netif_tx_response: id u16 @0, status i16 @2. An extra-info slot gets only a
      // NETIF_RSP_NULL status; its id bytes stay as they were (make_tx_response).
      if (!s.extra) tv.setUint16(off, s.id, true);
      tv.setInt16(off + 2, s.extra ? NETIF_RSP_NULL : status, true);
    }
    if (frame === null) {
      m.txDropped++;
      m.lastDrop = reason ?? '';
      return null;
    }
    m.txPackets++;
    m.txBytes += total;
    this.d.credit?.consume(total);
    this.d.deliver(frame);
    return null;
  }

  /**
   * xenvif_tx_build_gops with foreign frags: the first NETBACK_TX_COPY_LEN bytes of the packet
   * (across slots if the first is shorter) are staged for a grant copy into a pool head; the rest
   * of each slot is kept as a fragment of the guest's grant. False when the pool has no room.
   */
  private txStageZc(n: number, total: number): boolean {
    const zc = this.zc as TxZeroCopy;
    const slots = this.slots;
    let dataSlots = 0;
    for (let i = 0; i < n; i++) if (!(slots[i] as Slot).extra) dataSlots++;
    if (this.txOpsUsed + dataSlots > this.ops.length) this.txFlush();
    const head = (this.d.framePool as FramePool).alloc(NETBACK_TX_COPY_LEN);
    if (head === null) return false;
    const f = zc.take(this.d.now());
    f.head = head;
    f.length = total;
    const gmfn = (head.page as PoolPage).src.gmfn;
    const pk = this.txStaged++;
    this.stFrame[pk] = head;
    this.stNet[pk] = f;
    this.stSlots[pk] = n;
    this.stTotal[pk] = total;
    let headLeft = NETBACK_TX_COPY_LEN;
    let pos = head.pageOffset;
    let nOps = 0;
    // The first slot's size is the packet's; its own data is what the others do not hold.
    let rest = 0;
    for (let i = 1; i < n; i++) if (!(slots[i] as Slot).extra) rest += (slots[i] as Slot).size;
    for (let i = 0; i < n; i++) {
      const s = slots[i] as Slot;
      const r = this.txSlotsUsed++;
      this.stSlotId[r] = s.id;
      this.stSlotExtra[r] = s.extra ? 1 : 0;
      f.slotId[i] = s.id;
      f.slotExtra[i] = s.extra ? 1 : 0;
      if (s.extra) continue;
      const len = i === 0 ? total - rest : s.size;
      const h = len < headLeft ? len : headLeft;
      if (h > 0) {
        this.stageTxCopy(s, gmfn, pos, h);
        pos += h;
        headLeft -= h;
        nOps++;
      }
      if (len > h) {
        const k = f.fragCount++;
        f.fragRef[k] = s.gref;
        f.fragOff[k] = s.offset + h;
        f.fragLen[k] = len - h;
      }
    }
    f.slots = n;
    this.stOps[pk] = nOps;
    return true;
  }

  /** Queues the copy ops of a packet bound for pool frame `f`; responses wait for txFlush. */
  private txStage(f: PageFrame, n: number, firstLen: number, total: number): void {
    const slots = this.slots;
    let dataSlots = 0;
    for (let i = 0; i < n; i++) if (!(slots[i] as Slot).extra) dataSlots++;
    if (this.txOpsUsed + dataSlots > this.ops.length) this.txFlush();
    const gmfn = (f.page as PoolPage).src.gmfn;
    let pos = f.pageOffset;
    const pk = this.txStaged++;
    this.stFrame[pk] = f;
    this.stOps[pk] = dataSlots;
    this.stSlots[pk] = n;
    this.stTotal[pk] = total;
    for (let i = 0; i < n; i++) {
      const s = slots[i] as Slot;
      const r = this.txSlotsUsed++;
      this.stSlotId[r] = s.id;
      this.stSlotExtra[r] = s.extra ? 1 : 0;
      if (s.extra) continue;
      const len = i === 0 ? firstLen : s.size;
      this.stageTxCopy(s, gmfn, pos, len);
      pos += len;
    }
  }

  /** The next reused copy op: `len` bytes of slot `s`'s grant into dom0 frame `gmfn` at `pos`. */
  private stageTxCopy(s: Slot, gmfn: number, pos: number, len: number): void {
    const op = this.ops[this.txOpsUsed++] as gnttab_copy;
    op.source.u.ref = s.gref;
    op.source.domid = this.d.frontendDomid;
    op.source.offset = s.offset;
    op.dest.u.gmfn = gmfn;
    op.dest.offset = pos;
    op.len = len;
    op.flags = GNTCOPY_source_gref;
    op.status = 0;
  }

  /**
   * One GNTTABOP_copy for every staged packet, then per packet (in request order) its responses
   * and its frame to the bridge by reference.
   */
  private txFlush(): void {
    const packets = this.txStaged;
    if (packets === 0) return;
    const count = this.txOpsUsed;
    this.txStaged = 0;
    this.txOpsUsed = 0;
    this.txSlotsUsed = 0;
    const rc = this.d.copy(this.ops, count);
    const m = this.metrics;
    const tv = this.tx.view;
    let op0 = 0;
    let slot0 = 0;
    for (let pk = 0; pk < packets; pk++) {
      const frame = this.stFrame[pk] as PageFrame;
      this.stFrame[pk] = undefined;
      const net = this.stNet[pk];
      this.stNet[pk] = undefined;
      const nOps = this.stOps[pk] as number;
      const nSlots = this.stSlots[pk] as number;
      let reason: string | null = rc < 0 ? `grant copy failed: errno ${-rc}` : null;
      for (let j = 0; j < nOps && reason === null; j++) {
        const st = (this.ops[op0 + j] as gnttab_copy).status ?? 0;
        if (st !== GNTST_okay) reason = `grant copy of slot ${j} failed: ${gntstMessage(st)}`;
      }
      const status = reason === null ? NETIF_RSP_OKAY : NETIF_RSP_ERROR;
      // A zero-copy frame's slots are answered when it is consumed (netif-zerocopy.ts).
      for (let i = 0; i < nSlots && (net === undefined || reason !== null); i++) {
        const extra = this.stSlotExtra[slot0 + i] === 1;
        const off = nextResponse(this.tx);
        if (!extra) tv.setUint16(off, this.stSlotId[slot0 + i] as number, true);
        tv.setInt16(off + 2, extra ? NETIF_RSP_NULL : status, true);
      }
      op0 += nOps;
      slot0 += nSlots;
      if (net !== undefined) {
        const zc = this.zc as TxZeroCopy;
        if (reason !== null) {
          m.txDropped++;
          m.lastDrop = reason;
          zc.discard(net);
          continue;
        }
        zc.track(net);
        m.txZeroCopy++;
        m.txPackets++;
        m.txBytes += net.length;
        this.d.credit?.consume(net.length);
        this.d.deliver(net);
        releaseAny(net);
        continue;
      }
      if (reason !== null) {
        m.txDropped++;
        m.lastDrop = reason;
        releaseFrame(frame);
        continue;
      }
      const total = this.stTotal[pk] as number;
      m.txPackets++;
      m.txBytes += total;
      this.d.credit?.consume(total);
      this.d.deliver(frame);
      // The bridge's receivers retained (or copied) what they keep.
      releaseFrame(frame);
    }
  }

  /** Drops every queued rx frame (the vif is going away), releasing pool frames. */
  dropRxQueue(): void {
    this.rxPath.dropQueue();
  }

  /** tx_credit_callback: the rate limit's replenish timer fired. */
  creditTimerFired(): void {
    this.d.credit?.timerFired();
  }

  // ---------------------------------------------------------------- rx (bridge -> guest)

  /** Queues a frame from the bridge; false (counted) when the queue is full. */
  enqueueRx(frame: Frame): boolean {
    return this.rxPath.enqueue(frame);
  }

  /** xenvif_rx_action: up to `budget` queued frames into the guest's posted buffers. */
  processRx(budget: number): NetifOutcome {
    return this.rxPath.process(budget);
  }
}
