// The zero-copy half of one vif's tx path in netback (Linux drivers/net/xen-netback/netback.c
// xenvif_zerocopy_callback, xenvif_tx_dealloc_action, make_tx_response; interface.c's rx drain
// timeout): the NetFrames built from the guest's tx slots, their tx responses sent once each frame
// was consumed (released by every holder or linearized), a linearize fallback that grant-copies
// the fragments once into dom0, and a bound on how long a frame may hold the guest's slots.

import {
  GNTCOPY_source_gref,
  GNTST_okay,
  gntstMessage,
  type gnttab_copy,
} from '../../../hypercalls/grant-table.js';
import { NETIF_RSP_NULL, NETIF_RSP_OKAY } from '../../../hypercalls/io/netif.js';
import { SRING_RSP_PROD_OFF, type BackRing } from '../../../hypercalls/io/ring.js';
import { DOMID_SELF } from '../../../hypercalls/xen.js';
import { releaseFrame, type PageFrame } from '../../net/frame-pool.js';
import { NET_FRAME_MAX_FRAGS, NetFrame, type NetFrameOwner } from '../../net/net-frame.js';
import type { LocalPage } from '../platform.js';
import type { NetbackMetrics } from './metrics.js';
import type { GrantCopyFn } from './netif-processor.js';
import { nextResponse } from './netif-rx.js';

export interface TxZeroCopyDeps {
  readonly frontendDomid: number;
  readonly copy: GrantCopyFn;
  /** dom0 pages to linearize through (used only within one call). */
  readonly bounce: readonly LocalPage[];
  /** Responses were written outside processTx: push them soon (the dealloc kick). */
  readonly onTxComplete?: (() => void) | undefined;
}

export class TxZeroCopy implements NetFrameOwner {
  private readonly d: TxZeroCopyDeps;
  private readonly tx: BackRing;
  private readonly metrics: NetbackMetrics;
  private readonly free: NetFrame[] = [];
  /** Frames still holding the guest's tx slots, oldest first (holes are null). */
  private live: (NetFrame | null)[] = [];
  private liveCount = 0;
  /** Tx slots the live frames hold (consumed, not answered yet). */
  heldSlots = 0;
  private readonly ops: gnttab_copy[];
  /** Responses written outside a processTx round, not yet pushed. */
  private unpushed = false;
  /** Set while processTx runs: it pushes what completes meanwhile. */
  inRound = false;
  /** The ring is gone (vif disconnected): completions write nothing. */
  closed = false;

  constructor(d: TxZeroCopyDeps, tx: BackRing, metrics: NetbackMetrics) {
    this.d = d;
    this.tx = tx;
    this.metrics = metrics;
    this.ops = Array.from({ length: NET_FRAME_MAX_FRAGS }, () => ({
      source: { u: { ref: 0, gmfn: 0 }, domid: d.frontendDomid, offset: 0 },
      dest: { u: { ref: 0, gmfn: 0 }, domid: DOMID_SELF, offset: 0 },
      len: 0,
      flags: GNTCOPY_source_gref,
      status: 0,
    }));
  }

  /** Frames holding the guest's tx slots. */
  get outstanding(): number {
    return this.liveCount;
  }

  /** A fresh frame for the packet being built (one reference, held by the caller). */
  take(nowNs: number): NetFrame {
    const f = this.free.pop() ?? new NetFrame(this);
    f.refs = 1;
    f.bornNs = nowNs;
    f.completed = false;
    f.linear = null;
    f.error = null;
    f.fragCount = 0;
    f.slots = 0;
    f.fragDomid = this.d.frontendDomid;
    return f;
  }

  /** The frame now holds the guest's slots until complete(). */
  track(f: NetFrame): void {
    if (this.live.length > 2 * this.liveCount + 64) this.compact();
    f.listIndex = this.live.length;
    this.live.push(f);
    this.liveCount++;
    this.heldSlots += f.slots;
  }

  private compact(): void {
    const kept: NetFrame[] = [];
    for (const f of this.live) {
      if (f === null) continue;
      f.listIndex = kept.length;
      kept.push(f);
    }
    this.live = kept;
  }

  /** processTx pushed the ring: nothing written before is left unpushed. */
  roundEnd(): void {
    this.inRound = false;
    this.unpushed = false;
  }

