// The `xl save` file (tools/xl/xl_saverestore.c, docs/specs/libxl-migration-stream.pandoc,
// libxc-migration-stream.pandoc; reference 10.2-10.3): xl header + config JSON, the libxl stream
// wrapping a libxc v2 stream of PV records and PAGE_DATA batches.
// DEVIATION(xen): every record is followed by an optional XENSIM_CHECKSUM record (bit 31 set, so a
// reader that does not know it may skip it) holding the CRC-32 of the record's wire bytes, and the
// xl header's optional data holds the CRC-32 of the config; the reader refuses any mismatch.

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
  PAGE_DATA_PFN_MASK,
  REC_HEADER_SIZE,
  REC_TYPE_END,
  REC_TYPE_OPTIONAL,
  REC_TYPE_PAGE_DATA,
  REC_TYPE_X86_PV_INFO,
  XL_MANDATORY_FLAG_JSON,
  XL_MANDATORY_FLAG_STREAMv2,
  XL_SAVEFILE_HEADER_SIZE,
  readDomainHeader,
  readImageHeader,
  readRecordHeader,
  readXlSaveHeader,
  recordWireSize,
  writeDomainHeader,
  writeImageHeader,
  writeRecordHeader,
  writeXlSaveHeader,
} from '../../hypercalls/save-stream.js';
import { PAGE_SIZE } from '../../hypercalls/types.js';
import type { BootLayout } from './domain-builder.js';
import { crc32 } from './crc32.js';

/** xensim's optional records. */
export const XENSIM_REC_CHECKSUM = (REC_TYPE_OPTIONAL | 0x1001) >>> 0;
export const XENSIM_REC_BOOT_LAYOUT = (REC_TYPE_OPTIONAL | 0x1002) >>> 0;
const CONFIG_CRC_TAG = 0x4b435358; // "XSCK"

export interface SaveImage {
  /** The config JSON xl stores (libxl_domain_config, plus the source text under `xensim_cfg_text`). */
  readonly configJson: string;
  readonly xenMajor: number;
  readonly xenMinor: number;
  readonly layout: BootLayout;
  readonly pfns: readonly number[];
  /** Page i's bytes (pfns[i]). */
  page(i: number): Uint8Array;
}

