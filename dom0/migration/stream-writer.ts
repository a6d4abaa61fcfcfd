// The sending half of the save/migration stream (tools/libs/guest/xg_sr_save.c write_headers,
// write_batch, tools/libs/light/libxl_stream_write.c, tools/xl/xl_saverestore.c; reference
// 10.2-10.3): each function returns the bytes of one step, ready to send or to write to a file.
// DEVIATION(xen): with `checksums` on, each record is followed by an optional XENSIM_CHECKSUM record
// (CRC-32 of the record, and of the stream from its first byte) and the xl header's optional data
// holds the config's CRC-32; a save file uses them, a migration stream over TCP does not.

import {
  DHDR_SIZE,
  DHDR_TYPE_X86_PV,
  IHDR_SIZE,
  LIBXL_HDR_SIZE,
  LIBXL_REC_END,
  LIBXL_REC_LIBXC_CONTEXT,
  LIBXL_STREAM_IDENT,
  LIBXL_STREAM_VERSION,
  PAGE_DATA_MAX_BATCH,
  REC_HEADER_SIZE,
  REC_TYPE_END,
  REC_TYPE_PAGE_DATA,
  REC_TYPE_SHARED_INFO,
  REC_TYPE_CHECKPOINT_DIRTY_PFN_LIST,
  REC_TYPE_STATIC_DATA_END,
  REC_TYPE_X86_PV_INFO,
  REC_TYPE_X86_PV_P2M_FRAMES,
  REC_TYPE_X86_PV_VCPU_BASIC,
  REC_TYPE_X86_TSC_INFO,
  XL_MANDATORY_FLAG_JSON,
  XL_MANDATORY_FLAG_STREAMv2,
  XL_SAVEFILE_HEADER_SIZE,
  recordWireSize,
  writeDomainHeader,
  writeImageHeader,
  writeXlSaveHeader,
} from '../../hypercalls/save-stream.js';
import { PAGE_SIZE } from '../../hypercalls/types.js';
import type { BootLayout } from '../toolstack/domain-builder.js';
import {
  CHECKSUM_RECORD_SIZE,
  CONFIG_CRC_TAG,
  SHARED_INFO_BODY_SIZE,
  TSC_INFO_BODY_SIZE,
  XENSIM_REC_BOOT_LAYOUT,
  XENSIM_REC_CHECKSUM,
  X86_PV_INFO_BODY,
  crc32,
  crc32Combine,
  encodeP2mBody,
  streamPackr,
} from './stream-format.js';
import type { StreamHeader, VcpuState } from './types.js';

export interface StreamWriterOptions {
  /** true: a save file's integrity records; false (default): a migration stream (TCP checks its own). */
  readonly checksums: boolean;
}

/** Fills `dst` (page i's 4096 bytes inside the record's own buffer) with page `i` of the batch. */
export type PageReader = (i: number, dst: Uint8Array) => void;

/** X86_TSC_INFO (xg_sr_stream_format.h rec_x86_tsc_info). */
export interface TscInfo {
  readonly mode: number;
  readonly khz: number;
  readonly nsec: bigint;
  readonly incarnation: number;
}

/** The running state of one checksummed stream (null: no checksums). */
interface CrcState {
  /** CRC-32 of every byte produced so far. */
  crc: number;
}

/**
 * One outgoing stream with its options; the methods must be called in stream order. A migration
 * stream needs no state and may use the free functions below instead.
 */
export class StreamWriter {
  readonly checksums: boolean;
  /** Bytes produced so far. */
  bytesWritten = 0;
  private readonly state: CrcState | null;

  constructor(o: StreamWriterOptions = { checksums: false }) {
    this.checksums = o.checksums;
    this.state = o.checksums ? { crc: 0 } : null;
  }

  private count(out: Uint8Array): Uint8Array {
    this.bytesWritten += out.length;
    return out;
  }

  private countAll(out: Uint8Array[]): Uint8Array[] {
    for (const c of out) this.bytesWritten += c.length;
    return out;
  }

