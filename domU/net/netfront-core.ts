// The data path of netfront (Linux drivers/net/xen-netfront.c setup_netfront, xennet_start_xmit,
// xennet_tx_buf_gc, xennet_alloc_rx_buffers, xennet_poll, xennet_get_responses): a tx and an rx
// ring page, each granted to the backend, a granted page per tx slot for outgoing frames and one
// per rx slot the backend copies incoming frames into. The rx buffer of a response is found by
// the response's ring slot, as Linux does (xennet_get_rx_ref(queue, cons)), and its id is checked.
// sendFrags transmits without copying the data (xennet_make_txreqs): the frame's head goes into
// the slot's own page, each data piece gets a read-only grant of the page it lies in, and the
// grants are ended when the backend answered (xennet_tx_buf_gc) before the sender may reuse the
// pages. Tx responses are matched by id, so they may come in any order.
// No I/O of its own: pages, grants and the event channel come in through NetfrontIo.

import {
  NETIF_RSP_OKAY,
  NETIF_RX_RING_ENTRY_BYTES,
  NETIF_TX_RING_ENTRY_BYTES,
  NETRXF_more_data,
  NETTXF_more_data,
} from '../../hypercalls/io/netif.js';
import {
  FrontRing,
  SRING_REQ_PROD_OFF,
  SRING_RSP_EVENT_OFF,
  SRING_RSP_PROD_OFF,
  sharedRingInit,
  type IoResult,
} from '../../hypercalls/io/ring.js';
import { PAGE_SIZE } from '../../hypercalls/types.js';
import type { FrontendIo } from '../xenbus/frontend-io.js';
import type { FragsDone, PageFrag } from './page-frag.js';

/** What the rings need from the guest kernel. */
export type NetfrontIo = FrontendIo;

export interface NetfrontCounters {
  txPackets: number;
  txBytes: number;
  txErrors: number;
  rxPackets: number;
  rxBytes: number;
  rxErrors: number;
}

/** Largest frame netfront sends (XEN_NETIF_MAX_TX_SIZE). */
export const NETFRONT_MAX_FRAME = 0xffff;
/** Slots one frame may use (XEN_NETBK_LEGACY_SLOTS_MAX, what netback accepts). */
export const NETFRONT_MAX_SLOTS = 18;

/** nextResponse: no response waiting; the ring is broken. */
const NO_RESPONSE = -1;
const BAD_RING = -2;

interface Buf {
  readonly pfn: number;
  readonly ref: number;
}

export class NetfrontCore {
  readonly tx: FrontRing;
  readonly rx: FrontRing;
  readonly txRef: number;
  readonly rxRef: number;
  readonly counters: NetfrontCounters = {
    txPackets: 0,
    txBytes: 0,
    txErrors: 0,
    rxPackets: 0,
    rxBytes: 0,
    rxErrors: 0,
  };
  /** Set when the backend broke the protocol. */
  broken: string | null = null;
  /**
   * Gets every received frame. A one-slot frame is a view of the rx buffer, valid only during the
   * call (the buffer is reposted after): a receiver that keeps bytes copies them.
   */
  onFrame: (frame: Uint8Array) => void = () => undefined;
  /**
   * When set, gets each multi-slot frame as its rx buffers' views in order (xennet_fill_frags: the
   * buffers become the skb's frags, nothing is copied), valid only during the call; else such a
   * frame is assembled into one array for onFrame.
   */
  onFrameParts: ((parts: readonly Uint8Array[], length: number) => void) | null = null;
  private readonly io: NetfrontIo;
  private readonly ringPfns: number[];
  private readonly txBufs: Buf[];
  private readonly rxBufs: Buf[];
  /** A stack of free tx ids (txFreeTop of them). */
  private readonly txFreeIds: Uint16Array;
  private txFreeTop = 0;
  /** The rx buffer posted in each slot (indexed by slot). */
  private readonly rxSlotBuf: Int32Array;
  private readonly rxParts: Uint8Array[] = [];
  /** rxView's cache, per rx buffer: the view, the page it was made of, its offset. */
  private readonly rxViews: (Uint8Array | undefined)[];
  private readonly rxViewPage: (Uint8Array | undefined)[];
  private readonly rxViewOff: Int32Array;
  /** 1 while a tx id is on the ring. */
  private readonly txInFlight: Uint8Array;
  /** rx buffers whose responses were consumed, reposted once their frame is delivered. */
  private readonly rxPending: Int32Array;
  private rxPendingCount = 0;
  private rxReposted = false;
  /** A bad slot in a multi-slot frame: drop its remaining slots. */
  private skipRest = false;
  /** Per tx id: the grant of a sendFrags data piece (-1: the id's own page). */
  private readonly txFragRef: Int32Array;
  /** Per tx id: 1 + the group of its sendFrags frame, or 0. */
  private readonly txGroup: Uint16Array;
  /** Free group numbers (a stack of txGroupFreeTop). */
  private readonly txGroupFree: Uint16Array;
  private txGroupFreeTop = 0;
  /** Per group: slots not answered yet, and whether all went well. */
  private readonly txGroupLeft: Uint8Array;
  private readonly txGroupOk: Uint8Array;
  private readonly txGroupDone: (FragsDone | undefined)[];

