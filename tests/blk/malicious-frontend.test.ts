// A frontend that breaks the blkif protocol: the processor reports a fault (and answers the bad
// request's id with BLKIF_RSP_ERROR where it has one), never throws, and never reads the ring again.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_REQ_NR_SEGMENTS_OFF,
  BLKIF_REQ_OPERATION_OFF,
  BLKIF_REQ_SEG_OFF,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
} from '../../hypercalls/io/blkif.js';
import { SRING_REQ_PROD_OFF } from '../../hypercalls/io/ring.js';
import { asGrantRef } from '../../hypercalls/types.js';
import { Rig } from './fake-ring.js';

const seg = (gref: number, first = 0, last = 7) => ({
  gref: asGrantRef(gref),
  first_sect: first,
  last_sect: last,
});

/** Publishes req_prod as the frontend wrote it, bypassing FrontRing's own checks. */
const setReqProd = (r: Rig, prod: number) =>
  r.front.view.setUint32(SRING_REQ_PROD_OFF, prod >>> 0, true);

describe('malicious frontend (blkback.c __do_block_io_op, RING_REQUEST_PROD_OVERFLOW)', () => {
  it('a garbage req_prod far past rsp_prod is a fault, with no request read and no response', () => {
    const r = new Rig();
    setReqProd(r, 0xdead_beef);
    const out = r.proc.process();
    expect(out.fault).toMatch(/REQUEST_PROD_OVERFLOW/);
    expect(out.responses).toBe(0);
    expect(r.file.calls).toEqual([]);
    // Dead for good: a later kick does nothing, even with a sane req_prod.
    setReqProd(r, 0);
    expect(r.proc.process().fault).toMatch(/REQUEST_PROD_OVERFLOW/);
    expect(r.proc.fault).toMatch(/REQUEST_PROD_OVERFLOW/);
  });

  it('more requests than the 32 slots is a fault', () => {
    const r = new Rig();
    r.grant(1);
    for (let i = 0; i < 32; i++)
      r.request({ operation: BLKIF_OP_READ, sector_number: 0n, seg: [seg(1)] });
    r.front.pushRequestsAndCheckNotify();
    setReqProd(r, 33);
    const out = r.proc.process();
    expect(out.fault).toMatch(/REQUEST_PROD_OVERFLOW \(req_prod 33, rsp_prod_pvt 0, size 32\)/);
    expect(out.responses).toBe(0);
  });

  it('an invalid grant ref answers that id with BLKIF_RSP_ERROR and faults; earlier requests were served', () => {
    const r = new Rig();
    r.grant(1);
    const good = r.request({ operation: BLKIF_OP_READ, sector_number: 0n, seg: [seg(1)] });
    const bad = r.request({ operation: BLKIF_OP_READ, sector_number: 0n, seg: [seg(1), seg(999)] });
    const later = r.request({ operation: BLKIF_OP_READ, sector_number: 0n, seg: [seg(1)] });
    const out = r.run();
    expect(out.fault).toBe('blkback: grant copy of seg[1] gref 999: invalid grant reference');
    expect(out.notify).toBe(true);
    expect(r.responses()).toEqual([
      [good, BLKIF_OP_READ, BLKIF_RSP_OKAY],
      [bad, BLKIF_OP_READ, BLKIF_RSP_ERROR],
    ]);
    expect(later).toBe(3n);
  });

  it('an invalid grant ref in a WRITE leaves the file untouched', () => {
    const r = new Rig();
    const before = Buffer.from(r.file.bytes);
    r.request({ operation: BLKIF_OP_WRITE, sector_number: 0n, seg: [seg(5)] });
    expect(r.run().fault).toMatch(/gref 5/);
    expect(Buffer.from(r.file.bytes).equals(before)).toBe(true);
  });

  it.each([
    ['last_sect 8 runs past the page', 0, 8],
    ['first_sect after last_sect', 5, 3],
  ])('a segment outside its page (%s) is a fault', (_name, first, last) => {
    const r = new Rig();
    r.grant(1);
    r.request({ operation: BLKIF_OP_READ, sector_number: 0n, seg: [seg(1)] });
    const v = r.front.view;
    const off = r.front.slotOffset(0);
    v.setUint8(off + BLKIF_REQ_SEG_OFF + 4, first);
    v.setUint8(off + BLKIF_REQ_SEG_OFF + 5, last);
    const out = r.run();
    expect(out.fault).toMatch(/seg\[0\] sectors .* outside 0\.\.7/);
    expect(r.responses().map((x) => x[2])).toEqual([BLKIF_RSP_ERROR]);
    expect(r.copyCalls).toBe(0);
  });

  it('nr_segments above 11 is a fault', () => {
    const r = new Rig();
    r.grant(1);
    r.request({ operation: BLKIF_OP_READ, sector_number: 0n, seg: [seg(1)] });
    r.front.view.setUint8(r.front.slotOffset(0) + BLKIF_REQ_NR_SEGMENTS_OFF, 12);
    expect(r.run().fault).toMatch(/nr_segments 12 > 11/);
  });

  it.each([
    ['an unknown operation', 9],
    ['INDIRECT, never advertised', BLKIF_OP_INDIRECT],
  ])('%s is answered BLKIF_RSP_ERROR and faults', (_name, op) => {
    const r = new Rig();
    const id = r.request({ operation: BLKIF_OP_READ, sector_number: 0n, seg: [seg(1)] });
    r.front.view.setUint8(r.front.slotOffset(0) + BLKIF_REQ_OPERATION_OFF, op);
    const out = r.run();
    expect(out.fault).toMatch(new RegExp(`operation ${op}`));
    expect(r.responses()).toEqual([[id, op, BLKIF_RSP_ERROR]]);
  });

  it('any ring contents and any req_prod: process never throws, and a fault stops the ring', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4096 - 64, maxLength: 4096 - 64 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (slots, prod) => {
          const r = new Rig({ sectors: 64 });
          for (let ref = 0; ref < 4; ref++) r.grant(ref);
          r.ringPage.set(slots, 64);
          setReqProd(r, prod);
          const out = r.proc.process();
          expect(out.responses).toBeLessThanOrEqual(32);
          if (out.fault !== null) expect(r.proc.process().responses).toBe(0);
          else expect(out.responses).toBe(prod);
        },
      ),
      { numRuns: 200 },
    );
  });
});
