// Shared producer/consumer request-response rings over granted pages, following
// xen/include/public/io/ring.h (sring header, SHARED_RING_INIT, FRONT/BACK_RING_ATTACH,
// RING_PUSH_*_AND_CHECK_NOTIFY, RING_FINAL_CHECK_FOR_*, RING_*_OVERFLOW).
//
// All indices are free-running uint32 (RING_IDX) and every difference is taken `>>> 0`, so the
// ring keeps working when an index wraps at 2^32. The shared header is written by both ends (one
// of them possibly malicious); the private indices live in the ring objects and are trusted.

/**
 * The result of reading or writing a structure in memory another domain can write: a value, or
 * a message naming the field and the cause. Decoders return it and never throw on any bytes.
 */
export type IoResult<T> = { ok: true; value: T } | { ok: false; error: string };
export const ioOk = <T>(value: T): IoResult<T> => ({ ok: true, value });
export const ioErr = (error: string): { ok: false; error: string } => ({ ok: false, error });

/** Checks that `len` bytes at `off` lie inside `view` (used by every decoder and encoder). */
export function checkSpan(
  view: DataView,
  off: number,
  len: number,
  what: string,
): IoResult<undefined> {
  if (!Number.isInteger(off) || off < 0 || off + len > view.byteLength) {
    return ioErr(
      `${what}: ${len} bytes at offset ${off} lie outside a ${view.byteLength}-byte view`,
    );
  }
  return ioOk(undefined);
}

/** True when `v` is an integer in [0, 2^bits) (bits <= 32). */
export const isUint = (v: number, bits: number): boolean =>
  Number.isInteger(v) && v >= 0 && v < 2 ** bits;

/** True when `v` is a bigint in [0, 2^64). */
export const isUint64 = (v: bigint): boolean => v >= 0n && v <= 0xffff_ffff_ffff_ffffn;

// struct *_sring header, 64 bytes. Who writes: req_prod and rsp_event the frontend, rsp_prod and
// req_event the backend; pvt is protocol-specific (netif smartpoll); __pad is zero.
export const SRING_REQ_PROD_OFF = 0;
export const SRING_REQ_EVENT_OFF = 4;
export const SRING_RSP_PROD_OFF = 8;
export const SRING_RSP_EVENT_OFF = 12;
export const SRING_PVT_OFF = 16;
export const SRING_PVT_BYTES = 4;
export const SRING_PAD_OFF = 20;
export const SRING_PAD_BYTES = 44;
/** offsetof(struct *_sring, ring): the first entry follows the 64-byte header. */
export const SRING_HEADER_BYTES = 64;

/** __RD32: rounds a uint32 down to a power of two (0 stays 0). */
export function roundDownPow2(n: number): number {
  if (n < 1) return 0;
  return 2 ** (31 - Math.clz32(n >>> 0));
}

/**
 * __CONST_RING_SIZE: entries that fit after the header in `areaBytes`, rounded down to a power
 * of two so that slot = idx & (size - 1). Returns 0 when not even one entry fits.
 */
export function ringSize(areaBytes: number, entryBytes: number): number {
  if (!isUint(areaBytes, 32) || !Number.isInteger(entryBytes) || entryBytes < 1) return 0;
  if (areaBytes < SRING_HEADER_BYTES) return 0;
  return roundDownPow2(Math.floor((areaBytes - SRING_HEADER_BYTES) / entryBytes));
}

/** The four shared indices of an sring header. */
export interface SringHeader {
  req_prod: number;
  req_event: number;
  rsp_prod: number;
  rsp_event: number;
}

/** Reads the shared indices (never throws: the view is checked to hold the header). */
export function readSringHeader(view: DataView): IoResult<SringHeader> {
  const span = checkSpan(view, 0, SRING_HEADER_BYTES, 'sring header');
  if (!span.ok) return span;
  return ioOk({
    req_prod: view.getUint32(SRING_REQ_PROD_OFF, true),
    req_event: view.getUint32(SRING_REQ_EVENT_OFF, true),
    rsp_prod: view.getUint32(SRING_RSP_PROD_OFF, true),
    rsp_event: view.getUint32(SRING_RSP_EVENT_OFF, true),
  });
}

/**
 * SHARED_RING_INIT: req_prod = rsp_prod = 0, req_event = rsp_event = 1 (so the very first
 * message notifies), pvt and __pad zeroed. Only the frontend initialises the shared ring.
 */
export function sharedRingInit(view: DataView): IoResult<undefined> {
  const span = checkSpan(view, 0, SRING_HEADER_BYTES, 'sring header');
  if (!span.ok) return span;
  view.setUint32(SRING_REQ_PROD_OFF, 0, true);
  view.setUint32(SRING_RSP_PROD_OFF, 0, true);
  view.setUint32(SRING_REQ_EVENT_OFF, 1, true);
  view.setUint32(SRING_RSP_EVENT_OFF, 1, true);
  for (let i = SRING_PVT_OFF; i < SRING_HEADER_BYTES; i++) view.setUint8(i, 0);
  return ioOk(undefined);
}