  private constructor(
    io: NetfrontIo,
    rings: { tx: FrontRing; rx: FrontRing; txRef: number; rxRef: number; pfns: number[] },
    txBufs: Buf[],
    rxBufs: Buf[],
  ) {
    this.io = io;
    this.tx = rings.tx;
    this.rx = rings.rx;
    this.txRef = rings.txRef;
    this.rxRef = rings.rxRef;
    this.ringPfns = rings.pfns;
    this.txBufs = txBufs;
    this.rxBufs = rxBufs;
    this.txFreeIds = new Uint16Array(txBufs.length);
    for (let i = txBufs.length - 1; i >= 0; i--) this.txFreeIds[this.txFreeTop++] = i;
    this.rxPending = new Int32Array(rxBufs.length);
    this.rxViews = new Array<Uint8Array | undefined>(rxBufs.length).fill(undefined);
    this.rxViewPage = new Array<Uint8Array | undefined>(rxBufs.length).fill(undefined);
    this.rxViewOff = new Int32Array(rxBufs.length);
    this.rxSlotBuf = new Int32Array(this.rx.size);
    this.txInFlight = new Uint8Array(txBufs.length);
    this.txFragRef = new Int32Array(txBufs.length).fill(-1);
    this.txGroup = new Uint16Array(txBufs.length);
    this.txGroupLeft = new Uint8Array(txBufs.length);
    this.txGroupOk = new Uint8Array(txBufs.length);
    this.txGroupDone = new Array<FragsDone | undefined>(txBufs.length).fill(undefined);
    this.txGroupFree = new Uint16Array(txBufs.length);
    for (let i = txBufs.length - 1; i >= 0; i--) this.txGroupFree[this.txGroupFreeTop++] = i;
  }

  /** setup_netfront + xennet_alloc_rx_buffers: both rings, all buffers granted, rx ring filled. */
  static setup(io: NetfrontIo): IoResult<NetfrontCore> {
    const pfns: number[] = [];
    const grants: number[] = [];
    const fail = (error: string): IoResult<NetfrontCore> => {
      for (const r of grants) io.endAccess(r);
      for (const p of pfns) io.freePage(p);
      return { ok: false, error };
    };
    const page = (readonly: boolean): Buf | string => {
      const pfn = io.allocPage();
      if (pfn < 0) return 'netfront: out of pages';
      pfns.push(pfn);
      const ref = io.grantAccess(io.pfnToMfn(pfn), readonly);
      if (ref < 0) return `netfront: granting page ${pfn}: ${ref}`;
      grants.push(ref);
      return { pfn, ref };
    };
    const ring = (entry: number): { ring: FrontRing; ref: number } | string => {
      const b = page(false);
      if (typeof b === 'string') return b;
      const bytes = io.writableView(b.pfn);
      if (!bytes) return `netfront: ring page ${b.pfn} has no frame`;
      bytes.fill(0);
      const view = new DataView(bytes.buffer, bytes.byteOffset, PAGE_SIZE);
      sharedRingInit(view);
      const r = FrontRing.attach(view, entry);
      return r.ok ? { ring: r.value, ref: b.ref } : r.error;
    };
    const tx = ring(NETIF_TX_RING_ENTRY_BYTES);
    if (typeof tx === 'string') return fail(tx);
    const rx = ring(NETIF_RX_RING_ENTRY_BYTES);
    if (typeof rx === 'string') return fail(rx);
    const ringPfns = [...pfns];
    const txBufs: Buf[] = [];
    const rxBufs: Buf[] = [];
    for (let i = 0; i < tx.ring.size; i++) {
      const b = page(true);
      if (typeof b === 'string') return fail(b);
      txBufs.push(b);
    }
    for (let i = 0; i < rx.ring.size; i++) {
      const b = page(false);
      if (typeof b === 'string') return fail(b);
      rxBufs.push(b);
    }
    const core = new NetfrontCore(
      io,
      { tx: tx.ring, rx: rx.ring, txRef: tx.ref, rxRef: rx.ref, pfns: ringPfns },
      txBufs,
      rxBufs,
    );
    for (let i = 0; i < rxBufs.length; i++) core.postRx(i);
    core.rx.pushRequestsAndCheckNotify();
    return { ok: true, value: core };
  }

