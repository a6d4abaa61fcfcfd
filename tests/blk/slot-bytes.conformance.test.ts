// Golden bytes of the ring slots blkfront and blkback fill in place (as Linux fills
// RING_GET_REQUEST / RING_GET_RESPONSE): they must be exactly what io/blkif.h's writers,
// writeBlkifRequest and writeBlkifResponse, put there.

import { describe, expect, it } from 'vitest';
import { BlkfrontRing } from '../../domU/blkfront/blkfront-ring.js';
import {
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_REQUEST_BYTES,
  BLKIF_RESPONSE_BYTES,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
  writeBlkifRequest,
  writeBlkifResponse,
} from '../../hypercalls/io/blkif.js';
import { SRING_RSP_PROD_OFF } from '../../hypercalls/io/ring.js';
import { asGrantRef } from '../../hypercalls/types.js';
import { Rig } from './fake-ring.js';
import { BlkWorld, type GuestDom } from './world.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The ref granting frame of `pfn` in guest `g`'s table. */
function refOf(g: GuestDom, pfn: number): number {
  const mfn = g.dom.mem.pfnToMfn(pfn);
  for (let ref = 8; ref < g.dom.client.nrFrames * 512; ref++) {
    const e = g.dom.client.entry(ref);
    if (e && e.flags !== 0 && e.frame === mfn) return ref;
  }
  throw new Error(`no grant of pfn ${pfn}`);
}

describe('blkfront request slots', () => {
  it('a caller-page read (sector above 2^32, 83 sectors: last segment 3) and a pool-page write match writeBlkifRequest byte for byte', () => {
    const w = new BlkWorld();
    const g = w.guest(1);
    const setup = BlkfrontRing.setup(g.io(0, () => undefined));
    if (!setup.ok) throw new Error(setup.error);
    const ring = setup.value;
    const v = ring.ring.view;
    const page = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    page.fill(0xee, ring.ring.slotOffset(0), ring.ring.slotOffset(0) + 2 * BLKIF_REQUEST_BYTES);

    const pfns = g.takePages(11);
    const sector = 0x1_2345_6789;
    const r = ring.submitPages(BLKIF_OP_READ, sector, 83, pfns, 0);
    const wr = ring.submitRw(BLKIF_OP_WRITE, 7, 20, new Uint8Array(20 * 512).fill(1));
    expect(r.ok && wr.ok).toBe(true);

    const slot = (i: number) => {
      const off = ring.ring.slotOffset(i);
      return page.subarray(off, off + BLKIF_REQUEST_BYTES);
    };
    const expected = (fields: Parameters<typeof writeBlkifRequest>[2]): Uint8Array => {
      const buf = new Uint8Array(BLKIF_REQUEST_BYTES).fill(0xee);
      const res = writeBlkifRequest(new DataView(buf.buffer), 0, fields);
      if (!res.ok) throw new Error(res.error);
      return buf;
    };
    const id0 = new DataView(slot(0).slice().buffer).getBigUint64(8, true);
    const id1 = new DataView(slot(1).slice().buffer).getBigUint64(8, true);
    expect(id0).not.toBe(id1);
    expect(id0 < 32n && id1 < 32n).toBe(true);
    const readSegs = pfns.map((pfn, i) => ({
      gref: asGrantRef(refOf(g, pfn)),
      first_sect: 0,
      last_sect: i < 10 ? 7 : 2,
    }));
    expect(hex(slot(0))).toBe(
      hex(
        expected({
          operation: BLKIF_OP_READ,
          handle: 0,
          id: id0,
          sector_number: BigInt(sector),
          seg: readSegs,
        }),
      ),
    );
    // The write's three pool pages: their refs are in its slot; the rest must match exactly.
    const wv = new DataView(slot(1).slice().buffer);
    const writeSegs = [0, 1, 2].map((i) => ({
      gref: asGrantRef(wv.getUint32(24 + i * 8, true)),
      first_sect: 0,
      last_sect: i < 2 ? 7 : 3,
    }));
    expect(new Set(writeSegs.map((s) => s.gref)).size).toBe(3);
    expect(hex(slot(1))).toBe(
      hex(
        expected({
          operation: BLKIF_OP_WRITE,
          handle: 0,
          id: id1,
          sector_number: 7n,
          seg: writeSegs,
        }),
      ),
    );
  });
});

describe('blkfront reading responses in place', () => {
  it('an id with bits above 32 set is no request of ours: the ring breaks and the waiter gets an error', () => {
    const w = new BlkWorld();
    const g = w.guest(1);
    const setup = BlkfrontRing.setup(g.io(0, () => undefined));
    if (!setup.ok) throw new Error(setup.error);
    const ring = setup.value;
    const t = ring.submitPages(BLKIF_OP_READ, 0, 8, g.takePages(1), 0);
    if (!t.ok) throw new Error(t.error);
    ring.push();
    const v = ring.ring.view;
    const id = v.getBigUint64(ring.ring.slotOffset(0) + 8, true);
    const bogus = id + (1n << 32n);
    const res = writeBlkifResponse(v, ring.ring.slotOffset(0), {
      id: bogus,
      operation: BLKIF_OP_READ,
      status: BLKIF_RSP_OKAY,
    });
    expect(res.ok).toBe(true);
    v.setUint32(SRING_RSP_PROD_OFF, 1, true);
    ring.onEvent();
    expect(ring.broken).toBe(`blkfront: response for unknown id ${bogus}`);
    expect(t.value.done).toBe(true);
    expect(t.value.status).toBe(BLKIF_RSP_ERROR);
  });
});

describe('blkback response slots', () => {
  it.each([
    ['a read served by the merged path', 8n, BLKIF_RSP_OKAY],
    ['a read past the end of the disk', 255n, BLKIF_RSP_ERROR],
  ])(
    '%s: the response matches writeBlkifResponse byte for byte, id copied bit for bit',
    (_n, sector, status) => {
      const r = new Rig();
      r.grant(10);
      r.grant(11);
      const id = 0xfedc_ba98_7654_3210n;
      const off = r.front.produceRequest();
      if (!off.ok) throw new Error(off.error);
      const wrote = writeBlkifRequest(r.front.view, off.value, {
        operation: BLKIF_OP_READ,
        handle: 0,
        id,
        sector_number: sector,
        seg: [
          { gref: asGrantRef(10), first_sect: 0, last_sect: 7 },
          { gref: asGrantRef(11), first_sect: 0, last_sect: 7 },
        ],
      });
      expect(wrote.ok).toBe(true);
      r.run();
      const want = new Uint8Array(BLKIF_RESPONSE_BYTES).fill(0xee);
      const res = writeBlkifResponse(new DataView(want.buffer), 0, {
        id,
        operation: BLKIF_OP_READ,
        status,
      });
      expect(res.ok).toBe(true);
      const at = r.front.slotOffset(0);
      expect(hex(r.ringPage.subarray(at, at + BLKIF_RESPONSE_BYTES))).toBe(hex(want));
      expect(r.responses()).toEqual([[id, BLKIF_OP_READ, status]]);
    },
  );
});
