// The guest end of the xenstore ring page (Linux drivers/xen/xenbus/xenbus_comms.c xb_write/xb_read
// over struct xenstore_domain_interface, xen/include/public/io/xs_wire.h): free-running uint32
// indices, byte x at x % 1024, data copied in chunks that stop at the ring's end, the index
// published after the data. Indices the other end wrote are checked before use, never trusted.

import { ioErr, ioOk, type IoResult } from '../../hypercalls/io/ring.js';
import {
  MASK_XENSTORE_IDX,
  XENSTORE_RING_SIZE,
  XS_RING_INTERFACE_SIZE,
  XS_RING_REQ_OFFSET,
  XS_RING_RSP_OFFSET,
  xsRing,
} from '../../hypercalls/io/xenstore-ring.js';

import type { GuestPage } from '../platform.js';

const dvOf = (p: Uint8Array): DataView => new DataView(p.buffer, p.byteOffset, p.byteLength);

function pageOf(get: () => Uint8Array | undefined): IoResult<DataView> {
  const p = get();
  if (!p || p.byteLength < XS_RING_INTERFACE_SIZE) return ioErr('xenstore page is not mapped');
  return ioOk(dvOf(p));
}

/**
 * xb_write: copies as much of `data` as the req ring has room for, one chunk per contiguous span,
 * publishing req_prod after each. Returns the bytes written (0 when full).
 */
export function xsRingWrite(page: GuestPage, data: Uint8Array): IoResult<number> {
  const pv = pageOf(() => page.write());
  if (!pv.ok) return pv;
  const dv = pv.value;
  let done = 0;
  while (done < data.length) {
    const cons = xsRing.reqCons(dv);
    const prod = xsRing.reqProd(dv);
    const used = (prod - cons) >>> 0;
    // check_indexes: the consumer index is xenstored's to write, and may be garbage.
    if (used > XENSTORE_RING_SIZE)
      return ioErr(`xenstore req ring: prod ${prod} - cons ${cons} > ${XENSTORE_RING_SIZE}`);
    let chunk = XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(prod);
    chunk = Math.min(chunk, XENSTORE_RING_SIZE - used, data.length - done);
    if (chunk === 0) break;
    const off = XS_RING_REQ_OFFSET + MASK_XENSTORE_IDX(prod);
    new Uint8Array(dv.buffer, dv.byteOffset + off, chunk).set(data.subarray(done, done + chunk));
    // The bytes are in place before the index that publishes them (virt_wmb in xb_write).
    xsRing.setReqProd(dv, (prod + chunk) >>> 0);
    done += chunk;
  }
  return ioOk(done);
}

/** xb_read: takes every byte xenstored has published in the rsp ring and advances rsp_cons. */
export function xsRingRead(page: GuestPage): IoResult<Uint8Array> {
  const pv = pageOf(() => page.read());
  if (!pv.ok) return pv;
  const rv = pv.value;
  const cons = xsRing.rspCons(rv);
  const prod = xsRing.rspProd(rv);
  const avail = (prod - cons) >>> 0;
  if (avail > XENSTORE_RING_SIZE)
    return ioErr(`xenstore rsp ring: prod ${prod} - cons ${cons} > ${XENSTORE_RING_SIZE}`);
  if (avail === 0) return ioOk(new Uint8Array(0));
  const out = new Uint8Array(avail);
  for (let i = 0; i < avail; i++) {
    out[i] = rv.getUint8(XS_RING_RSP_OFFSET + MASK_XENSTORE_IDX((cons + i) >>> 0));
  }
  const wv = pageOf(() => page.write());
  if (!wv.ok) return wv;
  xsRing.setRspCons(wv.value, (cons + avail) >>> 0);
  return ioOk(out);
}

/** Bytes of request the ring can take now (0 when full or corrupt). */
export function xsRingSpace(page: GuestPage): number {
  const pv = pageOf(() => page.read());
  if (!pv.ok) return 0;
  const used = (xsRing.reqProd(pv.value) - xsRing.reqCons(pv.value)) >>> 0;
  return used > XENSTORE_RING_SIZE ? 0 : XENSTORE_RING_SIZE - used;
}
