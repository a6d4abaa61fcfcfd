import { describe, expect, it } from 'vitest';
import {
  BackRing,
  FrontRing,
  SRING_HEADER_BYTES,
  SRING_PAD_OFF,
  SRING_PVT_OFF,
  SRING_REQ_EVENT_OFF,
  SRING_REQ_PROD_OFF,
  SRING_RSP_EVENT_OFF,
  SRING_RSP_PROD_OFF,
  readSringHeader,
  ringNeedsNotify,
  ringSize,
  roundDownPow2,
  sharedRingInit,
} from '../../hypercalls/io/ring.js';
import { hex, page, zeros } from './hex.js';

function setHeader(
  view: DataView,
  h: Partial<Record<'req_prod' | 'req_event' | 'rsp_prod' | 'rsp_event', number>>,
) {
  if (h.req_prod !== undefined) view.setUint32(SRING_REQ_PROD_OFF, h.req_prod, true);
  if (h.req_event !== undefined) view.setUint32(SRING_REQ_EVENT_OFF, h.req_event, true);
  if (h.rsp_prod !== undefined) view.setUint32(SRING_RSP_PROD_OFF, h.rsp_prod, true);
  if (h.rsp_event !== undefined) view.setUint32(SRING_RSP_EVENT_OFF, h.rsp_event, true);
}

function attach(entryBytes: number, start = 0) {
  const { mem, view } = page();
  sharedRingInit(view);
  setHeader(view, {
    req_prod: start,
    rsp_prod: start,
    req_event: (start + 1) >>> 0,
    rsp_event: (start + 1) >>> 0,
  });
  const front = FrontRing.attach(view, entryBytes, start);
  const back = BackRing.attach(view, entryBytes, start);
  if (!front.ok || !back.ok) throw new Error('attach failed');
  return { mem, view, front: front.value, back: back.value };
}

describe('sring header (ring.h)', () => {
  it('places req_prod, req_event, rsp_prod, rsp_event, pvt, __pad at 0, 4, 8, 12, 16, 20 and the ring at 64', () => {
    expect([
      SRING_REQ_PROD_OFF,
      SRING_REQ_EVENT_OFF,
      SRING_RSP_PROD_OFF,
      SRING_RSP_EVENT_OFF,
    ]).toEqual([0, 4, 8, 12]);
    expect([SRING_PVT_OFF, SRING_PAD_OFF, SRING_HEADER_BYTES]).toEqual([16, 20, 64]);
  });

  it('SHARED_RING_INIT writes prod 0, event 1 and zeroes pvt and __pad (golden bytes)', () => {
    const { mem, view } = page();
    mem.fill(0xaa, 0, 64);
    expect(sharedRingInit(view).ok).toBe(true);
    expect(mem.subarray(0, 64)).toEqual(hex(`00000000 01000000 00000000 01000000 ${zeros(48)}`));
    expect(mem[64]).toBe(0);
    expect(readSringHeader(view)).toEqual({
      ok: true,
      value: { req_prod: 0, req_event: 1, rsp_prod: 0, rsp_event: 1 },
    });
  });

  it('refuses a view too small for the header instead of throwing', () => {
    const view = new DataView(new ArrayBuffer(63));
    expect(sharedRingInit(view).ok).toBe(false);
    expect(readSringHeader(view).ok).toBe(false);
  });
});

describe('ring size (__CONST_RING_SIZE, __RD32)', () => {
  it('rounds down to a power of two', () => {
    expect([0, 1, 2, 3, 4, 5, 31, 32, 33, 336, 504, 0xffffffff].map(roundDownPow2)).toEqual([
      0, 1, 2, 2, 4, 4, 16, 32, 32, 256, 256, 0x80000000,
    ]);
  });

  it('gives 32 blkif entries, 256 netif tx and rx entries and 2 xenstore-sized 2 KiB entries per page', () => {
    expect(ringSize(4096, 112)).toBe(32);
    expect(ringSize(4096, 12)).toBe(256);
    expect(ringSize(4096, 8)).toBe(256);
    expect(ringSize(4096, 64)).toBe(32); // 63 fit
    expect(ringSize(4096, 2016)).toBe(2);
    expect(ringSize(8192, 112)).toBe(64); // ring-page-order 1
  });

  it('is 0 when no entry fits, and attach refuses such an area', () => {
    expect(ringSize(64, 8)).toBe(0);
    expect(ringSize(4096, 4033)).toBe(0);
    expect(ringSize(4096, 0)).toBe(0);
    const { view } = page(100);
    expect(FrontRing.attach(view, 40).ok).toBe(false);
    expect(BackRing.attach(view, 36).ok).toBe(true); // 100 - 64 = 36: exactly one entry
  });
});