  header(h: StreamHeader): Uint8Array[] {
    return this.countAll(headerChunks(h, this.state));
  }
  pageData(pfns: ArrayLike<number>, readPage: PageReader): Uint8Array {
    return this.count(pageDataChunk(pfns, readPage, this.state));
  }
  sharedInfo(bytes: Uint8Array): Uint8Array {
    return this.count(sharedInfoChunk(bytes, this.state));
  }
  tscInfo(t: TscInfo): Uint8Array {
    return this.count(tscInfoChunk(t, this.state));
  }
  vcpu(v: VcpuState): Uint8Array {
    return this.count(vcpuChunk(v, this.state));
  }
  end(): Uint8Array[] {
    return this.countAll(endChunks(this.state));
  }
}

/**
 * Accounts for `buf[start, end)` (a record's wire bytes) and writes its XENSIM_CHECKSUM record at
 * `end` when checksums are on. The running CRC of the stream advances by combining the record's own
 * CRC, so the record is read once.
 */
function sealRecord(w: CrcState | null, buf: Uint8Array, start: number, end: number): number {
  if (!w) return end;
  const recCrc = crc32(buf.subarray(start, end));
  w.crc = crc32Combine(w.crc, recCrc, end - start);
  const dv = new DataView(buf.buffer, buf.byteOffset + end, CHECKSUM_RECORD_SIZE);
  dv.setUint32(0, XENSIM_REC_CHECKSUM, true);
  dv.setUint32(4, 8, true);
  dv.setUint32(8, recCrc, true);
  dv.setUint32(12, w.crc, true);
  w.crc = crc32(buf.subarray(end, end + CHECKSUM_RECORD_SIZE), w.crc);
  return end + CHECKSUM_RECORD_SIZE;
}

const RAW = -1;

/** Collects the small records of one step into one chunk. */
class ChunkBuilder {
  /** Records, and raw header bytes (type RAW). */
  private readonly parts: { type: number; body: Uint8Array }[] = [];
  private size = 0;
  private readonly w: CrcState | null;

  constructor(w: CrcState | null) {
    this.w = w;
  }

  raw(bytes: Uint8Array): this {
    this.parts.push({ type: RAW, body: bytes });
    this.size += bytes.length;
    return this;
  }

  record(type: number, body: Uint8Array): this {
    this.parts.push({ type, body });
    this.size += recordWireSize(body.length) + (this.w ? CHECKSUM_RECORD_SIZE : 0);
    return this;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    const dv = new DataView(out.buffer);
    let off = 0;
    for (const p of this.parts) {
      if (p.type === RAW) {
        out.set(p.body, off);
        if (this.w) this.w.crc = crc32(p.body, this.w.crc);
        off += p.body.length;
        continue;
      }
      const start = off;
      dv.setUint32(off, p.type >>> 0, true);
      dv.setUint32(off + 4, p.body.length, true);
      out.set(p.body, off + REC_HEADER_SIZE);
      off = sealRecord(this.w, out, start, start + recordWireSize(p.body.length));
    }
    return out;
  }
}

function u32le(...v: number[]): Uint8Array {
  const b = new Uint8Array(v.length * 4);
  const dv = new DataView(b.buffer);
  v.forEach((x, i) => dv.setUint32(i * 4, x >>> 0, true));
  return b;
}

function layoutBody(l: BootLayout): Uint8Array {
  return u32le(
    l.nrPages,
    l.kernelPfn,
    l.kernelPages,
    l.p2mPfn,
    l.p2mPages,
    l.startInfoPfn,
    l.storePfn,
    l.consolePfn,
  );
}

function headerChunks(h: StreamHeader, w: CrcState | null): Uint8Array[] {
  const cfg = new TextEncoder().encode(h.configJson);
  const xl = new Uint8Array(XL_SAVEFILE_HEADER_SIZE);
  writeXlSaveHeader(new DataView(xl.buffer), 0, {
    mandatoryFlags: XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMv2,
    optionalFlags: 0,
    optionalDataLen: w ? 8 : 0,
  });
  const libxl = new Uint8Array(LIBXL_HDR_SIZE);
  const ldv = new DataView(libxl.buffer);
  ldv.setBigUint64(0, LIBXL_STREAM_IDENT, false);
  ldv.setUint32(8, LIBXL_STREAM_VERSION, false);
  ldv.setUint32(12, 0, false);
  const libxc = new Uint8Array(IHDR_SIZE + DHDR_SIZE);
  const idv = new DataView(libxc.buffer);
  writeImageHeader(idv, 0);
  writeDomainHeader(idv, IHDR_SIZE, {
    type: DHDR_TYPE_X86_PV,
    pageShift: 12,
    xenMajor: h.xenMajor,
    xenMinor: h.xenMinor,
  });
  const b = new ChunkBuilder(w).raw(xl);
  if (w) b.raw(u32le(CONFIG_CRC_TAG, crc32(cfg)));
  const chunk = b
    .raw(u32le(cfg.length))
    .raw(cfg)
    .raw(libxl)
    .record(LIBXL_REC_LIBXC_CONTEXT, new Uint8Array(0))
    .raw(libxc)
    .record(REC_TYPE_X86_PV_INFO, new Uint8Array(X86_PV_INFO_BODY))
    .record(XENSIM_REC_BOOT_LAYOUT, layoutBody(h.layout))
    .record(REC_TYPE_STATIC_DATA_END, new Uint8Array(0))
    .record(REC_TYPE_X86_PV_P2M_FRAMES, encodeP2mBody(h.pfns))
    .bytes();
  return [chunk];
}