  /** Posts rx buffer `b` in the next request slot; the request id is the slot index. */
  private postRx(b: number): void {
    // At most one buffer per slot is ever posted, so the ring has room (RING_FULL cannot hold).
    const slot = this.rx.reqProdPvt & (this.rx.size - 1);
    const off = this.rx.slotOffset(this.rx.reqProdPvt);
    this.rx.reqProdPvt = (this.rx.reqProdPvt + 1) >>> 0;
    this.rxSlotBuf[slot] = b;
    const v = this.rx.view;
    v.setUint16(off, slot, true);
    v.setUint16(off + 2, 0, true);
    v.setUint32(off + 4, (this.rxBufs[b] as Buf).ref, true);
  }

  /** Tx slots free now. */
  get txFree(): number {
    const ring = this.tx.freeRequests();
    return this.txFreeTop < ring ? this.txFreeTop : ring;
  }

  /**
   * xennet_start_xmit: false when the frame is too big or the ring is full (busy: try later).
   * `more` is the stack's xmit_more: another frame follows at once, so the requests are published
   * (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY) and the backend notified once, after the last frame of
   * the run; pushTx() publishes what was queued with `more`.
   */
  send(frame: Uint8Array, more = false): boolean {
    if (this.broken !== null || frame.length === 0 || frame.length > NETFRONT_MAX_FRAME) {
      return false;
    }
    const slots = frame.length <= PAGE_SIZE ? 1 : Math.ceil(frame.length / PAGE_SIZE);
    if (this.txFree < slots) {
      this.collectTx();
      if (this.txFree < slots) {
        this.pushTx();
        return false;
      }
    }
    const v = this.tx.view;
    for (let k = 0; k < slots; k++) {
      const id = this.txFreeIds[this.txFreeTop - 1] as number;
      const buf = this.txBufs[id] as Buf;
      const bytes = this.io.writableView(buf.pfn);
      // Only before the first slot is produced can a failure leave the ring untouched.
      if (!bytes) return false;
      this.txFreeTop--;
      this.txInFlight[id] = 1;
      const chunkBytes =
        slots === 1 ? frame.length : Math.min(PAGE_SIZE, frame.length - k * PAGE_SIZE);
      if (slots === 1) bytes.set(frame, 0);
      else bytes.set(frame.subarray(k * PAGE_SIZE, k * PAGE_SIZE + chunkBytes), 0);
      // txFree said there is room for every slot of the packet.
      const off = this.tx.slotOffset(this.tx.reqProdPvt);
      this.tx.reqProdPvt = (this.tx.reqProdPvt + 1) >>> 0;
      v.setUint32(off, buf.ref, true);
      v.setUint16(off + 4, 0, true);
      v.setUint16(off + 6, k < slots - 1 ? NETTXF_more_data : 0, true);
      v.setUint16(off + 8, id, true);
      // The first slot's size is the whole packet's (netif.h).
      v.setUint16(off + 10, k === 0 ? frame.length : chunkBytes, true);
    }
    this.counters.txPackets++;
    this.counters.txBytes += frame.length;
    if (!more) this.pushTx();
    return true;
  }

