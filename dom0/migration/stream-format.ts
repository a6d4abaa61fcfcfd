// xensim's additions to the libxc stream v2 (docs/specs/libxc-migration-stream.pandoc, reference
// 10.2): the optional records it defines, the bodies of X86_PV_P2M_FRAMES and X86_PV_VCPU_BASIC as
// xensim fills them, and the CRC-32 of the integrity records. Shared by stream-writer and stream-reader.

import { Packr } from 'msgpackr';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { REC_TYPE_OPTIONAL } from '../../hypercalls/save-stream.js';

/** Optional record (bit 31): CRC-32 of the record before it, and of the stream up to here. */
export const XENSIM_REC_CHECKSUM = (REC_TYPE_OPTIONAL | 0x1001) >>> 0;
/** Optional record: the BootLayout the domain was built with (eight u32). */
export const XENSIM_REC_BOOT_LAYOUT = (REC_TYPE_OPTIONAL | 0x1002) >>> 0;
/** Tag of the xl header's optional data when it holds the config's CRC-32 ("XSCK"). */
export const CONFIG_CRC_TAG = 0x4b435358;
export const BOOT_LAYOUT_BODY_SIZE = 32;
/** The body of XENSIM_CHECKSUM: u32 record CRC, u32 running CRC. */
export const CHECKSUM_BODY_SIZE = 8;
/** Bytes a XENSIM_CHECKSUM record takes on the wire (header + 8-byte body). */
export const CHECKSUM_RECORD_SIZE = 16;
/** X86_PV_INFO body: guest_width 8 (64-bit), pt_levels 4, six reserved bytes. */
export const X86_PV_INFO_BODY = [8, 4, 0, 0, 0, 0, 0, 0] as const;
/** X86_TSC_INFO body: u32 mode, u32 khz, u64 nsec, u32 incarnation, u32 reserved. */
export const TSC_INFO_BODY_SIZE = 24;
export const SHARED_INFO_BODY_SIZE = 4096;
/** A bound on the xl header's optional data and the config JSON (xl has none; a sanity limit). */
export const XL_OPTIONAL_DATA_MAX = 1 << 20;
export const XL_CONFIG_MAX = 16 << 20;

/** CRC-32 (IEEE, zlib's), the same function as dom0/toolstack/crc32.ts at native speed. */
export function crc32(bytes: Uint8Array, seed = 0): number {
  return zlibCrc32(bytes, seed) >>> 0;
}

/** msgpack for control record bodies (VcpuState): plain maps, no msgpackr record extension. */
export const streamPackr = new Packr({ useRecords: false, moreTypes: false });

// ---- X86_PV_P2M_FRAMES -------------------------------------------------------------------------
// DEVIATION(xen): Xen's body is `u32 p2m_start_pfn, u32 p2m_end_pfn, u64 p2m_pfns[]` (the frames
// holding the guest's p2m list). xensim's receiver needs the populated pfns instead: the same two
// u32 (start 0, end = highest populated pfn, inclusive), then a bitmap in u64 little-endian words,
// bit b of word w set when pfn start + 64 w + b is populated.

/** Words of the population bitmap for pfns start..end inclusive. */
export function p2mWords(startPfn: number, endPfn: number): number {
  return Math.ceil((endPfn - startPfn + 1) / 64);
}

/** Builds the X86_PV_P2M_FRAMES body for `pfns` (any order; start is 0). */
export function encodeP2mBody(pfns: readonly number[]): Uint8Array {
  let end = 0;
  for (const p of pfns) {
    if (!Number.isInteger(p) || p < 0 || p > 0xffffffff)
      throw new RangeError(`X86_PV_P2M_FRAMES: pfn ${p} is not a 32-bit frame number`);
    if (p > end) end = p;
  }
  const body = new Uint8Array(8 + p2mWords(0, end) * 8);
  const dv = new DataView(body.buffer);
  dv.setUint32(0, 0, true);
  dv.setUint32(4, end, true);
  for (const p of pfns) body[8 + (p >>> 3)] = (body[8 + (p >>> 3)] as number) | (1 << (p & 7));
  return body;
}