class Writer {
  readonly chunks: Uint8Array[] = [];
  size = 0;
  /** CRC-32 of every byte pushed so far. */
  crc = 0;
  push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
    this.crc = crc32(b, this.crc);
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

function record(type: number, body: Uint8Array, littleEndianStream = true): Uint8Array {
  const out = new Uint8Array(recordWireSize(body.length));
  const dv = new DataView(out.buffer);
  if (littleEndianStream) writeRecordHeader(dv, 0, type, body.length);
  out.set(body, REC_HEADER_SIZE);
  return out;
}

function checksummed(w: Writer, type: number, body: Uint8Array): void {
  const rec = record(type, body);
  w.push(rec);
  // The record's own CRC, and the running CRC of the file from its first byte (headers included).
  const sum = new Uint8Array(8);
  new DataView(sum.buffer).setUint32(0, crc32(rec), true);
  new DataView(sum.buffer).setUint32(4, w.crc, true);
  w.push(record(XENSIM_REC_CHECKSUM, sum));
}

function u32s(...v: number[]): Uint8Array {
  const b = new Uint8Array(v.length * 4);
  const dv = new DataView(b.buffer);
  v.forEach((x, i) => dv.setUint32(i * 4, x >>> 0, true));
  return b;
}

/** Serializes a save image to the bytes of an xl save file. */
export function encodeSaveFile(img: SaveImage): Uint8Array {
  const w = new Writer();
  const cfg = new TextEncoder().encode(img.configJson);
  const hdr = new Uint8Array(XL_SAVEFILE_HEADER_SIZE);
  writeXlSaveHeader(new DataView(hdr.buffer), 0, {
    mandatoryFlags: XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMv2,
    optionalFlags: 0,
    optionalDataLen: 8,
  });
  w.push(hdr);
  w.push(u32s(CONFIG_CRC_TAG, crc32(cfg)));
  w.push(u32s(cfg.length));
  w.push(cfg);
  // libxl stream header (big-endian) and the LIBXC_CONTEXT record that hands over to libxc.
  const lh = new Uint8Array(LIBXL_HDR_SIZE);
  const ldv = new DataView(lh.buffer);
  ldv.setBigUint64(0, LIBXL_STREAM_IDENT, false);
  ldv.setUint32(8, LIBXL_STREAM_VERSION, false);
  ldv.setUint32(12, 0, false);
  w.push(lh);
  checksummed(w, LIBXL_REC_LIBXC_CONTEXT, new Uint8Array(0));
  const ih = new Uint8Array(IHDR_SIZE + DHDR_SIZE);
  const idv = new DataView(ih.buffer);
  writeImageHeader(idv, 0);
  writeDomainHeader(idv, IHDR_SIZE, {
    type: DHDR_TYPE_X86_PV,
    pageShift: 12,
    xenMajor: img.xenMajor,
    xenMinor: img.xenMinor,
  });
  w.push(ih);
  // X86_PV_INFO: guest_width 8, pt_levels 4.
  checksummed(w, REC_TYPE_X86_PV_INFO, new Uint8Array([8, 4, 0, 0, 0, 0, 0, 0]));
  const l = img.layout;
  checksummed(
    w,
    XENSIM_REC_BOOT_LAYOUT,
    u32s(
      l.nrPages,
      l.kernelPfn,
      l.kernelPages,
      l.p2mPfn,
      l.p2mPages,
      l.startInfoPfn,
      l.storePfn,
      l.consolePfn,
    ),
  );
  for (let start = 0; start < img.pfns.length; start += PAGE_DATA_MAX_BATCH) {
    const n = Math.min(PAGE_DATA_MAX_BATCH, img.pfns.length - start);
    const body = new Uint8Array(8 + n * 8 + n * PAGE_SIZE);
    const dv = new DataView(body.buffer);
    dv.setUint32(0, n, true);
    for (let i = 0; i < n; i++) {
      dv.setBigUint64(8 + i * 8, BigInt(img.pfns[start + i] as number), true); // type NOTAB = 0
      body.set(img.page(start + i), 8 + n * 8 + i * PAGE_SIZE);
    }
    checksummed(w, REC_TYPE_PAGE_DATA, body);
  }
  checksummed(w, REC_TYPE_END, new Uint8Array(0));
  checksummed(w, LIBXL_REC_END, new Uint8Array(0));
  return w.bytes();
}

export interface DecodedSave {
  readonly configJson: string;
  readonly xenMajor: number;
  readonly xenMinor: number;
  readonly layout: BootLayout;
  readonly pfns: number[];
  /** Offsets of each page's bytes in the file. */
  readonly pageOffsets: number[];
  readonly bytes: Uint8Array;
}

export type DecodeResult = { ok: true; value: DecodedSave } | { ok: false; error: string };

const bad = (error: string): DecodeResult => ({ ok: false, error });

/** Reads and checks the whole file; nothing is trusted until every checksum matched. */
export function decodeSaveFile(bytes: Uint8Array): DecodeResult {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = readXlSaveHeader(dv, 0);
  if (!h.ok) return bad(h.error);
  if ((h.value.mandatoryFlags & XL_MANDATORY_FLAG_STREAMv2) === 0)
    return bad('save file is a legacy (pre-4.6) stream; only stream v2 is supported');
  let off = XL_SAVEFILE_HEADER_SIZE;
  const optLen = h.value.optionalDataLen;
  if (off + optLen + 4 > bytes.length) return bad('save file truncated in its header');
  let cfgCrc: number | undefined;
  if (optLen >= 8 && dv.getUint32(off, true) === CONFIG_CRC_TAG)
    cfgCrc = dv.getUint32(off + 4, true);
  off += optLen;
  const cfgLen = dv.getUint32(off, true);
  off += 4;
  if (off + cfgLen > bytes.length) return bad('save file truncated in the domain configuration');
  const cfgBytes = bytes.subarray(off, off + cfgLen);
  if (cfgCrc === undefined) return bad('save file has no configuration checksum');
  if (crc32(cfgBytes) !== cfgCrc) return bad('save file corrupt: configuration checksum mismatch');
  const configJson = new TextDecoder().decode(cfgBytes);
  off += cfgLen;
  if (off + LIBXL_HDR_SIZE > bytes.length)
    return bad('save file truncated in the libxl stream header');
  if (dv.getBigUint64(off, false) !== LIBXL_STREAM_IDENT) return bad('libxl stream: bad ident');
  const lver = dv.getUint32(off + 8, false);
  if (lver !== LIBXL_STREAM_VERSION) return bad(`libxl stream: unsupported version ${lver}`);
  off += LIBXL_HDR_SIZE;
  let running = 0;
  let runningTo = 0;
  const next = ():
    { ok: true; type: number; body: Uint8Array; end: number } | { ok: false; error: string } => {
    const rh = readRecordHeader(dv, off);
    if (!rh.ok) return { ok: false, error: `save file truncated at offset ${off} (${rh.error})` };
    const size = recordWireSize(rh.value.bodyLength);
    if (off + size > bytes.length)
      return { ok: false, error: `save file truncated inside a record at offset ${off}` };
    const rec = bytes.subarray(off, off + size);
    const csOff = off + size;
    const ch = readRecordHeader(dv, csOff);
    if (!ch.ok || csOff + recordWireSize(8) > bytes.length)
      return { ok: false, error: `save file truncated at offset ${csOff} (missing checksum)` };
    const raw = dv.getUint32(csOff, true);
    if (raw !== XENSIM_REC_CHECKSUM || ch.value.bodyLength !== 8)
      return { ok: false, error: `save file corrupt: record at offset ${off} has no checksum` };
    if (dv.getUint32(csOff + REC_HEADER_SIZE, true) !== crc32(rec))
      return {
        ok: false,
        error: `save file corrupt: checksum mismatch in record at offset ${off}`,
      };
    running = crc32(bytes.subarray(runningTo, csOff), running);
    runningTo = csOff;
    if (dv.getUint32(csOff + REC_HEADER_SIZE + 4, true) !== running)
      return {
        ok: false,
        error: `save file corrupt: checksum mismatch in the stream before offset ${csOff}`,
      };
    const type = dv.getUint32(off, true);
    const body = bytes.subarray(off + REC_HEADER_SIZE, off + REC_HEADER_SIZE + rh.value.bodyLength);
    return { ok: true, type, body, end: csOff + recordWireSize(8) };
  };
  const lx = next();
  if (!lx.ok) return bad(lx.error);
  if (lx.type !== LIBXL_REC_LIBXC_CONTEXT)
    return bad('libxl stream: expected a LIBXC_CONTEXT record');
  off = lx.end;
  const ih = readImageHeader(dv, off);
  if (!ih.ok) return bad(ih.error);
  const dh = readDomainHeader(dv, off + IHDR_SIZE);
  if (!dh.ok) return bad(dh.error);
  if (dh.value.type !== DHDR_TYPE_X86_PV)
    return bad('save file holds an HVM guest; only PV is supported');
  off += IHDR_SIZE + DHDR_SIZE;
  let layout: BootLayout | undefined;
  const pfns: number[] = [];
  const pageOffsets: number[] = [];
  for (;;) {
    const r = next();
    if (!r.ok) return bad(r.error);
    const bodyOff = off + REC_HEADER_SIZE;
    off = r.end;
    if (r.type === REC_TYPE_END) break;
    if (r.type === XENSIM_REC_BOOT_LAYOUT) {
      if (r.body.length !== 32) return bad('boot layout record has the wrong size');
      const b = new DataView(r.body.buffer, r.body.byteOffset, 32);
      const g = (i: number): number => b.getUint32(i * 4, true);
      layout = {
        nrPages: g(0),
        kernelPfn: g(1),
        kernelPages: g(2),
        p2mPfn: g(3),
        p2mPages: g(4),
        startInfoPfn: g(5),
        storePfn: g(6),
        consolePfn: g(7),
      };
    } else if (r.type === REC_TYPE_PAGE_DATA) {
      const b = new DataView(r.body.buffer, r.body.byteOffset, r.body.length);
      if (r.body.length < 8) return bad('PAGE_DATA record too short');
      const n = b.getUint32(0, true);
      if (n === 0 || n > PAGE_DATA_MAX_BATCH || r.body.length !== 8 + n * 8 + n * PAGE_SIZE)
        return bad(`PAGE_DATA record with a bad count ${n}`);
      for (let i = 0; i < n; i++) {
        const v = b.getBigUint64(8 + i * 8, true);
        if (v >> 60n !== 0n) return bad('PAGE_DATA: only plain (NOTAB) pages are supported');
        pfns.push(Number(v & PAGE_DATA_PFN_MASK));
        pageOffsets.push(bodyOff + 8 + n * 8 + i * PAGE_SIZE);
      }
    } else if ((r.type & REC_TYPE_OPTIONAL) === 0 && r.type !== REC_TYPE_X86_PV_INFO) {
      return bad(`libxc stream: unexpected record type 0x${r.type.toString(16)}`);
    }
  }
  const le = next();
  if (!le.ok) return bad(le.error);
  if (le.type !== LIBXL_REC_END) return bad('libxl stream: missing END record');
  if (le.end !== bytes.length) return bad('save file has trailing bytes after the END record');
  if (!layout) return bad('save file has no boot layout record');
  return {
    ok: true,
    value: {
      configJson,
      xenMajor: dh.value.xenMajor,
      xenMinor: dh.value.xenMinor,
      layout,
      pfns,
      pageOffsets,
      bytes,
    },
  };
}
