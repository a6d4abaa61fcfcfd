// netfront's tx batching (xen-netfront.c xennet_start_xmit with netdev_xmit_more, ring.h
// RING_PUSH_REQUESTS_AND_CHECK_NOTIFY): frames queued with `more` are published together, and the
// backend gets one event for the run, only if it asked for one (req_event).

import { describe, expect, it } from 'vitest';
import { NetfrontCore } from '../../domU/net/netfront-core.js';
import { SRING_REQ_EVENT_OFF } from '../../hypercalls/io/ring.js';
import { memoryIo } from './memory-io.js';

function core(): { c: NetfrontCore; notifies: () => number } {
  const { io, notifies } = memoryIo();
  const r = NetfrontCore.setup(io);
  if (!r.ok) throw new Error(r.error);
  return { c: r.value, notifies };
}

const frame = new Uint8Array(60).fill(0x42);

describe('netfront tx batching (xmit_more)', () => {
  it('publishes a run of frames with one push and one event', () => {
    const { c, notifies } = core();
    expect(c.send(frame, true)).toBe(true);
    expect(c.send(frame, true)).toBe(true);
    expect(c.txReqProd).toBe(0); // queued, not yet visible to the backend
    expect(notifies()).toBe(0);
    expect(c.send(frame)).toBe(true);
    expect(c.txReqProd).toBe(3);
    expect(notifies()).toBe(1);
  });

  it('notifies only when the backend asked (req_event), and pushTx publishes queued frames', () => {
    const { c, notifies } = core();
    c.send(frame);
    expect(notifies()).toBe(1);
    // The backend went idle after consuming request 1: it wants an event at the next one.
    c.tx.view.setUint32(SRING_REQ_EVENT_OFF, 2, true);
    c.send(frame, true);
    c.send(frame);
    expect([c.txReqProd, notifies()]).toEqual([3, 2]);
    // req_event is still 2: the backend is busy and polls the ring, no event.
    c.send(frame);
    expect([c.txReqProd, notifies()]).toEqual([4, 2]);
    c.send(frame, true);
    expect(c.txReqProd).toBe(4);
    c.pushTx();
    expect(c.txReqProd).toBe(5);
    expect(c.counters.txPackets).toBe(5);
  });
});