/**
 * The notify test of RING_PUSH_*_AND_CHECK_NOTIFY: the peer asked to be woken at `event`, and
 * it is due iff `event` lies in (old, new], computed as (new - event) < (new - old) in uint32.
 */
export const ringNeedsNotify = (oldIdx: number, newIdx: number, event: number): boolean =>
  (newIdx - event) >>> 0 < (newIdx - oldIdx) >>> 0;

/** Checks the view and entry size shared by both ring ends; returns nr_ents. */
function attachSize(view: DataView, entryBytes: number, startIdx: number): IoResult<number> {
  const size = ringSize(view.byteLength, entryBytes);
  if (size === 0) {
    return ioErr(`ring: no ${entryBytes}-byte entry fits in a ${view.byteLength}-byte area`);
  }
  if (!isUint(startIdx, 32)) return ioErr(`ring: start index ${startIdx} is not a uint32`);
  return ioOk(size);
}

/** The frontend half (struct *_front_ring): pushes requests, takes responses. */
export class FrontRing {
  readonly view: DataView;
  readonly entryBytes: number;
  /** nr_ents: RING_SIZE. */
  readonly size: number;
  /** req_prod_pvt: next request slot to fill (private, trusted). */
  reqProdPvt: number;
  /** rsp_cons: next response to take (private, trusted). */
  rspCons: number;

  private constructor(view: DataView, entryBytes: number, size: number, startIdx: number) {
    this.view = view;
    this.entryBytes = entryBytes;
    this.size = size;
    this.reqProdPvt = startIdx;
    this.rspCons = startIdx;
  }

  /** FRONT_RING_ATTACH (FRONT_RING_INIT when startIdx is 0); the view is the whole ring area. */
  static attach(view: DataView, entryBytes: number, startIdx = 0): IoResult<FrontRing> {
    const size = attachSize(view, entryBytes, startIdx);
    if (!size.ok) return size;
    return ioOk(new FrontRing(view, entryBytes, size.value, startIdx));
  }

  /** Byte offset in the view of the entry for free-running index `idx`. */
  slotOffset(idx: number): number {
    return SRING_HEADER_BYTES + (idx & (this.size - 1)) * this.entryBytes;
  }

  /** RING_FREE_REQUESTS: size - (req_prod_pvt - rsp_cons). */
  freeRequests(): number {
    return this.size - ((this.reqProdPvt - this.rspCons) >>> 0);
  }

  /** RING_FULL. */
  full(): boolean {
    return this.freeRequests() === 0;
  }

  /**
   * Claims the slot at req_prod_pvt for a new request and advances req_prod_pvt; the caller
   * writes the request there, then calls pushRequestsAndCheckNotify. Refuses when full: a
   * frontend must never have more than RING_SIZE requests outstanding.
   */
  produceRequest(): IoResult<number> {
    if (this.full()) return ioErr('ring: RING_FULL, no free request slot');
    const off = this.slotOffset(this.reqProdPvt);
    this.reqProdPvt = (this.reqProdPvt + 1) >>> 0;
    return ioOk(off);
  }

  /** RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publishes req_prod; true when the backend needs an event. */
  pushRequestsAndCheckNotify(): boolean {
    const oldIdx = this.view.getUint32(SRING_REQ_PROD_OFF, true);
    const newIdx = this.reqProdPvt;
    this.view.setUint32(SRING_REQ_PROD_OFF, newIdx, true);
    return ringNeedsNotify(oldIdx, newIdx, this.view.getUint32(SRING_REQ_EVENT_OFF, true));
  }

  /** XEN_RING_NR_UNCONSUMED_RESPONSES: rsp_prod - rsp_cons (rsp_prod is backend-written). */
  unconsumedResponses(): number {
    return (this.view.getUint32(SRING_RSP_PROD_OFF, true) - this.rspCons) >>> 0;
  }

  /** RING_RESPONSE_PROD_OVERFLOW: can there be this many responses? (an ill-behaved backend) */
  responseProdOverflow(prod: number): boolean {
    return (prod - this.rspCons) >>> 0 > this.size;
  }

  /**
   * Takes the next response: its byte offset (advancing rsp_cons), undefined when there is
   * none, or an error when the backend's rsp_prod is impossible: RING_RESPONSE_PROD_OVERFLOW,
   * or more responses than requests outstanding (which would drive RING_FREE_REQUESTS past size).
   */
  consumeResponse(): IoResult<number | undefined> {
    const prod = this.view.getUint32(SRING_RSP_PROD_OFF, true);
    if (this.responseProdOverflow(prod)) {
      return ioErr(
        `ring: RING_RESPONSE_PROD_OVERFLOW (rsp_prod ${prod}, rsp_cons ${this.rspCons})`,
      );
    }
    if (prod === this.rspCons) return ioOk(undefined);
    if (this.reqProdPvt === this.rspCons) {
      return ioErr(`ring: rsp_prod ${prod} runs past the last request ${this.reqProdPvt}`);
    }
    const off = this.slotOffset(this.rspCons);
    this.rspCons = (this.rspCons + 1) >>> 0;
    return ioOk(off);
  }

