// BlkifProcessor against plain memory: where data lands, which responses go back, when the
// frontend is notified (xen-blkback/blkback.c, io/blkif.h, io/ring.h).

import { describe, expect, it } from 'vitest';
import {
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
  writeBlkifRequestDiscard,
} from '../../hypercalls/io/blkif.js';
import { SRING_REQ_EVENT_OFF, SRING_RSP_EVENT_OFF } from '../../hypercalls/io/ring.js';
import { asGrantRef } from '../../hypercalls/types.js';
import { BLKIF_BOUNCE_PAGES } from '../../dom0/backends/blkback/blkif-processor.js';
import { Rig } from './fake-ring.js';

/** Byte equality without vitest's slow deep diff of typed arrays. */
const same = (a: Uint8Array | undefined, b: Uint8Array): boolean =>
  a !== undefined &&
  Buffer.from(a.buffer, a.byteOffset, a.length).equals(
    Buffer.from(b.buffer, b.byteOffset, b.length),
  );

const seg = (gref: number, first = 0, last = 7) => ({
  gref: asGrantRef(gref),
  first_sect: first,
  last_sect: last,
});

describe('BlkifProcessor data path', () => {
  it('READ puts the sectors at sector_number into each segment at first_sect*512, segments back to back', () => {
    const r = new Rig();
    const a = r.grant(10);
    const b = r.grant(11);
    const id = r.request({
      operation: BLKIF_OP_READ,
      sector_number: 5n,
      seg: [seg(10, 2, 5), seg(11, 0, 7)],
    });
    const out = r.run();
    expect(out).toEqual({ responses: 1, notify: true, more: false, fault: null });
    expect(r.responses()).toEqual([[id, BLKIF_OP_READ, BLKIF_RSP_OKAY]]);
    expect(same(a.subarray(1024, 3072), r.file.bytes.subarray(5 * 512, 9 * 512))).toBe(true);
    expect(a[1023]).toBe(0);
    expect(a[3072]).toBe(0);
    expect(same(b, r.file.bytes.subarray(9 * 512, 17 * 512))).toBe(true);
    expect(r.proc.metrics.sectorsRead).toBe(12);
  });

  it('WRITE lands each segment at the right file offset', () => {
    const r = new Rig();
    r.grant(20, 0xaa);
    r.grant(21, 0xbb);
    r.request({
      operation: BLKIF_OP_WRITE,
      sector_number: 100n,
      seg: [seg(20, 7, 7), seg(21, 0, 1)],
    });
    r.run();
    expect(r.responses().map((x) => x[2])).toEqual([BLKIF_RSP_OKAY]);
    expect(r.file.bytes.subarray(100 * 512, 101 * 512).every((x) => x === 0xaa)).toBe(true);
    expect(r.file.bytes.subarray(101 * 512, 103 * 512).every((x) => x === 0xbb)).toBe(true);
    expect(r.file.bytes[103 * 512]).not.toBe(0xbb);
    expect(r.file.bytes[100 * 512 - 1]).not.toBe(0xaa);
  });

  it('11 disk-contiguous segments cost one file read, whether or not the bounce pages are adjacent', () => {
    for (const contiguous of [true, false]) {
      const r = new Rig({ contiguous });
      const segs = Array.from({ length: 11 }, (_, i) => seg(30 + i));
      for (let i = 0; i < 11; i++) r.grant(30 + i);
      r.request({ operation: BLKIF_OP_READ, sector_number: 8n, seg: segs });
      r.run();
      expect(r.file.calls.filter((c) => c.startsWith('read'))).toEqual([
        `read ${8 * 512} ${11 * 4096}`,
      ]);
      for (let i = 0; i < 11; i++) {
        expect(
          same(r.grants.get(30 + i), r.file.bytes.subarray((8 + i * 8) * 512, (16 + i * 8) * 512)),
        ).toBe(true);
      }
      expect(r.copyCalls).toBe(1);
    }
  });

  it.each([
    {
      bounce: BLKIF_BOUNCE_PAGES,
      why: 'cost one file read',
      reads: [`read ${16 * 512} ${16 * 4096}`],
    },
    {
      bounce: 11,
      why: 'are not merged when only the 11 bounce pages blkback accepts hold them (one read each)',
      reads: [`read ${16 * 512} ${11 * 4096}`, `read ${(16 + 88) * 512} ${5 * 4096}`],
    },
  ])(
    'reads queued back to back that continue each other on disk $why, each answered in order',
    ({ bounce, reads }) => {
      const r = new Rig({ bouncePages: bounce });
      for (let i = 0; i < 16; i++) r.grant(60 + i);
      const a = r.request({
        operation: BLKIF_OP_READ,
        sector_number: 16n,
        seg: Array.from({ length: 11 }, (_, i) => seg(60 + i)),
      });
      const b = r.request({
        operation: BLKIF_OP_READ,
        sector_number: 16n + 88n,
        seg: Array.from({ length: 5 }, (_, i) => seg(71 + i)),
      });
      const out = r.run();
      expect(out).toEqual({ responses: 2, notify: true, more: false, fault: null });
      expect(r.responses()).toEqual([
        [a, BLKIF_OP_READ, BLKIF_RSP_OKAY],
        [b, BLKIF_OP_READ, BLKIF_RSP_OKAY],
      ]);
      expect(r.file.calls.filter((c) => c.startsWith('read'))).toEqual(reads);
      for (let i = 0; i < 16; i++) {
        const at = (16 + i * 8) * 512;
        expect(same(r.grants.get(60 + i), r.file.bytes.subarray(at, at + 4096))).toBe(true);
      }
      expect(r.proc.metrics.readReqs).toBe(2);
      expect(r.proc.metrics.sectorsRead).toBe(128);
    },
  );

  it('with BLKIF_BOUNCE_PAGES, four merged 11-segment reads take one file read and one GNTTABOP_copy of 44 ops', () => {
    const r = new Rig({ bouncePages: BLKIF_BOUNCE_PAGES, sectors: 512 });
    for (let i = 0; i < 44; i++) r.grant(100 + i);
    const ids = [0, 1, 2, 3].map((k) =>
      r.request({
        operation: BLKIF_OP_READ,
        sector_number: BigInt(8 + k * 88),
        seg: Array.from({ length: 11 }, (_, i) => seg(100 + k * 11 + i)),
      }),
    );
    const out = r.run();
    expect(out).toEqual({ responses: 4, notify: true, more: false, fault: null });
    expect(r.responses()).toEqual(ids.map((id) => [id, BLKIF_OP_READ, BLKIF_RSP_OKAY]));
    expect(r.file.calls.filter((c) => c.startsWith('read'))).toEqual([
      `read ${8 * 512} ${44 * 4096}`,
    ]);
    expect(r.copyCalls).toBe(1);
    expect(r.proc.metrics.grantCopies).toBe(44);
    for (let i = 0; i < 44; i++) {
      const at = (8 + i * 8) * 512;
      expect(same(r.grants.get(100 + i), r.file.bytes.subarray(at, at + 4096))).toBe(true);
    }
  });

  it('reads that do not continue each other on disk (a gap, a partial page, a write between) are not merged', () => {
    const r = new Rig();
    for (let i = 0; i < 4; i++) r.grant(80 + i);
    r.request({ operation: BLKIF_OP_READ, sector_number: 0n, seg: [seg(80)] });
    r.request({ operation: BLKIF_OP_READ, sector_number: 16n, seg: [seg(81)] }); // gap
    r.request({ operation: BLKIF_OP_READ, sector_number: 24n, seg: [seg(82, 0, 3)] }); // merges
    r.request({ operation: BLKIF_OP_READ, sector_number: 28n, seg: [seg(83, 4, 7)] }); // after a partial page
    r.run();
    expect(r.file.calls.filter((c) => c.startsWith('read'))).toEqual([
      `read 0 4096`,
      `read ${16 * 512} ${12 * 512}`,
      `read ${28 * 512} ${4 * 512}`,
    ]);
    expect(r.responses().map((x) => x[2])).toEqual(Array(4).fill(BLKIF_RSP_OKAY));
    expect(
      same(r.grants.get(82)?.subarray(0, 2048), r.file.bytes.subarray(24 * 512, 28 * 512)),
    ).toBe(true);
    expect(
      same(r.grants.get(83)?.subarray(2048, 4096), r.file.bytes.subarray(28 * 512, 32 * 512)),
    ).toBe(true);
  });

  it('a bad grant in the second of two merged reads answers the first OKAY and faults on the second', () => {
    const r = new Rig();
    r.grant(90);
    const a = r.request({ operation: BLKIF_OP_READ, sector_number: 0n, seg: [seg(90)] });
    const b = r.request({ operation: BLKIF_OP_READ, sector_number: 8n, seg: [seg(91)] }); // never granted
    const out = r.run();
    expect(out.fault).toMatch(/gref 91/);
    expect(r.responses()).toEqual([
      [a, BLKIF_OP_READ, BLKIF_RSP_OKAY],
      [b, BLKIF_OP_READ, BLKIF_RSP_ERROR],
    ]);
  });

  it('a read-only disk refuses WRITE with BLKIF_RSP_ERROR before touching grants or the file', () => {
    const r = new Rig({ readOnly: true });
    r.grant(1, 0xff);
    const before = r.file.bytes.slice();
    r.request({ operation: BLKIF_OP_WRITE, sector_number: 0n, seg: [seg(1)] });
    const out = r.run();
    expect(out.fault).toBeNull();
    expect(r.responses().map((x) => x[2])).toEqual([BLKIF_RSP_ERROR]);
    expect(same(r.file.bytes, before)).toBe(true);
    expect(r.copyCalls).toBe(0);
  });

  it('a request past the last sector gets BLKIF_RSP_ERROR and the device stays up', () => {
    const r = new Rig({ sectors: 16 });
    r.grant(1);
    r.request({ operation: BLKIF_OP_READ, sector_number: 12n, seg: [seg(1)] });
    r.request({ operation: BLKIF_OP_READ, sector_number: 8n, seg: [seg(1)] });
    const out = r.run();
    expect(out.fault).toBeNull();
    expect(r.responses().map((x) => x[2])).toEqual([BLKIF_RSP_ERROR, BLKIF_RSP_OKAY]);
  });

  it('FLUSH_DISKCACHE fsyncs; without feature-flush-cache it is EOPNOTSUPP', () => {
    const r = new Rig();
    r.request({ operation: BLKIF_OP_FLUSH_DISKCACHE, sector_number: 0n, seg: [] });
    r.run();
    expect(r.responses().map((x) => x[2])).toEqual([BLKIF_RSP_OKAY]);
    expect(r.file.flushes).toBe(1);
    const n = new Rig({ flushCache: false });
    n.request({ operation: BLKIF_OP_FLUSH_DISKCACHE, sector_number: 0n, seg: [] });
    n.run();
    expect(n.responses().map((x) => x[2])).toEqual([BLKIF_RSP_EOPNOTSUPP]);
    expect(n.file.flushes).toBe(0);
  });

  it('WRITE_BARRIER with data: flush, write, flush, in that order', () => {
    const r = new Rig();
    r.grant(3, 0x11);
    r.request({ operation: BLKIF_OP_WRITE_BARRIER, sector_number: 4n, seg: [seg(3, 0, 0)] });
    r.run();
    expect(r.responses().map((x) => x[2])).toEqual([BLKIF_RSP_OKAY]);
    expect(r.file.calls).toEqual(['flush', 'write 2048 512', 'flush']);
  });

  it('DISCARD zeroes the range; without feature-discard it is EOPNOTSUPP', () => {
    for (const enabled of [true, false]) {
      const r = new Rig({ discard: enabled });
      const off = r.front.produceRequest();
      if (!off.ok) throw new Error(off.error);
      writeBlkifRequestDiscard(r.front.view, off.value, {
        flag: 0,
        handle: 0,
        id: 7n,
        sector_number: 2n,
        nr_sectors: 3n,
      });
      r.run();
      expect(r.responses()).toEqual([
        [7n, BLKIF_OP_DISCARD, enabled ? BLKIF_RSP_OKAY : BLKIF_RSP_EOPNOTSUPP],
      ]);
      expect(r.file.bytes.subarray(1024, 2560).every((x) => x === 0)).toBe(enabled);
    }
  });

  it('notifies only when rsp_event lies in (old, new], and leaves req_event = req_cons + 1 when idle (ring.h)', () => {
    const r = new Rig();
    r.grant(1);
    r.request({ operation: BLKIF_OP_READ, sector_number: 0n, seg: [seg(1)] });
    expect(r.run().notify).toBe(true);
    r.responses();
    expect(r.front.view.getUint32(SRING_REQ_EVENT_OFF, true)).toBe(2);
    // The frontend is not waiting yet: it asks to be woken only at response 10.
    r.front.view.setUint32(SRING_RSP_EVENT_OFF, 10, true);
    r.request({ operation: BLKIF_OP_READ, sector_number: 0n, seg: [seg(1)] });
    const out = r.run();
    expect(out.responses).toBe(1);
    expect(out.notify).toBe(false);
  });

  it('a budget stops early and says there is more', () => {
    const r = new Rig();
    r.grant(1);
    for (let i = 0; i < 5; i++)
      r.request({ operation: BLKIF_OP_READ, sector_number: 0n, seg: [seg(1)] });
    r.front.pushRequestsAndCheckNotify();
    const first = r.proc.process(2);
    expect(first.responses).toBe(2);
    expect(first.more).toBe(true);
    const rest = r.proc.process();
    expect(rest.responses).toBe(3);
    expect(rest.more).toBe(false);
  });
});