function pageDataChunk(
  pfns: ArrayLike<number>,
  readPage: PageReader | null,
  w: CrcState | null,
  fillAll?: (data: Uint8Array, zeroed: boolean) => void,
  reuse?: (bytes: number) => Uint8Array | null,
): Uint8Array {
  const n = pfns.length;
  if (n < 1 || n > PAGE_DATA_MAX_BATCH)
    throw new RangeError(`PAGE_DATA: ${n} pages; a batch holds 1 to ${PAGE_DATA_MAX_BATCH}`);
  const bodyLength = 8 + n * 8 + n * PAGE_SIZE; // a multiple of 8: no padding
  const recEnd = REC_HEADER_SIZE + bodyLength;
  const size = recEnd + (w ? CHECKSUM_RECORD_SIZE : 0);
  // A recycled buffer still holds old bytes: every header byte is written and every page filled.
  const recycled = reuse?.(size) ?? null;
  const buf = recycled !== null && recycled.length === size ? recycled : new Uint8Array(size);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setUint32(0, REC_TYPE_PAGE_DATA, true);
  dv.setUint32(4, bodyLength, true);
  dv.setUint32(8, n, true);
  dv.setUint32(12, 0, true); // reserved
  for (let i = 0; i < n; i++) {
    const pfn = pfns[i] as number;
    if (!(pfn >= 0 && pfn <= 0xffffffff && pfn === Math.floor(pfn)))
      throw new RangeError(`PAGE_DATA: pfn ${pfn} is not a 32-bit frame number`);
    dv.setUint32(16 + i * 8, pfn, true);
    dv.setUint32(20 + i * 8, 0, true); // high word: type NOTAB
  }
  // The pages go straight into the record: each page's bytes are copied once, here.
  let off = 16 + n * 8;
  if (fillAll) fillAll(buf.subarray(off, off + n * PAGE_SIZE), buf !== recycled);
  else if (readPage)
    for (let i = 0; i < n; i++, off += PAGE_SIZE) readPage(i, buf.subarray(off, off + PAGE_SIZE));
  sealRecord(w, buf, 0, recEnd);
  return buf;
}

function sharedInfoChunk(bytes: Uint8Array, w: CrcState | null): Uint8Array {
  if (bytes.length !== SHARED_INFO_BODY_SIZE)
    throw new RangeError(`SHARED_INFO: ${bytes.length} bytes, a page is ${SHARED_INFO_BODY_SIZE}`);
  return new ChunkBuilder(w).record(REC_TYPE_SHARED_INFO, bytes).bytes();
}

function tscInfoChunk(t: TscInfo, w: CrcState | null): Uint8Array {
  const body = new Uint8Array(TSC_INFO_BODY_SIZE);
  const dv = new DataView(body.buffer);
  dv.setUint32(0, t.mode, true);
  dv.setUint32(4, t.khz, true);
  dv.setBigUint64(8, t.nsec, true);
  dv.setUint32(16, t.incarnation, true);
  return new ChunkBuilder(w).record(REC_TYPE_X86_TSC_INFO, body).bytes();
}

function vcpuChunk(v: VcpuState, w: CrcState | null): Uint8Array {
  const state: VcpuState = {
    kernelRef: v.kernelRef,
    handoff: v.handoff,
    nrOnlineVcpus: v.nrOnlineVcpus,
    startInfoPfn: v.startInfoPfn,
  };
  const packed = streamPackr.pack(state);
  const body = new Uint8Array(8 + packed.length); // vcpu_id 0, reserved 0
  body.set(packed, 8);
  return new ChunkBuilder(w).record(REC_TYPE_X86_PV_VCPU_BASIC, body).bytes();
}