  /**
   * xennet_start_xmit for a frame whose data lies in guest pages: `head` (the headers, at most a
   * page) is copied into the slot's own page, then each fragment is granted read-only and gets a
   * slot (NETTXF_more_data chains them). The pages must not be written until `done` is called,
   * after the backend answered every slot and the grants were ended. False (nothing sent, `done`
   * not called) when the frame is too big or has too many pieces, or the ring is full.
   */
  sendFrags(head: Uint8Array, frags: readonly PageFrag[], done: FragsDone, more = false): boolean {
    const slots = 1 + frags.length;
    let total = head.length;
    for (const f of frags) {
      if (f.length <= 0 || f.offset < 0 || f.offset + f.length > PAGE_SIZE) return false;
      total += f.length;
    }
    if (
      this.broken !== null ||
      head.length === 0 ||
      head.length > PAGE_SIZE ||
      slots > NETFRONT_MAX_SLOTS ||
      total > NETFRONT_MAX_FRAME
    ) {
      return false;
    }
    if (this.txFree < slots) {
      this.collectTx();
      if (this.txFree < slots) {
        this.pushTx();
        return false;
      }
    }
    // A frame takes at least one slot, so there is a group number for each frame in flight.
    const first = this.txFreeIds[this.txFreeTop - 1] as number;
    const group = this.txGroupFree[this.txGroupFreeTop - 1] as number;
    const headBytes = this.io.writableView((this.txBufs[first] as Buf).pfn);
    if (!headBytes) return false;
    // gnttab_grant_foreign_access_ref for every piece before any slot is produced; slot k takes
    // the k-th free id from the top.
    const top = this.txFreeTop;
    const ids = this.txFreeIds;
    for (let k = 1; k < slots; k++) {
      const f = frags[k - 1] as PageFrag;
      const ref = this.io.grantAccess(this.io.pfnToMfn(f.pfn), true);
      if (ref < 0) {
        for (let q = 1; q < k; q++) {
          const qid = ids[top - 1 - q] as number;
          this.io.endAccess(this.txFragRef[qid] as number);
          this.txFragRef[qid] = -1;
        }
        return false;
      }
      this.txFragRef[ids[top - 1 - k] as number] = ref;
    }
    headBytes.set(head, 0);
    this.txGroupFreeTop--;
    const v = this.tx.view;
    for (let k = 0; k < slots; k++) {
      const id = this.txFreeIds[--this.txFreeTop] as number;
      this.txInFlight[id] = 1;
      this.txGroup[id] = group + 1;
      const f = k === 0 ? null : (frags[k - 1] as PageFrag);
      if (f === null) this.txFragRef[id] = -1;
      const off = this.tx.slotOffset(this.tx.reqProdPvt);
      this.tx.reqProdPvt = (this.tx.reqProdPvt + 1) >>> 0;
      v.setUint32(
        off,
        f === null ? (this.txBufs[id] as Buf).ref : (this.txFragRef[id] as number),
        true,
      );
      v.setUint16(off + 4, f === null ? 0 : f.offset, true);
      v.setUint16(off + 6, k < slots - 1 ? NETTXF_more_data : 0, true);
      v.setUint16(off + 8, id, true);
      // The first slot's size is the whole packet's (netif.h).
      v.setUint16(off + 10, k === 0 ? total : (f as PageFrag).length, true);
    }
    this.txGroupLeft[group] = slots;
    this.txGroupOk[group] = 1;
    this.txGroupDone[group] = done;
    this.counters.txPackets++;
    this.counters.txBytes += total;
    if (!more) this.pushTx();
    return true;
  }

