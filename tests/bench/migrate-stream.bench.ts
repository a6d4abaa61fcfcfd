// migrate.stream: the migration stream codec (dom0/migration/stream-writer.ts, stream-reader.ts)
// encodes and decodes a 256 MiB guest, batch by batch as a sender and receiver would, against a
// plain memcpy of the same bytes measured in the same run.

import { performance } from 'node:perf_hooks';
import { StreamReader } from '../../dom0/migration/stream-reader.js';
import {
  encodeEnd,
  encodePageData,
  encodeStreamHeader,
  encodeVcpu,
} from '../../dom0/migration/stream-writer.js';
import { bootLayout } from '../../dom0/toolstack/domain-builder.js';
import { median, type Bench } from './harness.js';

const MiB = 1 << 20;
const GUEST_BYTES = 256 * MiB;
const PAGES = GUEST_BYTES / 4096;
const BATCH = 1024;
const TCP_CHUNK = 64 * 1024;
const REPS = 5;

function guestMemory(): Uint8Array {
  const mem = new Uint8Array(GUEST_BYTES);
  for (let p = 0; p < PAGES; p++) mem.fill((p * 131) & 0xff, p * 4096, p * 4096 + 4096);
  return mem;
}

/** Encodes the whole guest and feeds each chunk to a reader (re-split into `chunkBytes` if set). */
function encodeDecode(mem: Uint8Array, chunkBytes: number | null): { ms: number; bytes: number } {
  const pfns = Array.from({ length: PAGES }, (_, i) => i);
  const t0 = performance.now();
  const reader = new StreamReader();
  let bytes = 0;
  let pagesIn = 0;
  const feed = (c: Uint8Array): void => {
    bytes += c.length;
    const pieces: Uint8Array[] = [];
    if (chunkBytes === null) pieces.push(c);
    else for (let o = 0; o < c.length; o += chunkBytes) pieces.push(c.subarray(o, o + chunkBytes));
    for (const piece of pieces) {
      const r = reader.push(piece);
      if ('error' in r) throw new Error(r.error);
      for (const rec of r.records) if (rec.type === 'pages') pagesIn += rec.pfns.length;
    }
  };
  const layout = bootLayout(PAGES, 4096);
  for (const c of encodeStreamHeader({
    configJson: '{"c_info":{"name":"bench"}}',
    xenMajor: 4,
    xenMinor: 17,
    layout,
    pfns,
  }))
    feed(c);
  for (let start = 0; start < PAGES; start += BATCH) {
    const batch = pfns.slice(start, start + BATCH);
    feed(
      encodePageData(batch, (i, dst) => {
        const src = (start + i) * 4096;
        dst.set(mem.subarray(src, src + 4096));
      }),
    );
  }
  feed(
    encodeVcpu({
      kernelRef: 'builtin:bench',
      handoff: null,
      nrOnlineVcpus: 1,
      startInfoPfn: layout.startInfoPfn,
    }),
  );
  for (const c of encodeEnd()) feed(c);
  const ms = performance.now() - t0;
  if (!reader.done || pagesIn !== PAGES) throw new Error('the stream did not round-trip');
  return { ms, bytes };
}

/** memcpy of the guest's bytes into a buffer of the same size (allocated and touched once). */
function memcpyMs(mem: Uint8Array, dst: Uint8Array): number {
  const t0 = performance.now();
  dst.set(mem);
  return performance.now() - t0;
}

/** memcpy into fresh 4 MiB buffers, the allocation pattern a stream that hands its chunks away has. */
function memcpyFreshMs(mem: Uint8Array): number {
  const t0 = performance.now();
  let sink = 0;
  for (let o = 0; o < mem.length; o += BATCH * 4096) {
    const b = new Uint8Array(BATCH * 4096);
    b.set(mem.subarray(o, o + BATCH * 4096));
    sink ^= b[17] as number;
  }
  if (sink === 0x1234) throw new Error('unreachable');
  return performance.now() - t0;
}

export const benches: Bench[] = [
  {
    name: 'migrate.stream',
    unit: 'MB/s',
    better: 'higher',
    target: 0.5,
    run() {
      const mem = guestMemory();
      const dst = new Uint8Array(GUEST_BYTES);
      dst.set(mem); // touch every page once
      encodeDecode(mem, null); // warm up
      const mbps = (bytes: number, ms: number): number => bytes / MiB / (ms / 1000);
      // Interleaved repetitions: on a shared machine each figure and its limit see the same load.
      const codecs: number[] = [];
      const tcps: number[] = [];
      const copies: number[] = [];
      const freshes: number[] = [];
      let streamBytes = 0;
      for (let rep = 0; rep < REPS; rep++) {
        const r = encodeDecode(mem, null);
        streamBytes = r.bytes;
        codecs.push(mbps(GUEST_BYTES, r.ms));
        copies.push(mbps(GUEST_BYTES, memcpyMs(mem, dst)));
        tcps.push(mbps(GUEST_BYTES, encodeDecode(mem, TCP_CHUNK).ms));
        freshes.push(mbps(GUEST_BYTES, memcpyFreshMs(mem)));
      }
      const codec = median(codecs);
      const copy = median(copies);
      const tcp = median(tcps);
      const fresh = median(freshes);
      return {
        value: codec,
        limit: copy,
        limitName: 'memcpy of the same 256 MiB into a touched buffer (Uint8Array.set)',
        extra: {
          streamBytes,
          encodeDecode64KiBChunksMBps: Math.round(tcp),
          memcpyFresh4MiBBuffersMBps: Math.round(fresh),
          ratioToFreshMemcpy: Math.round((codec / fresh) * 1000) / 1000,
        },
      };
    },
  },
];
