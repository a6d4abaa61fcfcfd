import { describe, expect, it } from 'vitest';
import {
  BLKIF_DISCARD_REQUEST_BYTES,
  BLKIF_DISCARD_SECURE,
  BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST,
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_RESERVED_1,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_REQUEST_BYTES,
  BLKIF_RESPONSE_BYTES,
  BLKIF_RING_SIZE,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
  BLKIF_SECTOR_BYTES,
  BLKIF_SEGMENT_BYTES,
  VDISK_CDROM,
  VDISK_READONLY,
  VDISK_REMOVABLE,
  XEN_IO_PROTO_ABI_ARM,
  XEN_IO_PROTO_ABI_X86_32,
  XEN_IO_PROTO_ABI_X86_64,
  checkBlkifRequest,
  readBlkifRequest,
  readBlkifRequestDiscard,
  readBlkifResponse,
  writeBlkifRequest,
  writeBlkifRequestDiscard,
  writeBlkifResponse,
  type BlkifRequest,
} from '../../hypercalls/io/blkif.js';
import { asGrantRef } from '../../hypercalls/types.js';
import { hex, page, zeros } from './hex.js';

// A write of two segments to xvda (handle 0xca00 = 202 << 8).
const WRITE_REQ = {
  operation: BLKIF_OP_WRITE,
  handle: 0xca00,
  id: 0x1122334455667788n,
  sector_number: 0x10n,
  seg: [
    { gref: asGrantRef(8), first_sect: 0, last_sect: 7 },
    { gref: asGrantRef(0x12345678), first_sect: 2, last_sect: 3 },
  ],
};
const WRITE_REQ_BYTES = hex(`
  01 02 00ca 00000000 | 8877665544332211 | 1000000000000000 |
  08000000 00 07 0000 | 78563412 02 03 0000 | ${zeros(9 * 8)}`);