/** The population bitmap of a received X86_PV_P2M_FRAMES body, as pfns and a membership test. */
export interface PopulatedSet {
  readonly startPfn: number;
  readonly endPfn: number;
  readonly pfns: number[];
  has(pfn: number): boolean;
}

/** Checks and reads a X86_PV_P2M_FRAMES body; the error says what is wrong (no offset). */
export function decodeP2mBody(body: Uint8Array): PopulatedSet | string {
  if (body.length < 8) return `body of ${body.length} bytes is shorter than its 8-byte header`;
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const startPfn = dv.getUint32(0, true);
  const endPfn = dv.getUint32(4, true);
  if (startPfn > endPfn) return `p2m_start_pfn ${startPfn} is above p2m_end_pfn ${endPfn}`;
  const words = p2mWords(startPfn, endPfn);
  if (body.length !== 8 + words * 8)
    return `body of ${body.length} bytes, expected ${8 + words * 8} for pfns ${startPfn}-${endPfn}`;
  const bits = body.slice(8);
  const span = endPfn - startPfn + 1;
  const pfns: number[] = [];
  // A guest's pfns are mostly one populated run: a full byte is 8 pfns at once (bits beyond the
  // span are possible only in the last byte, which takes the checked path).
  const lastFull = Math.floor(span / 8);
  for (let byte = 0; byte < bits.length; byte++) {
    const v = bits[byte] as number;
    if (v === 0) continue;
    if (v === 0xff && byte < lastFull) {
      const p = startPfn + byte * 8;
      pfns.push(p, p + 1, p + 2, p + 3, p + 4, p + 5, p + 6, p + 7);
      continue;
    }
    for (let b = 0; b < 8; b++) {
      if ((v & (1 << b)) === 0) continue;
      const rel = byte * 8 + b;
      if (rel >= span) return `bitmap marks pfn ${startPfn + rel}, beyond p2m_end_pfn ${endPfn}`;
      pfns.push(startPfn + rel);
    }
  }
  if (pfns.length === 0) return 'no pfn is populated';
  return {
    startPfn,
    endPfn,
    pfns,
    has(pfn: number): boolean {
      if (pfn < startPfn || pfn > endPfn) return false;
      const rel = pfn - startPfn;
      return ((bits[rel >>> 3] as number) & (1 << (rel & 7))) !== 0;
    },
  };
}

// ---- CRC-32 of a concatenation -----------------------------------------------------------------
// crc(A ++ B) from crc(A), crc(B) and |B|: crc(A) is multiplied by x^(8|B|) modulo the CRC
// polynomial (GF(2), bit-reflected), then crc(B) is added. Lets a record's CRC also advance the
// running CRC of the stream without a second pass over the record's bytes.

const CRC_POLY = 0xedb88320;

/** a(x) * b(x) modulo the CRC polynomial, bit-reflected (x^0 is bit 31). */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ CRC_POLY : b >>> 1;
  }
  return p >>> 0;
}

/** X2N[k] = x^(2^k) modulo the polynomial. */
const X2N = (() => {
  const t = new Uint32Array(32);
  let p = 0x40000000; // x^1
  for (let k = 0; k < 32; k++) {
    t[k] = p;
    p = multModP(p, p);
  }
  return t;
})();

/** x^(n * 2^k) modulo the polynomial. */
function x2nModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n) {
    if (n & 1) p = multModP(X2N[k & 31] as number, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** CRC-32 of A ++ B given crc(A), crc(B) and B's length in bytes. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB === 0) return crcA >>> 0;
  return (multModP(x2nModP(lengthB, 3), crcA >>> 0) ^ crcB) >>> 0;
}
