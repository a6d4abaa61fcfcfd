// netfront's receive path (xen-netfront.c xennet_poll, xennet_get_responses): a frame spread over
// several rx slots (NETRXF_more_data) is delivered whole, a frame with a bad slot is dropped with
// the rest of its slots, and every consumed buffer is posted again.

import { describe, expect, it } from 'vitest';
import { NetfrontCore } from '../../domU/net/netfront-core.js';
import { NETRXF_more_data } from '../../hypercalls/io/netif.js';
import { SRING_RSP_PROD_OFF } from '../../hypercalls/io/ring.js';
import { memoryIo } from './memory-io.js';

function rig() {
  const { io, page, pfnOfRef } = memoryIo();
  const r = NetfrontCore.setup(io);
  if (!r.ok) throw new Error(r.error);
  const c = r.value;
  const frames: Uint8Array[] = [];
  c.onFrame = (f) => frames.push(f.slice());
  let prod = 0;
  /** The backend's side: copy `bytes` into the buffer posted at the next slot and answer it. */
  const respond = (bytes: Uint8Array | null, more: boolean) => {
    const v = c.rx.view;
    const off = c.rx.slotOffset(prod);
    const id = v.getUint16(off, true);
    const gref = v.getUint32(off + 4, true);
    if (bytes) page(pfnOfRef.get(gref) as number).set(bytes);
    v.setUint16(off, id, true);
    v.setUint16(off + 2, 0, true);
    v.setUint16(off + 4, more ? NETRXF_more_data : 0, true);
    v.setInt16(off + 6, bytes ? bytes.length : -1, true);
    prod++;
  };
  const publish = () => c.rx.view.setUint32(SRING_RSP_PROD_OFF, prod, true);
  return { c, frames, respond, publish };
}

describe('netfront rx (xennet_poll)', () => {
  it('assembles a frame from its slots, byte for byte, and reposts every buffer', () => {
    const { c, frames, respond, publish } = rig();
    const a = new Uint8Array(4096).map((_, i) => i & 0xff);
    const b = new Uint8Array(100).fill(0x22);
    respond(a, true);
    respond(b, false);
    respond(new Uint8Array(60).fill(0x33), false);
    publish();
    expect(c.pollRx()).toBe(2);
    expect(frames.map((f) => f.length)).toEqual([4196, 60]);
    expect(Buffer.from(frames[0] as Uint8Array).equals(Buffer.concat([a, b]))).toBe(true);
    expect((frames[1] as Uint8Array).every((x) => x === 0x33)).toBe(true);
    expect(c.rx.reqProdPvt).toBe(256 + 3);
  });

  it('drops a frame with a bad slot along with its remaining slots; the next frame arrives', () => {
    const { c, frames, respond, publish } = rig();
    respond(null, true); // status -1 (NETIF_RSP_ERROR) in the middle of a frame
    respond(new Uint8Array(10).fill(1), true);
    respond(new Uint8Array(10).fill(2), false);
    respond(new Uint8Array(42).fill(7), false);
    publish();
    expect(c.pollRx()).toBe(1);
    expect(frames).toEqual([new Uint8Array(42).fill(7)]);
    expect(c.counters.rxErrors).toBe(1);
    expect(c.counters.rxPackets).toBe(1);
    expect(c.rx.reqProdPvt).toBe(256 + 4);
  });

  it('hands out equal-sized frames of one buffer with their current bytes each time', () => {
    const { c, frames, respond, publish } = rig();
    for (let round = 0; round < 3; round++) {
      // 256 frames go round the whole ring, so each buffer is used again with new bytes.
      for (let i = 0; i < 256; i++)
        respond(new Uint8Array(64).fill((round * 256 + i) & 0xff), false);
      publish();
      expect(c.pollRx()).toBe(256);
    }
    expect(frames).toHaveLength(768);
    expect(frames.every((f, k) => f.length === 64 && f.every((x) => x === (k & 0xff)))).toBe(true);
  });
});