describe('blkif constants (blkif.h, protocols.h)', () => {
  it('numbers the operations READ=0 .. INDIRECT=6', () => {
    expect([
      BLKIF_OP_READ,
      BLKIF_OP_WRITE,
      BLKIF_OP_WRITE_BARRIER,
      BLKIF_OP_FLUSH_DISKCACHE,
      BLKIF_OP_RESERVED_1,
      BLKIF_OP_DISCARD,
      BLKIF_OP_INDIRECT,
    ]).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('has 11 segments per request, 8 indirect pages, 512-byte sectors and 32 slots per page', () => {
    expect(BLKIF_MAX_SEGMENTS_PER_REQUEST).toBe(11);
    expect(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST).toBe(8);
    expect(BLKIF_SECTOR_BYTES).toBe(512);
    expect(BLKIF_RING_SIZE).toBe(32);
    expect([
      BLKIF_SEGMENT_BYTES,
      BLKIF_REQUEST_BYTES,
      BLKIF_DISCARD_REQUEST_BYTES,
      BLKIF_RESPONSE_BYTES,
    ]).toEqual([8, 112, 32, 16]);
  });

  it('has the status codes, VDISK_* bits and protocol strings', () => {
    expect([BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY]).toEqual([-2, -1, 0]);
    expect([VDISK_CDROM, VDISK_REMOVABLE, VDISK_READONLY, BLKIF_DISCARD_SECURE]).toEqual([
      1, 2, 4, 1,
    ]);
    expect([XEN_IO_PROTO_ABI_X86_32, XEN_IO_PROTO_ABI_X86_64, XEN_IO_PROTO_ABI_ARM]).toEqual([
      'x86_32-abi',
      'x86_64-abi',
      'arm-abi',
    ]);
  });
});

describe('blkif_request layout (x86_64-abi, 112 bytes)', () => {
  it('encodes operation@0 nr_segments@1 handle@2 id@8 sector_number@16 seg[]@24 (golden bytes, padding zeroed)', () => {
    const { mem, view } = page();
    mem.fill(0xaa);
    expect(writeBlkifRequest(view, 64, WRITE_REQ).ok).toBe(true);
    expect(mem.subarray(64, 64 + 112)).toEqual(WRITE_REQ_BYTES);
    expect(mem[63]).toBe(0xaa);
    expect(mem[176]).toBe(0xaa);
  });

  it('decodes the golden bytes back, with nr_segments', () => {
    const { mem, view } = page();
    mem.set(WRITE_REQ_BYTES, 64);
    expect(readBlkifRequest(view, 64)).toEqual({
      ok: true,
      value: { ...WRITE_REQ, nr_segments: 2 },
    });
  });

  it('places all 11 segments at 24 + 8i, the last ending at byte 112', () => {
    const { mem, view } = page(112);
    const seg = Array.from({ length: 11 }, (_, i) => ({
      gref: asGrantRef(0x100 + i),
      first_sect: 0,
      last_sect: i % 8,
    }));
    expect(writeBlkifRequest(view, 0, { ...WRITE_REQ, seg }).ok).toBe(true);
    expect(mem[1]).toBe(11);
    expect(mem.subarray(104, 112)).toEqual(hex('0a010000 00 02 0000'));
  });

  it('refuses out-of-range fields and slots outside the view without writing', () => {
    const { mem, view } = page(112);
    const bad = [
      { ...WRITE_REQ, operation: 256 },
      { ...WRITE_REQ, handle: 0x10000 },
      { ...WRITE_REQ, id: -1n },
      { ...WRITE_REQ, id: 1n << 64n },
      { ...WRITE_REQ, sector_number: 1n << 64n },
      { ...WRITE_REQ, seg: Array.from({ length: 12 }, () => WRITE_REQ.seg[0]!) },
      { ...WRITE_REQ, seg: [{ gref: asGrantRef(2 ** 32), first_sect: 0, last_sect: 0 }] },
      { ...WRITE_REQ, seg: [{ gref: asGrantRef(1), first_sect: 0, last_sect: 8 }] },
      { ...WRITE_REQ, seg: [{ gref: asGrantRef(1), first_sect: 4, last_sect: 3 }] },
    ];
    for (const req of bad) expect(writeBlkifRequest(view, 0, req).ok).toBe(false);
    expect(writeBlkifRequest(view, 1, WRITE_REQ).ok).toBe(false);
    expect(mem.every((b) => b === 0)).toBe(true);
    expect(readBlkifRequest(view, 1).ok).toBe(false);
  });
});

describe('checkBlkifRequest (what blkback acts on)', () => {
  const req = (over: Partial<BlkifRequest>): BlkifRequest => ({
    ...WRITE_REQ,
    nr_segments: 2,
    ...over,
  });

  it('accepts a well-formed write and a flush with no segments', () => {
    expect(checkBlkifRequest(req({})).ok).toBe(true);
    expect(
      checkBlkifRequest(req({ operation: BLKIF_OP_FLUSH_DISKCACHE, nr_segments: 0, seg: [] })).ok,
    ).toBe(true);
  });

  it('rejects a read with no segments, more than 11 segments, and segments outside the frame', () => {
    expect(checkBlkifRequest(req({ operation: BLKIF_OP_READ, nr_segments: 0, seg: [] })).ok).toBe(
      false,
    );
    expect(checkBlkifRequest(req({ nr_segments: 12 })).ok).toBe(false);
    expect(
      checkBlkifRequest(req({ seg: [{ gref: asGrantRef(1), first_sect: 0, last_sect: 8 }] })).ok,
    ).toBe(false);
    expect(
      checkBlkifRequest(req({ seg: [{ gref: asGrantRef(1), first_sect: 5, last_sect: 4 }] })).ok,
    ).toBe(false);
  });

  it('rejects discard, indirect and unknown operations as segment requests', () => {
    for (const operation of [BLKIF_OP_DISCARD, BLKIF_OP_INDIRECT, BLKIF_OP_RESERVED_1, 200]) {
      expect(checkBlkifRequest(req({ operation })).ok).toBe(false);
    }
  });

  it('a garbage slot still decodes (so its id can be answered) but fails the check', () => {
    const { mem, view } = page(112);
    mem.fill(0xff);
    const r = readBlkifRequest(view, 0);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.id).toBe(0xffffffffffffffffn);
    expect(r.value.nr_segments).toBe(255);
    expect(r.value.seg).toHaveLength(11);
    expect(checkBlkifRequest(r.value).ok).toBe(false);
  });
});

describe('blkif_request_discard layout', () => {
  it('encodes operation@0 flag@1 handle@2 id@8 sector_number@16 nr_sectors@24 and zeroes the slot', () => {
    const { mem, view } = page(112);
    mem.fill(0xaa);
    const d = {
      flag: BLKIF_DISCARD_SECURE,
      handle: 0xca00,
      id: 5n,
      sector_number: 0x800n,
      nr_sectors: 0x100000n,
    };
    expect(writeBlkifRequestDiscard(view, 0, d).ok).toBe(true);
    expect(mem).toEqual(
      hex(
        `05 01 00ca 00000000 | 0500000000000000 | 0008000000000000 | 0000100000000000 | ${zeros(80)}`,
      ),
    );
    expect(readBlkifRequestDiscard(view, 0)).toEqual({ ok: true, value: { operation: 5, ...d } });
    expect(writeBlkifRequestDiscard(view, 0, { ...d, nr_sectors: -1n }).ok).toBe(false);
  });
});

describe('blkif_response layout (16 bytes)', () => {
  it('encodes id@0 operation@8 status@10 as int16 (golden bytes)', () => {
    const { mem, view } = page(16);
    mem.fill(0xaa);
    expect(
      writeBlkifResponse(view, 0, {
        id: 0x1122334455667788n,
        operation: 1,
        status: BLKIF_RSP_ERROR,
      }).ok,
    ).toBe(true);
    expect(mem).toEqual(hex('8877665544332211 01 00 ffff 00000000'));
    expect(readBlkifResponse(view, 0)).toEqual({
      ok: true,
      value: { id: 0x1122334455667788n, operation: 1, status: -1 },
    });
  });

  it('refuses a status outside int16', () => {
    const { view } = page(16);
    expect(writeBlkifResponse(view, 0, { id: 1n, operation: 0, status: 0x8000 }).ok).toBe(false);
    expect(writeBlkifResponse(view, 0, { id: 1n, operation: 0, status: -0x8000 }).ok).toBe(true);
  });
});