  /** A frame that was never delivered (its head copy failed): its slots were answered already. */
  discard(f: NetFrame): void {
    f.completed = true;
    f.refs = 0;
    this.recycle(f);
  }

  /** make_tx_response for each of the frame's slots (NETIF_RSP_OKAY: the guest's data was sent). */
  complete(f: NetFrame): void {
    if (f.completed) return;
    f.completed = true;
    if (f.listIndex >= 0) {
      this.live[f.listIndex] = null;
      f.listIndex = -1;
      if (--this.liveCount === 0) this.live.length = 0;
      this.heldSlots -= f.slots;
    }
    if (this.closed) return;
    const tv = this.tx.view;
    for (let i = 0; i < f.slots; i++) {
      const extra = f.slotExtra[i] === 1;
      const off = nextResponse(this.tx);
      if (!extra) tv.setUint16(off, f.slotId[i] as number, true);
      tv.setInt16(off + 2, extra ? NETIF_RSP_NULL : NETIF_RSP_OKAY, true);
    }
    if (this.inRound || this.unpushed) return;
    this.unpushed = true;
    this.d.onTxComplete?.();
  }

  recycle(f: NetFrame): void {
    if (f.head !== null) releaseFrame(f.head);
    f.head = null;
    f.linear = null;
    this.free.push(f);
  }

  /**
   * Pushes the responses completions wrote outside processTx (RING_PUSH_RESPONSES_AND_CHECK_NOTIFY);
   * true when the frontend wants an event.
   */
  pushCompletions(): boolean {
    this.unpushed = false;
    if (this.closed) return false;
    if (this.tx.rspProdPvt === this.tx.view.getUint32(SRING_RSP_PROD_OFF, true)) return false;
    return this.tx.pushResponsesAndCheckNotify();
  }

  /** Copies the fragments once into dom0 and completes the frame's slots. */
  linearize(f: NetFrame): Uint8Array | null {
    if (f.linear !== null) return f.linear;
    const head = f.head as PageFrame;
    const out = new Uint8Array(f.length);
    out.set(head, 0);
    let pos = head.length;
    let reason: string | null = null;
    if (this.closed) reason = 'the sending vif is gone';
    const n = f.fragCount;
    for (let k = 0; k < n && reason === null; k++) {
      const op = this.ops[k] as gnttab_copy;
      op.source.u.ref = f.fragRef[k] as number;
      op.source.domid = f.fragDomid;
      op.source.offset = f.fragOff[k] as number;
      op.dest.u.gmfn = (this.d.bounce[k] as LocalPage).gmfn;
      op.dest.offset = 0;
      op.len = f.fragLen[k] as number;
      op.flags = GNTCOPY_source_gref;
      op.status = 0;
    }
    const rc = reason === null && n > 0 ? this.d.copy(this.ops, n) : 0;
    if (rc < 0) reason = `grant copy failed: errno ${-rc}`;
    for (let k = 0; k < n && reason === null; k++) {
      const op = this.ops[k] as gnttab_copy;
      const st = op.status ?? 0;
      if (st !== GNTST_okay) {
        reason = `fragment copy from the sender's grant failed: ${gntstMessage(st)}`;
        break;
      }
      out.set((this.d.bounce[k] as LocalPage).bytes.subarray(0, op.len), pos);
      pos += op.len;
    }
    if (reason !== null) {
      f.error = reason;
      this.metrics.txDropped++;
      this.metrics.lastDrop = reason;
    } else {
      f.linear = out;
      this.metrics.txLinearized++;
    }
    this.complete(f);
    return f.linear;
  }

  /**
   * The hold bound (rx drain timeout): frames built at or before `bornBeforeNs` that still hold
   * the guest's slots are linearized, so their slots are answered; returns how many.
   */
  expire(bornBeforeNs: number): number {
    let n = 0;
    for (const f of this.live) {
      if (f === null || f.bornNs > bornBeforeNs || f.completed) continue;
      this.linearize(f);
      n++;
    }
    return n;
  }

  /** The oldest frame's build time, or null when none holds the guest's slots. */
  oldestNs(): number | null {
    for (const f of this.live) if (f !== null) return f.bornNs;
    return null;
  }

  /** The vif goes away: every frame is linearized (holders keep bytes), then nothing is written. */
  close(): void {
    for (const f of this.live) if (f !== null) this.linearize(f);
    this.closed = true;
  }
}