function endChunks(w: CrcState | null): Uint8Array[] {
  return [
    new ChunkBuilder(w).record(REC_TYPE_END, new Uint8Array(0)).bytes(),
    new ChunkBuilder(w).record(LIBXL_REC_END, new Uint8Array(0)).bytes(),
  ];
}

// ---- a migration stream (no checksums): one function per step -------------------------------

/** A checksummed stream keeps a running CRC from its first byte: it needs one StreamWriter. */
function stateless(o: StreamWriterOptions | undefined): null {
  if (o?.checksums) throw new TypeError('a checksummed stream needs a StreamWriter (its state)');
  return null;
}

/**
 * Everything before the first page: xl header (JSON | STREAMv2) and config, libxl header and
 * LIBXC_CONTEXT, libxc image and domain headers (x86 PV, page_shift 12), X86_PV_INFO, the boot
 * layout (optional record), STATIC_DATA_END, then X86_PV_P2M_FRAMES with the populated pfns (after
 * STATIC_DATA_END, as xg_sr_save.c sends it at the start of the stream proper).
 */
export function encodeStreamHeader(h: StreamHeader, o?: StreamWriterOptions): Uint8Array[] {
  return headerChunks(h, stateless(o));
}

/**
 * One PAGE_DATA record of 1..1024 pages (MAX_BATCH_SIZE), every pfn of type NOTAB: u32 count,
 * u32 reserved, u64 pfn[count], then the pages, in one buffer that `readPage` fills directly.
 */
export function encodePageData(pfns: ArrayLike<number>, readPage: PageReader): Uint8Array {
  return pageDataChunk(pfns, readPage, null);
}

/**
 * PAGE_DATA whose pages are filled in one call: `fill(data, zeroed)` gets the record's page area
 * (page i at i * 4096) to copy the whole batch into at once; `zeroed` is false when `reuse` handed
 * back a buffer that still holds old bytes, so every page must then be written.
 */
export function encodePageDataBatch(
  pfns: ArrayLike<number>,
  fill: (data: Uint8Array, zeroed: boolean) => void,
  reuse?: (bytes: number) => Uint8Array | null,
): Uint8Array {
  return pageDataChunk(pfns, null, null, fill, reuse);
}

/** SHARED_INFO: the guest's shared info page (4096 bytes). */
export function encodeSharedInfo(bytes: Uint8Array): Uint8Array {
  return sharedInfoChunk(bytes, null);
}

/**
 * CHECKPOINT_DIRTY_PFN_LIST (u64 pfn[]): DEVIATION(xen): in xensim's post-copy, the pfns whose
 * contents the target pulls from the source after it resumed (Xen uses the record for COLO).
 */
export function encodePostcopyPfns(pfns: readonly number[]): Uint8Array {
  const body = new Uint8Array(pfns.length * 8);
  const dv = new DataView(body.buffer);
  pfns.forEach((pfn, i) => {
    dv.setUint32(i * 8, pfn >>> 0, true);
    dv.setUint32(i * 8 + 4, Math.floor(pfn / 2 ** 32), true);
  });
  return new ChunkBuilder(null).record(REC_TYPE_CHECKPOINT_DIRTY_PFN_LIST, body).bytes();
}

/** X86_TSC_INFO: u32 mode, u32 khz, u64 nsec, u32 incarnation, u32 reserved. */
export function encodeTscInfo(t: TscInfo): Uint8Array {
  return tscInfoChunk(t, null);
}

/**
 * X86_PV_VCPU_BASIC for vCPU 0: u32 vcpu_id, u32 reserved, then the state.
 * DEVIATION(xen): the state is a msgpack map of VcpuState (a kernel ref and a handoff token), not
 * a vcpu_guest_context: a simulated guest's registers cannot be serialized (types.ts VcpuState).
 */
export function encodeVcpu(v: VcpuState): Uint8Array {
  return vcpuChunk(v, null);
}

/** The libxc END record, then the libxl END record that closes the libxl stream. */
export function encodeEnd(): Uint8Array[] {
  return endChunks(null);
}
