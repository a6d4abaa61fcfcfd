// xenstored's side of a guest's xenstore ring page (tools/xenstore/xenstored_domain.c
// readchn/writechn, xs_wire.h xenstore_domain_interface): whole xs_wire messages are reassembled
// from the request ring and replies streamed into the response ring, over a plain 4 KiB page.
// A guest that corrupts an index or sends an oversized message has its connection dropped.

import {
  XENSTORE_CONNECTED,
  XENSTORE_ERROR_PROTO,
  XENSTORE_ERROR_RINGIDX,
  XENSTORE_PAYLOAD_MAX,
  XENSTORE_RECONNECT,
  XENSTORE_SERVER_FEATURE_ERROR,
  XENSTORE_SERVER_FEATURE_RECONNECTION,
  XSD_SOCKMSG_SIZE,
  XS_WATCH_EVENT,
  encodeXsMessage,
  type XsMessage,
} from '../../hypercalls/io/xs-wire.js';
import {
  XENSTORE_RING_SIZE,
  XS_RING_REQ_OFFSET,
  XS_RING_RSP_OFFSET,
  xsRing,
} from '../../hypercalls/io/xenstore-ring.js';

/** Messages waiting for ring space beyond which new watch events are dropped. */
export const MAX_QUEUED_MESSAGES = 1024;

export type RingFault = 'bad-ring-index' | 'message-too-long';

export interface RingTransportOptions {
  /** Signals the guest (the event channel, later). */
  notify: () => void;
  /** A complete request arrived. */
  onMessage: (m: XsMessage) => void;
  /** The guest broke the protocol: the transport has stopped; drop the connection. */
  onFault: (f: RingFault) => void;
  /** The guest asked for a reconnect (connection = XENSTORE_RECONNECT): forget its state. */
  onReset?: () => void;
  /** Replies waiting beyond which no more requests are read (quota `outstanding`). */
  maxQueuedReplies?: number;
}

export class XsRingTransport {
  private readonly page: Uint8Array;
  private readonly dv: DataView;
  private readonly opts: RingTransportOptions;
  /** Request being reassembled: header then payload. */
  private readonly inBuf = new Uint8Array(XSD_SOCKMSG_SIZE + XENSTORE_PAYLOAD_MAX);
  private inUsed = 0;
  /** Encoded replies not yet (fully) in the response ring. */
  private readonly outQueue: Uint8Array[] = [];
  private outOff = 0;
  broken: RingFault | null = null;

  constructor(page: Uint8Array, opts: RingTransportOptions) {
    if (page.length < 4096) throw new RangeError('xenstore ring page must be 4 KiB');
    this.page = page;
    this.dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
    this.opts = opts;
    xsRing.setServerFeatures(
      this.dv,
      XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR,
    );
  }

  /** Replies and events waiting for room in the response ring. */
  get queued(): number {
    return this.outQueue.length;
  }

  /** Watch events dropped because the guest did not drain its ring. */
  droppedEvents = 0;

  /** Queues a message for the guest and writes what fits. */
  send(m: XsMessage): void {
    if (this.broken) return;
    // A guest that never reads cannot make xenstored hold unbounded events (XSA-326 spirit);
    // replies are always kept, as the request quota already bounds them.
    if (m.type === XS_WATCH_EVENT && this.outQueue.length >= MAX_QUEUED_MESSAGES) {
      this.droppedEvents++;
      return;
    }
    this.outQueue.push(encodeXsMessage(m));
    this.flush();
  }

  /** The event channel fired: handle a reconnect, drain replies, then read requests. */
  kick(): void {
    if (this.broken) return;
    if (xsRing.connection(this.dv) === XENSTORE_RECONNECT) this.reconnect();
    this.flush();
    this.readRequests();
    this.flush();
  }

  private reconnect(): void {
    this.inUsed = 0;
    this.outQueue.length = 0;
    this.outOff = 0;
    this.opts.onReset?.();
    xsRing.setReqCons(this.dv, 0);
    xsRing.setReqProd(this.dv, 0);
    xsRing.setRspCons(this.dv, 0);
    xsRing.setRspProd(this.dv, 0);
    xsRing.setConnection(this.dv, XENSTORE_CONNECTED);
    this.opts.notify();
  }

