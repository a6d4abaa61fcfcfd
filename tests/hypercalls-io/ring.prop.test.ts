// Ring property tests across the 2^32 index wrap: the implementation keeps wrapped uint32
// indices; the model keeps unbounded counters relative to the start index and states the
// ring.h rules as plain interval arithmetic, so the two formulations check each other.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BackRing,
  FrontRing,
  SRING_REQ_EVENT_OFF,
  SRING_REQ_PROD_OFF,
  SRING_RSP_EVENT_OFF,
  SRING_RSP_PROD_OFF,
  sharedRingInit,
} from '../../hypercalls/io/ring.js';

const U32 = 2 ** 32;
const wrap = (n: number): number => ((n % U32) + U32) % U32;

type Op =
  | { kind: 'frontPush'; n: number }
  | { kind: 'backConsume'; n: number }
  | { kind: 'backRespond'; n: number }
  | { kind: 'frontConsume'; n: number }
  | { kind: 'backFinal' }
  | { kind: 'frontFinal' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('frontPush' as const), n: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ kind: fc.constant('backConsume' as const), n: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ kind: fc.constant('backRespond' as const), n: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ kind: fc.constant('frontConsume' as const), n: fc.integer({ min: 0, max: 40 }) }),
  fc.constant({ kind: 'backFinal' as const }),
  fc.constant({ kind: 'frontFinal' as const }),
);

/** Unbounded counters, all relative to the start index. */
interface Model {
  reqProduced: number;
  reqPublished: number;
  reqConsumed: number;
  rspProduced: number;
  rspPublished: number;
  rspConsumed: number;
  /** Counter value the backend asked to be woken at (req_event = start + reqEventAt). */
  reqEventAt: number;
  rspEventAt: number;
}

/** ring.h: notify iff the event index lies in (old, new]. */
const modelNotify = (oldAt: number, newAt: number, eventAt: number): boolean =>
  oldAt < eventAt && eventAt <= newAt;

function run(start: number, entryBytes: number, ops: Op[]): void {
  const mem = new Uint8Array(4096);
  const view = new DataView(mem.buffer);
  sharedRingInit(view);
  // Attach both ends at `start` (as after a restore): the shared indices follow.
  view.setUint32(SRING_REQ_PROD_OFF, start, true);
  view.setUint32(SRING_RSP_PROD_OFF, start, true);
  view.setUint32(SRING_REQ_EVENT_OFF, wrap(start + 1), true);
  view.setUint32(SRING_RSP_EVENT_OFF, wrap(start + 1), true);
  const fr = FrontRing.attach(view, entryBytes, start);
  const br = BackRing.attach(view, entryBytes, start);
  if (!fr.ok || !br.ok) throw new Error('attach');
  const front = fr.value;
  const back = br.value;
  const size = front.size;
  const m: Model = {
    reqProduced: 0,
    reqPublished: 0,
    reqConsumed: 0,
    rspProduced: 0,
    rspPublished: 0,
    rspConsumed: 0,
    reqEventAt: 1,
    rspEventAt: 1,
  };

  for (const op of ops) {
    switch (op.kind) {
      case 'frontPush': {
        for (let i = 0; i < op.n; i++) {
          const r = front.produceRequest();
          const free = size - (m.reqProduced - m.rspConsumed);
          expect(r.ok).toBe(free > 0);
          if (!r.ok) break;
          view.setUint32(r.value, m.reqProduced, true); // tag: the request's sequence number
          m.reqProduced++;
        }
        const notify = front.pushRequestsAndCheckNotify();
        expect(notify).toBe(modelNotify(m.reqPublished, m.reqProduced, m.reqEventAt));
        m.reqPublished = m.reqProduced;
        break;
      }
      case 'backConsume': {
        for (let i = 0; i < op.n; i++) {
          const r = back.consumeRequest();
          expect(r.ok).toBe(true);
          if (!r.ok) break;
          const waiting = Math.min(
            m.reqPublished - m.reqConsumed,
            size - (m.reqConsumed - m.rspProduced),
          );
          expect(r.value === undefined).toBe(waiting === 0);
          if (r.value === undefined) break;
          expect(view.getUint32(r.value, true)).toBe(m.reqConsumed);
          m.reqConsumed++;
        }
        break;
      }
      case 'backRespond': {
        for (let i = 0; i < op.n; i++) {
          const r = back.produceResponse();
          expect(r.ok).toBe(m.rspProduced < m.reqConsumed);
          if (!r.ok) break;
          view.setUint32(r.value, m.rspProduced + 0x40000000, true);
          m.rspProduced++;
        }
        const notify = back.pushResponsesAndCheckNotify();
        expect(notify).toBe(modelNotify(m.rspPublished, m.rspProduced, m.rspEventAt));
        m.rspPublished = m.rspProduced;
        break;
      }
      case 'frontConsume': {
        for (let i = 0; i < op.n; i++) {
          const r = front.consumeResponse();
          expect(r.ok).toBe(true);
          if (!r.ok) break;
          expect(r.value === undefined).toBe(m.rspPublished === m.rspConsumed);
          if (r.value === undefined) break;
          expect(view.getUint32(r.value, true)).toBe(m.rspConsumed + 0x40000000);
          m.rspConsumed++;
        }
        break;
      }
      case 'backFinal': {
        const work = back.finalCheckForRequests();
        expect(work).toBe(m.reqPublished > m.reqConsumed);
        if (!work) m.reqEventAt = m.reqConsumed + 1;
        expect(view.getUint32(SRING_REQ_EVENT_OFF, true)).toBe(wrap(start + m.reqEventAt));
        break;
      }
      case 'frontFinal': {
        const work = front.finalCheckForResponses();
        expect(work).toBe(m.rspPublished > m.rspConsumed);
        if (!work) m.rspEventAt = m.rspConsumed + 1;
        expect(view.getUint32(SRING_RSP_EVENT_OFF, true)).toBe(wrap(start + m.rspEventAt));
        break;
      }
    }
    // Every wrapped index equals start + counter mod 2^32, and the counts agree with the model.
    expect(front.reqProdPvt).toBe(wrap(start + m.reqProduced));
    expect(front.rspCons).toBe(wrap(start + m.rspConsumed));
    expect(back.reqCons).toBe(wrap(start + m.reqConsumed));
    expect(back.rspProdPvt).toBe(wrap(start + m.rspProduced));
    expect(view.getUint32(SRING_REQ_PROD_OFF, true)).toBe(wrap(start + m.reqPublished));
    expect(view.getUint32(SRING_RSP_PROD_OFF, true)).toBe(wrap(start + m.rspPublished));
    expect(front.freeRequests()).toBe(size - (m.reqProduced - m.rspConsumed));
    expect(front.unconsumedResponses()).toBe(m.rspPublished - m.rspConsumed);
    expect(back.unconsumedRequests()).toBe(m.reqPublished - m.reqConsumed);
  }
}