describe('notification hold-off (RING_PUSH_*_AND_CHECK_NOTIFY)', () => {
  it('notifies iff the event index lies in (old, new], across the 2^32 wrap', () => {
    expect(ringNeedsNotify(0, 1, 1)).toBe(true);
    expect(ringNeedsNotify(1, 2, 1)).toBe(false);
    expect(ringNeedsNotify(5, 9, 9)).toBe(true);
    expect(ringNeedsNotify(5, 9, 10)).toBe(false);
    expect(ringNeedsNotify(5, 5, 6)).toBe(false);
    expect(ringNeedsNotify(0xfffffffe, 2, 0xffffffff)).toBe(true);
    expect(ringNeedsNotify(0xfffffffe, 2, 0)).toBe(true);
    expect(ringNeedsNotify(0xfffffffe, 2, 3)).toBe(false);
    expect(ringNeedsNotify(0xfffffffe, 2, 0xfffffffe)).toBe(false);
  });

  it('the first request on a fresh ring notifies (req_event starts at 1), the second batch does not', () => {
    const { front, view } = attach(112);
    expect(front.produceRequest()).toEqual({ ok: true, value: 64 });
    expect(front.pushRequestsAndCheckNotify()).toBe(true);
    expect(view.getUint32(SRING_REQ_PROD_OFF, true)).toBe(1);
    front.produceRequest();
    expect(front.pushRequestsAndCheckNotify()).toBe(false);
  });

  it('after the backend final check goes idle, the next push notifies again', () => {
    const { front, back, view } = attach(112, 0xfffffffe);
    front.produceRequest();
    front.produceRequest();
    front.produceRequest();
    expect(front.pushRequestsAndCheckNotify()).toBe(true); // req_event 0xffffffff in (fffffffe, 1]
    while (true) {
      const r = back.consumeRequest();
      if (!r.ok || r.value === undefined) break;
    }
    expect(back.reqCons).toBe(1);
    expect(back.finalCheckForRequests()).toBe(false);
    expect(view.getUint32(SRING_REQ_EVENT_OFF, true)).toBe(2);
    front.produceRequest();
    expect(front.pushRequestsAndCheckNotify()).toBe(true);
  });

  it('final check reports work without moving the event when requests are waiting', () => {
    const { front, back, view } = attach(112);
    front.produceRequest();
    front.pushRequestsAndCheckNotify();
    expect(back.finalCheckForRequests()).toBe(true);
    expect(view.getUint32(SRING_REQ_EVENT_OFF, true)).toBe(1);
  });

  it('responses notify the frontend through rsp_event, and RING_FINAL_CHECK_FOR_RESPONSES sets rsp_event = rsp_cons + 1', () => {
    const { front, back, view } = attach(8);
    front.produceRequest();
    front.pushRequestsAndCheckNotify();
    back.consumeRequest();
    expect(back.produceResponse().ok).toBe(true);
    expect(back.pushResponsesAndCheckNotify()).toBe(true);
    expect(front.consumeResponse()).toEqual({ ok: true, value: 64 });
    expect(front.finalCheckForResponses()).toBe(false);
    expect(view.getUint32(SRING_RSP_EVENT_OFF, true)).toBe(2);
  });
});

describe('free and unconsumed counts', () => {
  it('RING_FREE_REQUESTS falls to 0 (RING_FULL) after size requests and the next produce is refused', () => {
    const { front } = attach(112, 0xfffffff0);
    for (let i = 0; i < 32; i++) expect(front.produceRequest().ok).toBe(true);
    expect(front.freeRequests()).toBe(0);
    expect(front.full()).toBe(true);
    expect(front.produceRequest().ok).toBe(false);
    expect(front.reqProdPvt).toBe(0x10);
  });

  it('slots wrap with the index: idx & (size - 1)', () => {
    const { front } = attach(112, 0xffffffff);
    expect(front.slotOffset(0xffffffff)).toBe(64 + 31 * 112);
    expect(front.produceRequest()).toEqual({ ok: true, value: 64 + 31 * 112 });
    expect(front.produceRequest()).toEqual({ ok: true, value: 64 });
  });

  it('a backend cannot answer a request it has not consumed', () => {
    const { back } = attach(112);
    expect(back.produceResponse().ok).toBe(false);
  });
});

describe('ill-behaved peers', () => {
  it('REQUEST_PROD_OVERFLOW: req_prod more than size past rsp_prod_pvt is an error, not a read', () => {
    const { back, view } = attach(112, 0xfffffff8);
    view.setUint32(SRING_REQ_PROD_OFF, (0xfffffff8 + 33) >>> 0, true);
    expect(back.requestProdOverflow((0xfffffff8 + 33) >>> 0)).toBe(true);
    const r = back.consumeRequest();
    expect(r.ok).toBe(false);
    expect(back.reqCons).toBe(0xfffffff8);
  });

  it('req_prod exactly size ahead is accepted, and consumption stops at size unanswered requests', () => {
    const { back, view } = attach(112, 0xfffffff8);
    view.setUint32(SRING_REQ_PROD_OFF, (0xfffffff8 + 32) >>> 0, true);
    let n = 0;
    while (true) {
      const r = back.consumeRequest();
      expect(r.ok).toBe(true);
      if (!r.ok || r.value === undefined) break;
      n++;
    }
    expect(n).toBe(32);
    expect(back.unconsumedRequests()).toBe(0);
    expect(back.requestConsOverflow(back.reqCons)).toBe(true);
  });

  it('a req_prod behind req_cons yields no requests rather than 2^32 of them', () => {
    const { back, view } = attach(112, 10);
    view.setUint32(SRING_REQ_PROD_OFF, 5, true);
    const r = back.consumeRequest();
    expect(r.ok).toBe(false); // 5 - 10 wraps to a huge count: REQUEST_PROD_OVERFLOW
  });

  it('RING_RESPONSE_PROD_OVERFLOW and responses beyond the requests sent are errors for the frontend', () => {
    const { front, view } = attach(8, 0xffffffff);
    view.setUint32(SRING_RSP_PROD_OFF, (0xffffffff + 257) >>> 0, true);
    expect(front.consumeResponse().ok).toBe(false);
    view.setUint32(SRING_RSP_PROD_OFF, 3, true); // 4 responses, 0 requests outstanding
    expect(front.consumeResponse().ok).toBe(false);
    expect(front.freeRequests()).toBe(256);
  });
});
