// The block-device ring protocol, following xen/include/public/io/blkif.h (requests, discard
// requests, responses, VDISK_* bits) and io/protocols.h, in the x86_64-abi layout.
//
// Requests are written by the frontend into a page the backend maps; the backend copies a slot
// out once and parses it here. Readers fail only when the bytes lie outside the view: every
// structurally present request decodes (so the backend can answer its id with BLKIF_RSP_ERROR),
// and checkBlkifRequest then says whether the backend may act on it.

import { asGrantRef, type GrantRef } from '../types.js';
import { checkSpan, ioErr, ioOk, isUint, isUint64, ringSize, type IoResult } from './ring.js';

export const BLKIF_OP_READ = 0;
export const BLKIF_OP_WRITE = 1;
export const BLKIF_OP_WRITE_BARRIER = 2;
export const BLKIF_OP_FLUSH_DISKCACHE = 3;
export const BLKIF_OP_RESERVED_1 = 4;
export const BLKIF_OP_DISCARD = 5;
export const BLKIF_OP_INDIRECT = 6;

/** Chosen so that a request and the ring header fit 32 requests in one page. */
export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
export const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = 8;

/** blkif_request_discard.flag bit. */
export const BLKIF_DISCARD_SECURE = 1 << 0;

export const BLKIF_RSP_EOPNOTSUPP = -2;
export const BLKIF_RSP_ERROR = -1;
export const BLKIF_RSP_OKAY = 0;

/** Backend `info` node bits. */
export const VDISK_CDROM = 0x1;
export const VDISK_REMOVABLE = 0x2;
export const VDISK_READONLY = 0x4;

/** `protocol` node values (io/protocols.h). */
export const XEN_IO_PROTO_ABI_X86_32 = 'x86_32-abi';
export const XEN_IO_PROTO_ABI_X86_64 = 'x86_64-abi';
export const XEN_IO_PROTO_ABI_ARM = 'arm-abi';

/** sector_number, first_sect/last_sect and the `sectors` node are always 512-byte units. */
export const BLKIF_SECTOR_BYTES = 512;
/** Sectors in one 4 KiB segment frame: first_sect <= last_sect <= 7. */
export const BLKIF_SECTORS_PER_PAGE = 8;

// struct blkif_request_segment (8 bytes): gref u32 @0, first_sect u8 @4, last_sect u8 @5, pad.
export const BLKIF_SEGMENT_BYTES = 8;
// struct blkif_request (112 bytes): operation u8 @0, nr_segments u8 @1, handle u16 @2, pad,
// id u64 @8, sector_number u64 @16, seg[11] @24.
export const BLKIF_REQUEST_BYTES = 112;
export const BLKIF_REQ_OPERATION_OFF = 0;
export const BLKIF_REQ_NR_SEGMENTS_OFF = 1;
export const BLKIF_REQ_HANDLE_OFF = 2;
export const BLKIF_REQ_ID_OFF = 8;
export const BLKIF_REQ_SECTOR_NUMBER_OFF = 16;
export const BLKIF_REQ_SEG_OFF = 24;
// struct blkif_request_discard (32 bytes): operation @0, flag @1, handle @2, id @8,
// sector_number @16, nr_sectors u64 @24.
export const BLKIF_DISCARD_REQUEST_BYTES = 32;
export const BLKIF_DISCARD_FLAG_OFF = 1;
export const BLKIF_DISCARD_NR_SECTORS_OFF = 24;
// struct blkif_response (16 bytes): id u64 @0, operation u8 @8, pad, status i16 @10, pad.
export const BLKIF_RESPONSE_BYTES = 16;
export const BLKIF_RSP_ID_OFF = 0;
export const BLKIF_RSP_OPERATION_OFF = 8;
export const BLKIF_RSP_STATUS_OFF = 10;

/** sizeof(union blkif_sring_entry): the larger of request and response. */
export const BLKIF_RING_ENTRY_BYTES = BLKIF_REQUEST_BYTES;
/** __CONST_RING_SIZE(blkif, 4096) = 32. */
export const BLKIF_RING_SIZE = ringSize(4096, BLKIF_RING_ENTRY_BYTES);

export interface BlkifSegment {
  gref: GrantRef;
  /** First 512-byte sector in the frame to transfer (inclusive). */
  first_sect: number;
  /** Last 512-byte sector in the frame to transfer (inclusive). */
  last_sect: number;
}

/** A read/write/barrier/flush request; `seg` holds min(nr_segments, 11) entries. */
export interface BlkifRequest {
  operation: number;
  nr_segments: number;
  handle: number;
  id: bigint;
  sector_number: bigint;
  seg: BlkifSegment[];
}

export interface BlkifRequestDiscard {
  operation: number;
  flag: number;
  handle: number;
  id: bigint;
  sector_number: bigint;
  nr_sectors: bigint;
}

export interface BlkifResponse {
  id: bigint;
  operation: number;
  status: number;
}