const startArb = fc.oneof(
  fc.integer({ min: 0xfffffff0, max: 0xffffffff }),
  fc.integer({ min: 0xffffff00, max: 0xffffffff }),
  fc.integer({ min: 0, max: 0xffffffff }),
);
const entryArb = fc.constantFrom(112, 12, 8, 64, 1000, 2016);

describe('ring.h rules hold across the 2^32 wrap (fast-check)', () => {
  it('indices, free counts, unconsumed counts and notify decisions match the macro model', () => {
    fc.assert(
      fc.property(
        startArb,
        entryArb,
        fc.array(opArb, { minLength: 1, maxLength: 60 }),
        (start, entry, ops) => {
          run(start, entry, ops);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('REQUEST_PROD_OVERFLOW is reported for exactly the req_prod values more than size past rsp_prod_pvt', () => {
    fc.assert(
      fc.property(
        startArb,
        fc.integer({ min: 0, max: 0xffffffff }),
        entryArb,
        (start, prod, entry) => {
          const view = new DataView(new ArrayBuffer(4096));
          view.setUint32(SRING_REQ_PROD_OFF, prod, true);
          const r = BackRing.attach(view, entry, start);
          if (!r.ok) throw new Error('attach');
          const back = r.value;
          const ahead = wrap(prod - start);
          // XEN_RING_NR_UNCONSUMED_REQUESTS clamps a lying req_prod to the unanswered slots.
          expect(back.unconsumedRequests()).toBe(Math.min(ahead, back.size));
          const res = back.consumeRequest();
          expect(res.ok).toBe(ahead <= back.size);
          // Whatever req_prod says, the backend never holds more than size unanswered requests.
          let taken = res.ok && res.value !== undefined ? 1 : 0;
          while (res.ok) {
            const next = back.consumeRequest();
            if (!next.ok || next.value === undefined) break;
            taken++;
          }
          expect(taken).toBe(res.ok ? ahead : 0);
          expect(taken).toBeLessThanOrEqual(back.size);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a backend scribbling rsp_prod never drives the frontend past its outstanding requests', () => {
    fc.assert(
      fc.property(
        startArb,
        fc.integer({ min: 0, max: 32 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 20 }),
        (start, outstanding, prods) => {
          const view = new DataView(new ArrayBuffer(4096));
          const r = FrontRing.attach(view, 112, start);
          if (!r.ok) throw new Error('attach');
          const front = r.value;
          for (let i = 0; i < outstanding; i++) front.produceRequest();
          let consumed = 0;
          for (const p of prods) {
            view.setUint32(SRING_RSP_PROD_OFF, p, true);
            for (let i = 0; i < 40; i++) {
              const c = front.consumeResponse();
              if (!c.ok || c.value === undefined) break;
              consumed++;
            }
            expect(consumed).toBeLessThanOrEqual(outstanding);
            expect(front.freeRequests()).toBeGreaterThanOrEqual(0);
            expect(front.freeRequests()).toBeLessThanOrEqual(front.size);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
