// Test helper: the guest's side of a xenstore ring page (what a PV kernel's xenbus does).

import {
  XENSTORE_RING_SIZE,
  XS_RING_REQ_OFFSET,
  XS_RING_RSP_OFFSET,
  xsRing,
} from '../../hypercalls/io/xenstore-ring.js';
import { decodeXsMessage, encodeXsMessage, type XsMessage } from '../../hypercalls/io/xs-wire.js';

export class GuestRingSide {
  readonly page = new Uint8Array(4096);
  readonly dv = new DataView(this.page.buffer);
  private rxBuf: number[] = [];

  /** Starts all four indices at `start` (guests must not assume 0). */
  constructor(start = 0) {
    xsRing.setReqCons(this.dv, start);
    xsRing.setReqProd(this.dv, start);
    xsRing.setRspCons(this.dv, start);
    xsRing.setRspProd(this.dv, start);
  }

  /** Writes as many bytes as fit; returns how many. */
  writeBytes(bytes: Uint8Array): number {
    const cons = xsRing.reqCons(this.dv);
    let prod = xsRing.reqProd(this.dv);
    const room = XENSTORE_RING_SIZE - ((prod - cons) >>> 0);
    const n = Math.min(room, bytes.length);
    for (let i = 0; i < n; i++) {
      this.page[XS_RING_REQ_OFFSET + (prod & (XENSTORE_RING_SIZE - 1))] = bytes[i] as number;
      prod = (prod + 1) >>> 0;
    }
    xsRing.setReqProd(this.dv, prod);
    return n;
  }

  send(m: XsMessage): void {
    const b = encodeXsMessage(m);
    if (this.writeBytes(b) !== b.length) throw new Error('request ring full');
  }

  /** Consumes the response ring and returns the complete messages received so far. */
  receive(): XsMessage[] {
    let cons = xsRing.rspCons(this.dv);
    const prod = xsRing.rspProd(this.dv);
    while (cons !== prod) {
      this.rxBuf.push(this.page[XS_RING_RSP_OFFSET + (cons & (XENSTORE_RING_SIZE - 1))] as number);
      cons = (cons + 1) >>> 0;
    }
    xsRing.setRspCons(this.dv, cons);
    const out: XsMessage[] = [];
    let bytes = Uint8Array.from(this.rxBuf);
    for (;;) {
      const r = decodeXsMessage(bytes);
      if (!r.ok) break;
      out.push({ ...r.message, payload: r.message.payload.slice() });
      bytes = bytes.subarray(r.size);
    }
    this.rxBuf = Array.from(bytes);
    return out;
  }
}