function zero(view: DataView, off: number, len: number): void {
  for (let i = 0; i < len; i++) view.setUint8(off + i, 0);
}

/** Reads a blkif_request slot (any operation: id is at offset 8 in every layout). */
export function readBlkifRequest(view: DataView, off: number): IoResult<BlkifRequest> {
  const span = checkSpan(view, off, BLKIF_REQUEST_BYTES, 'blkif_request');
  if (!span.ok) return span;
  const nr = view.getUint8(off + BLKIF_REQ_NR_SEGMENTS_OFF);
  const seg: BlkifSegment[] = [];
  for (let i = 0; i < Math.min(nr, BLKIF_MAX_SEGMENTS_PER_REQUEST); i++) {
    const s = off + BLKIF_REQ_SEG_OFF + i * BLKIF_SEGMENT_BYTES;
    seg.push({
      gref: asGrantRef(view.getUint32(s, true)),
      first_sect: view.getUint8(s + 4),
      last_sect: view.getUint8(s + 5),
    });
  }
  return ioOk({
    operation: view.getUint8(off + BLKIF_REQ_OPERATION_OFF),
    nr_segments: nr,
    handle: view.getUint16(off + BLKIF_REQ_HANDLE_OFF, true),
    id: view.getBigUint64(off + BLKIF_REQ_ID_OFF, true),
    sector_number: view.getBigUint64(off + BLKIF_REQ_SECTOR_NUMBER_OFF, true),
    seg,
  });
}

/**
 * Whether a backend may act on a read/write/barrier/flush request (the checks Linux blkback
 * makes): READ/WRITE need 1..11 segments, barrier/flush at most 11, and every segment must keep
 * first_sect <= last_sect within the 8 sectors of its frame.
 */
export function checkBlkifRequest(req: BlkifRequest): IoResult<BlkifRequest> {
  const op = req.operation;
  if (
    op !== BLKIF_OP_READ &&
    op !== BLKIF_OP_WRITE &&
    op !== BLKIF_OP_WRITE_BARRIER &&
    op !== BLKIF_OP_FLUSH_DISKCACHE
  ) {
    return ioErr(`blkif_request: operation ${op} is not a segment request`);
  }
  if (req.nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
    return ioErr(
      `blkif_request: nr_segments ${req.nr_segments} > ${BLKIF_MAX_SEGMENTS_PER_REQUEST}`,
    );
  }
  if (req.nr_segments === 0 && (op === BLKIF_OP_READ || op === BLKIF_OP_WRITE)) {
    return ioErr('blkif_request: a read or write with no segments');
  }
  for (const [i, s] of req.seg.entries()) {
    if (s.last_sect >= BLKIF_SECTORS_PER_PAGE || s.first_sect > s.last_sect) {
      return ioErr(`blkif_request: seg[${i}] sectors ${s.first_sect}..${s.last_sect} outside 0..7`);
    }
  }
  return ioOk(req);
}

/** The fields a frontend supplies; nr_segments is seg.length. */
export type BlkifRequestFields = Omit<BlkifRequest, 'nr_segments'>;

/** Writes a whole 112-byte blkif_request slot (padding and unused segments zeroed). */
export function writeBlkifRequest(
  view: DataView,
  off: number,
  req: BlkifRequestFields,
): IoResult<undefined> {
  const span = checkSpan(view, off, BLKIF_REQUEST_BYTES, 'blkif_request');
  if (!span.ok) return span;
  if (!isUint(req.operation, 8))
    return ioErr(`blkif_request: operation ${req.operation} not uint8`);
  if (req.seg.length > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
    return ioErr(`blkif_request: ${req.seg.length} segments > ${BLKIF_MAX_SEGMENTS_PER_REQUEST}`);
  }
  if (!isUint(req.handle, 16)) return ioErr(`blkif_request: handle ${req.handle} not uint16`);
  if (!isUint64(req.id)) return ioErr(`blkif_request: id ${req.id} not uint64`);
  if (!isUint64(req.sector_number)) {
    return ioErr(`blkif_request: sector_number ${req.sector_number} not uint64`);
  }
  for (const [i, s] of req.seg.entries()) {
    if (!isUint(s.gref, 32)) return ioErr(`blkif_request: seg[${i}].gref ${s.gref} not uint32`);
    if (!isUint(s.first_sect, 8) || !isUint(s.last_sect, 8)) {
      return ioErr(`blkif_request: seg[${i}] sectors not uint8`);
    }
    if (s.last_sect >= BLKIF_SECTORS_PER_PAGE || s.first_sect > s.last_sect) {
      return ioErr(`blkif_request: seg[${i}] sectors ${s.first_sect}..${s.last_sect} outside 0..7`);
    }
  }
  zero(view, off, BLKIF_REQUEST_BYTES);
  view.setUint8(off + BLKIF_REQ_OPERATION_OFF, req.operation);
  view.setUint8(off + BLKIF_REQ_NR_SEGMENTS_OFF, req.seg.length);
  view.setUint16(off + BLKIF_REQ_HANDLE_OFF, req.handle, true);
  view.setBigUint64(off + BLKIF_REQ_ID_OFF, req.id, true);
  view.setBigUint64(off + BLKIF_REQ_SECTOR_NUMBER_OFF, req.sector_number, true);
  for (const [i, s] of req.seg.entries()) {
    const so = off + BLKIF_REQ_SEG_OFF + i * BLKIF_SEGMENT_BYTES;
    view.setUint32(so, s.gref, true);
    view.setUint8(so + 4, s.first_sect);
    view.setUint8(so + 5, s.last_sect);
  }
  return ioOk(undefined);
}