  /**
   * RING_FINAL_CHECK_FOR_RESPONSES, before the frontend goes idle: true if responses are
   * waiting; otherwise sets rsp_event = rsp_cons + 1 and checks again, closing the race with a
   * backend that pushed between the two reads.
   */
  finalCheckForResponses(): boolean {
    if (this.unconsumedResponses() !== 0) return true;
    this.view.setUint32(SRING_RSP_EVENT_OFF, (this.rspCons + 1) >>> 0, true);
    return this.unconsumedResponses() !== 0;
  }
}

/** The backend half (struct *_back_ring): takes requests, pushes responses. */
export class BackRing {
  readonly view: DataView;
  readonly entryBytes: number;
  /** nr_ents: RING_SIZE. */
  readonly size: number;
  /** rsp_prod_pvt: next response slot to fill (private, trusted). */
  rspProdPvt: number;
  /** req_cons: next request to take (private, trusted). */
  reqCons: number;

  private constructor(view: DataView, entryBytes: number, size: number, startIdx: number) {
    this.view = view;
    this.entryBytes = entryBytes;
    this.size = size;
    this.rspProdPvt = startIdx;
    this.reqCons = startIdx;
  }

  /** BACK_RING_ATTACH (BACK_RING_INIT when startIdx is 0). Does not touch the shared header. */
  static attach(view: DataView, entryBytes: number, startIdx = 0): IoResult<BackRing> {
    const size = attachSize(view, entryBytes, startIdx);
    if (!size.ok) return size;
    return ioOk(new BackRing(view, entryBytes, size.value, startIdx));
  }

  /** Byte offset in the view of the entry for free-running index `idx`. */
  slotOffset(idx: number): number {
    return SRING_HEADER_BYTES + (idx & (this.size - 1)) * this.entryBytes;
  }

  /**
   * XEN_RING_NR_UNCONSUMED_REQUESTS: min(req_prod - req_cons, size - (req_cons - rsp_prod_pvt));
   * the second bound keeps a lying req_prod from making the backend read slots it has not
   * answered yet.
   */
  unconsumedRequests(): number {
    const req = (this.view.getUint32(SRING_REQ_PROD_OFF, true) - this.reqCons) >>> 0;
    const rsp = (this.size - ((this.reqCons - this.rspProdPvt) >>> 0)) >>> 0;
    return req < rsp ? req : rsp;
  }

  /** RING_REQUEST_PROD_OVERFLOW: can there be this many requests? (an ill-behaved frontend) */
  requestProdOverflow(prod: number): boolean {
    return (prod - this.rspProdPvt) >>> 0 > this.size;
  }

  /** RING_REQUEST_CONS_OVERFLOW: would consuming `cons` overrun unanswered slots? */
  requestConsOverflow(cons: number): boolean {
    return (cons - this.rspProdPvt) >>> 0 >= this.size;
  }

  /**
   * Takes the next request: its byte offset (advancing req_cons), undefined when there is none,
   * or an error on RING_REQUEST_PROD_OVERFLOW (the backend should close the device). The caller
   * copies the entry out before validating it: the frontend may rewrite the slot at any time.
   */
  consumeRequest(): IoResult<number | undefined> {
    const prod = this.view.getUint32(SRING_REQ_PROD_OFF, true);
    if (this.requestProdOverflow(prod)) {
      return ioErr(
        `ring: REQUEST_PROD_OVERFLOW (req_prod ${prod}, rsp_prod_pvt ${this.rspProdPvt}, size ${this.size})`,
      );
    }
    if (this.unconsumedRequests() === 0) return ioOk(undefined);
    const off = this.slotOffset(this.reqCons);
    this.reqCons = (this.reqCons + 1) >>> 0;
    return ioOk(off);
  }

  /**
   * Claims the slot at rsp_prod_pvt for a response and advances rsp_prod_pvt. Refuses when every
   * consumed request already has its response (a response always reuses a consumed request's slot).
   */
  produceResponse(): IoResult<number> {
    if (this.reqCons === this.rspProdPvt) {
      return ioErr('ring: no consumed request is waiting for a response');
    }
    const off = this.slotOffset(this.rspProdPvt);
    this.rspProdPvt = (this.rspProdPvt + 1) >>> 0;
    return ioOk(off);
  }

  /** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publishes rsp_prod; true when the frontend needs an event. */
  pushResponsesAndCheckNotify(): boolean {
    const oldIdx = this.view.getUint32(SRING_RSP_PROD_OFF, true);
    const newIdx = this.rspProdPvt;
    this.view.setUint32(SRING_RSP_PROD_OFF, newIdx, true);
    return ringNeedsNotify(oldIdx, newIdx, this.view.getUint32(SRING_RSP_EVENT_OFF, true));
  }

  /**
   * RING_FINAL_CHECK_FOR_REQUESTS, before the backend goes idle: true if requests are waiting;
   * otherwise sets req_event = req_cons + 1 and checks again.
   */
  finalCheckForRequests(): boolean {
    if (this.unconsumedRequests() !== 0) return true;
    this.view.setUint32(SRING_REQ_EVENT_OFF, (this.reqCons + 1) >>> 0, true);
    return this.unconsumedRequests() !== 0;
  }
}