  private fault(f: RingFault): void {
    this.broken = f;
    xsRing.setError(
      this.dv,
      f === 'bad-ring-index' ? XENSTORE_ERROR_RINGIDX : XENSTORE_ERROR_PROTO,
    );
    this.outQueue.length = 0;
    this.opts.notify();
    this.opts.onFault(f);
  }

  /** Writes queued bytes into the response ring (writechn). */
  private flush(): void {
    if (this.outQueue.length === 0) return;
    const dv = this.dv;
    const cons = xsRing.rspCons(dv);
    let prod = xsRing.rspProd(dv);
    const used = (prod - cons) >>> 0;
    if (used > XENSTORE_RING_SIZE) return this.fault('bad-ring-index');
    let room = XENSTORE_RING_SIZE - used;
    let wrote = false;
    while (room > 0 && this.outQueue.length) {
      const msg = this.outQueue[0] as Uint8Array;
      const off = prod & (XENSTORE_RING_SIZE - 1);
      const n = Math.min(room, msg.length - this.outOff, XENSTORE_RING_SIZE - off);
      this.page.set(msg.subarray(this.outOff, this.outOff + n), XS_RING_RSP_OFFSET + off);
      prod = (prod + n) >>> 0;
      room -= n;
      this.outOff += n;
      wrote = true;
      if (this.outOff === msg.length) {
        this.outQueue.shift();
        this.outOff = 0;
      }
    }
    if (!wrote) return;
    // Data before index: the guest reads rsp_prod, then the bytes below it.
    xsRing.setRspProd(dv, prod);
    this.opts.notify();
  }

  /** Reads whole requests from the request ring (readchn) and hands them on. */
  private readRequests(): void {
    const dv = this.dv;
    const max = this.opts.maxQueuedReplies ?? Infinity;
    let consumed = false;
    while (!this.broken && this.outQueue.length < max) {
      let cons = xsRing.reqCons(dv);
      const prod = xsRing.reqProd(dv);
      const avail = (prod - cons) >>> 0;
      if (avail > XENSTORE_RING_SIZE) return this.fault('bad-ring-index');
      if (avail === 0) break;
      const want =
        this.inUsed < XSD_SOCKMSG_SIZE
          ? XSD_SOCKMSG_SIZE - this.inUsed
          : XSD_SOCKMSG_SIZE + this.payloadLen() - this.inUsed;
      const off = cons & (XENSTORE_RING_SIZE - 1);
      const n = Math.min(want, avail, XENSTORE_RING_SIZE - off);
      this.inBuf.set(
        this.page.subarray(XS_RING_REQ_OFFSET + off, XS_RING_REQ_OFFSET + off + n),
        this.inUsed,
      );
      this.inUsed += n;
      cons = (cons + n) >>> 0;
      xsRing.setReqCons(dv, cons);
      consumed = true;
      if (this.inUsed === XSD_SOCKMSG_SIZE && this.payloadLen() > XENSTORE_PAYLOAD_MAX)
        return this.fault('message-too-long');
      if (this.inUsed >= XSD_SOCKMSG_SIZE && this.inUsed === XSD_SOCKMSG_SIZE + this.payloadLen())
        this.deliver();
    }
    if (consumed) this.opts.notify();
  }

  private payloadLen(): number {
    return new DataView(this.inBuf.buffer).getUint32(12, true);
  }

  private deliver(): void {
    const hv = new DataView(this.inBuf.buffer);
    const len = hv.getUint32(12, true);
    const m: XsMessage = {
      type: hv.getUint32(0, true),
      reqId: hv.getUint32(4, true),
      txId: hv.getUint32(8, true),
      payload: this.inBuf.slice(XSD_SOCKMSG_SIZE, XSD_SOCKMSG_SIZE + len),
    };
    this.inUsed = 0;
    this.opts.onMessage(m);
  }
}