  /** A slot of a sendFrags frame was answered: end its grant; the last one calls `done`. */
  private fragSlotDone(id: number, ok: boolean): void {
    const ref = this.txFragRef[id] as number;
    this.txFragRef[id] = -1;
    const g = (this.txGroup[id] as number) - 1;
    this.txGroup[id] = 0;
    // gnttab_end_foreign_access_ref: fails while the backend still has the page mapped.
    if ((ref >= 0 && !this.io.endAccess(ref)) || !ok) this.txGroupOk[g] = 0;
    const left = (this.txGroupLeft[g] as number) - 1;
    this.txGroupLeft[g] = left;
    if (left !== 0) return;
    const done = this.txGroupDone[g];
    this.txGroupDone[g] = undefined;
    this.txGroupFree[this.txGroupFreeTop++] = g;
    done?.(this.txGroupOk[g] === 1);
  }

  /** RING_PUSH_REQUESTS_AND_CHECK_NOTIFY for the tx ring, and the event if the backend asked. */
  pushTx(): void {
    if (this.tx.reqProdPvt === this.tx.view.getUint32(SRING_REQ_PROD_OFF, true)) return;
    if (this.tx.pushRequestsAndCheckNotify()) this.io.notify();
  }

  /**
   * The next response's offset (advancing rsp_cons), NO_RESPONSE, or BAD_RING after marking the
   * core broken: FrontRing.consumeResponse's checks (RING_RESPONSE_PROD_OVERFLOW, responses past
   * the last request) without a result object per response.
   */
  private nextResponse(ring: FrontRing, what: string): number {
    const prod = ring.view.getUint32(SRING_RSP_PROD_OFF, true);
    const cons = ring.rspCons;
    if (prod === cons) return NO_RESPONSE;
    if ((prod - cons) >>> 0 > ring.size) {
      this.broken = `netfront ${what}: ring: RING_RESPONSE_PROD_OVERFLOW (rsp_prod ${prod}, rsp_cons ${cons})`;
      return BAD_RING;
    }
    if (ring.reqProdPvt === cons) {
      this.broken = `netfront ${what}: ring: rsp_prod ${prod} runs past the last request ${ring.reqProdPvt}`;
      return BAD_RING;
    }
    ring.rspCons = (cons + 1) >>> 0;
    return ring.slotOffset(cons);
  }

  /** xennet_tx_buf_gc: takes tx responses, frees their slots. */
  collectTx(): number {
    let n = 0;
    const ring = this.tx;
    const v = ring.view;
    for (;;) {
      const off = this.nextResponse(ring, 'tx');
      if (off === BAD_RING) return n;
      if (off === NO_RESPONSE) {
        if (ring.finalCheckForResponses()) continue;
        return n;
      }
      const id = v.getUint16(off, true);
      const status = v.getInt16(off + 2, true);
      if (status === 1) continue; // NETIF_RSP_NULL: an extra-info slot
      if (this.txInFlight[id] !== 1) {
        this.broken = `netfront tx: response for id ${id} that is not in flight`;
        return n;
      }
      if (status !== NETIF_RSP_OKAY) this.counters.txErrors++;
      this.txInFlight[id] = 0;
      this.txFreeIds[this.txFreeTop++] = id;
      if (this.txGroup[id] !== 0) this.fragSlotDone(id, status === NETIF_RSP_OKAY);
      n++;
    }
  }