/** Reads a slot as blkif_request_discard (when operation is BLKIF_OP_DISCARD). */
export function readBlkifRequestDiscard(
  view: DataView,
  off: number,
): IoResult<BlkifRequestDiscard> {
  const span = checkSpan(view, off, BLKIF_DISCARD_REQUEST_BYTES, 'blkif_request_discard');
  if (!span.ok) return span;
  return ioOk({
    operation: view.getUint8(off + BLKIF_REQ_OPERATION_OFF),
    flag: view.getUint8(off + BLKIF_DISCARD_FLAG_OFF),
    handle: view.getUint16(off + BLKIF_REQ_HANDLE_OFF, true),
    id: view.getBigUint64(off + BLKIF_REQ_ID_OFF, true),
    sector_number: view.getBigUint64(off + BLKIF_REQ_SECTOR_NUMBER_OFF, true),
    nr_sectors: view.getBigUint64(off + BLKIF_DISCARD_NR_SECTORS_OFF, true),
  });
}

/** Writes a discard request into a ring slot (the whole 112-byte slot is zeroed first). */
export function writeBlkifRequestDiscard(
  view: DataView,
  off: number,
  req: Omit<BlkifRequestDiscard, 'operation'>,
): IoResult<undefined> {
  const span = checkSpan(view, off, BLKIF_REQUEST_BYTES, 'blkif_request_discard slot');
  if (!span.ok) return span;
  if (!isUint(req.flag, 8)) return ioErr(`blkif_request_discard: flag ${req.flag} not uint8`);
  if (!isUint(req.handle, 16))
    return ioErr(`blkif_request_discard: handle ${req.handle} not uint16`);
  if (!isUint64(req.id) || !isUint64(req.sector_number) || !isUint64(req.nr_sectors)) {
    return ioErr('blkif_request_discard: id, sector_number and nr_sectors must be uint64');
  }
  zero(view, off, BLKIF_REQUEST_BYTES);
  view.setUint8(off + BLKIF_REQ_OPERATION_OFF, BLKIF_OP_DISCARD);
  view.setUint8(off + BLKIF_DISCARD_FLAG_OFF, req.flag);
  view.setUint16(off + BLKIF_REQ_HANDLE_OFF, req.handle, true);
  view.setBigUint64(off + BLKIF_REQ_ID_OFF, req.id, true);
  view.setBigUint64(off + BLKIF_REQ_SECTOR_NUMBER_OFF, req.sector_number, true);
  view.setBigUint64(off + BLKIF_DISCARD_NR_SECTORS_OFF, req.nr_sectors, true);
  return ioOk(undefined);
}

/** Reads a blkif_response (written by the backend, read by the frontend). */
export function readBlkifResponse(view: DataView, off: number): IoResult<BlkifResponse> {
  const span = checkSpan(view, off, BLKIF_RESPONSE_BYTES, 'blkif_response');
  if (!span.ok) return span;
  return ioOk({
    id: view.getBigUint64(off + BLKIF_RSP_ID_OFF, true),
    operation: view.getUint8(off + BLKIF_RSP_OPERATION_OFF),
    status: view.getInt16(off + BLKIF_RSP_STATUS_OFF, true),
  });
}

/** Writes a 16-byte blkif_response (padding zeroed). */
export function writeBlkifResponse(
  view: DataView,
  off: number,
  rsp: BlkifResponse,
): IoResult<undefined> {
  const span = checkSpan(view, off, BLKIF_RESPONSE_BYTES, 'blkif_response');
  if (!span.ok) return span;
  if (!isUint64(rsp.id)) return ioErr(`blkif_response: id ${rsp.id} not uint64`);
  if (!isUint(rsp.operation, 8))
    return ioErr(`blkif_response: operation ${rsp.operation} not uint8`);
  if (!Number.isInteger(rsp.status) || rsp.status < -0x8000 || rsp.status > 0x7fff) {
    return ioErr(`blkif_response: status ${rsp.status} not int16`);
  }
  zero(view, off, BLKIF_RESPONSE_BYTES);
  view.setBigUint64(off + BLKIF_RSP_ID_OFF, rsp.id, true);
  view.setUint8(off + BLKIF_RSP_OPERATION_OFF, rsp.operation);
  view.setInt16(off + BLKIF_RSP_STATUS_OFF, rsp.status, true);
  return ioOk(undefined);
}
