// Builders of small migration streams for the stream codec tests.

import { bootLayout } from '../../dom0/toolstack/domain-builder.js';
import {
  StreamWriter,
  encodeEnd,
  encodePageData,
  encodeSharedInfo,
  encodeStreamHeader,
  encodeVcpu,
} from '../../dom0/migration/stream-writer.js';
import { StreamReader, type ReadResult } from '../../dom0/migration/stream-reader.js';
import type { MigrationRecord, StreamHeader, VcpuState } from '../../dom0/migration/types.js';

/** nrPages 16, kernel pfn 0, p2m pfn 1, start_info 2, xenstore 3, console 4. */
export const LAYOUT = bootLayout(16, 4096);

export function header(pfns: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7]): StreamHeader {
  return {
    configJson: '{"c_info":{"name":"g"}}',
    xenMajor: 4,
    xenMinor: 17,
    layout: LAYOUT,
    pfns,
  };
}

export const VCPU: VcpuState = {
  kernelRef: 'builtin:idle',
  handoff: 'handoff:7',
  nrOnlineVcpus: 2,
  startInfoPfn: 2,
};

/** Page bytes that differ per pfn and per byte. */
export function pageOf(pfn: number, seed = 0): Uint8Array {
  const p = new Uint8Array(4096);
  for (let i = 0; i < 4096; i++) p[i] = (pfn * 31 + i * 7 + seed) & 0xff;
  return p;
}

export interface StreamParts {
  header: Uint8Array;
  pages: Uint8Array[];
  tail: Uint8Array[];
}

/** A whole stream: header, one PAGE_DATA per batch, shared info, vCPU, END. */
export function streamParts(
  batches: number[][] = [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
  ],
  checksums = false,
  h: StreamHeader = header(),
): StreamParts {
  const fill = (batch: number[]) => (i: number, dst: Uint8Array) =>
    dst.set(pageOf(batch[i] as number));
  if (checksums) {
    const w = new StreamWriter({ checksums: true });
    return {
      header: concat(w.header(h)),
      pages: batches.map((b) => w.pageData(b, fill(b))),
      tail: [w.sharedInfo(pageOf(999)), w.vcpu(VCPU), ...w.end()],
    };
  }
  return {
    header: concat(encodeStreamHeader(h, { checksums: false })),
    pages: batches.map((b) => encodePageData(b, fill(b))),
    tail: [encodeSharedInfo(pageOf(999)), encodeVcpu(VCPU), ...encodeEnd()],
  };
}

export function wholeStream(p: StreamParts): Uint8Array {
  return concat([p.header, ...p.pages, ...p.tail]);
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Reads `bytes` in one chunk and finishes: the records, or the first error. */
export function readAll(
  bytes: Uint8Array,
  requireChecksums = false,
): { records: MigrationRecord[] } | { error: string } {
  return readChunks([bytes], requireChecksums);
}

export function readChunks(
  chunks: readonly Uint8Array[],
  requireChecksums = false,
): { records: MigrationRecord[] } | { error: string } {
  const r = new StreamReader({ requireChecksums });
  const records: MigrationRecord[] = [];
  for (const c of chunks) {
    const out: ReadResult = r.push(c);
    if ('error' in out) return out;
    records.push(...out.records);
  }
  const fin = r.finish();
  if ('error' in fin) return fin;
  return { records };
}

export function errorOf(res: { records: MigrationRecord[] } | { error: string }): string {
  return 'error' in res ? res.error : '(no error)';
}

/** A record's wire bytes: u32 type, u32 length, body, zero padding to 8. */
export function rawRecord(type: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(8 + ((body.length + 7) & ~7));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, type >>> 0, true);
  dv.setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}