  /** xennet_poll: takes rx responses (up to `budget` frames), reposts buffers, delivers frames. */
  pollRx(budget = Infinity): number {
    let frames = 0;
    const ring = this.rx;
    const v = ring.view;
    const mask = ring.size - 1;
    while (frames < budget) {
      const off = this.nextResponse(ring, 'rx');
      if (off === BAD_RING) break;
      if (off === NO_RESPONSE) {
        if (ring.finalCheckForResponses()) continue;
        break;
      }
      const slot = (ring.rspCons - 1) & mask;
      const b = this.rxSlotBuf[slot] as number;
      const id = v.getUint16(off, true);
      const offset = v.getUint16(off + 2, true);
      const flags = v.getUint16(off + 4, true);
      const status = v.getInt16(off + 6, true);
      const buf = this.rxBufs[b] as Buf;
      let bad = id !== slot || status <= 0 || offset + status > PAGE_SIZE;
      let part: Uint8Array | null = null;
      if (!bad) {
        const bytes = this.io.view(buf.pfn);
        if (bytes) part = this.rxView(b, bytes, offset, status);
        else bad = true;
      }
      this.rxPending[this.rxPendingCount++] = b;
      if (bad || part === null) {
        this.counters.rxErrors++;
        this.rxParts.length = 0;
        // A bad last slot ends its frame: nothing of it is left to skip.
        this.skipRest = (flags & NETRXF_more_data) !== 0;
        continue;
      }
      if (flags & NETRXF_more_data || this.rxParts.length > 0) {
        this.rxParts.push(part);
        if (flags & NETRXF_more_data) continue;
      }
      if (this.skipRest) {
        this.skipRest = false;
        this.rxParts.length = 0;
        continue;
      }
      frames++;
      this.counters.rxPackets++;
      const parts = this.rxParts;
      if (parts.length !== 0 && this.onFrameParts !== null) {
        let len = 0;
        for (const p of parts) len += p.length;
        this.counters.rxBytes += len;
        this.onFrameParts(parts, len);
        parts.length = 0;
        this.repost();
        continue;
      }
      // A one-slot frame is the buffer itself; a multi-slot one is assembled.
      const frame = parts.length === 0 ? part : this.assemble();
      this.counters.rxBytes += frame.length;
      this.onFrame(frame);
      this.repost();
    }
    this.repost();
    if (this.rxReposted && this.rx.pushRequestsAndCheckNotify()) this.io.notify();
    this.rxReposted = false;
    return frames;
  }

  /**
   * The `len` bytes at `offset` of rx buffer `b` (whose page is `bytes` now): the view made last
   * time when the page, offset and length are the same (a stream of equal-sized frames), else a
   * new one. Receivers may use a view only during delivery, so handing the same one out again is
   * as safe as handing out a new view of the same bytes.
   */
  private rxView(b: number, bytes: Uint8Array, offset: number, len: number): Uint8Array {
    const v = this.rxViews[b];
    if (
      v !== undefined &&
      this.rxViewPage[b] === bytes &&
      this.rxViewOff[b] === offset &&
      v.length === len
    ) {
      return v;
    }
    const nv = bytes.subarray(offset, offset + len);
    this.rxViews[b] = nv;
    this.rxViewPage[b] = bytes;
    this.rxViewOff[b] = offset;
    return nv;
  }

  /** Posts the buffers of the frames consumed so far again (after their frame was delivered). */
  private repost(): void {
    const n = this.rxPendingCount;
    if (n === 0) return;
    for (let i = 0; i < n; i++) this.postRx(this.rxPending[i] as number);
    this.rxPendingCount = 0;
    this.rxReposted = true;
  }

  /** The frame of the collected parts (a copy). */
  private assemble(): Uint8Array {
    const parts = this.rxParts;
    let len = 0;
    for (const p of parts) len += p.length;
    const out = new Uint8Array(len);
    let pos = 0;
    for (const p of parts) {
      out.set(p, pos);
      pos += p.length;
    }
    parts.length = 0;
    return out;
  }

  /** The event handler: both rings. */
  onEvent(): void {
    this.collectTx();
    this.pollRx();
  }

  /** Ends every grant and frees every page (xennet_disconnect_backend). */
  teardown(): void {
    // Pieces still granted: revoke them; their frames' senders learn they were not sent.
    for (let id = 0; id < this.txBufs.length; id++) {
      if (this.txInFlight[id] === 1 && this.txGroup[id] !== 0) {
        this.txInFlight[id] = 0;
        this.fragSlotDone(id, false);
      }
    }
    for (const b of [...this.txBufs, ...this.rxBufs]) {
      this.io.endAccess(b.ref);
      this.io.freePage(b.pfn);
    }
    this.io.endAccess(this.txRef);
    this.io.endAccess(this.rxRef);
    for (const p of this.ringPfns) this.io.freePage(p);
    this.broken = 'netfront: torn down';
  }

  /** req_prod as published on the tx ring (for tests and diagnostics). */
  get txReqProd(): number {
    return this.tx.view.getUint32(SRING_REQ_PROD_OFF, true);
  }

  /** rsp_event on the rx ring (for tests and diagnostics). */
  get rxRspEvent(): number {
    return this.rx.view.getUint32(SRING_RSP_EVENT_OFF, true);
  }
}
