// The analytic model of iterative pre-copy (Clark et al., "Live Migration of Virtual Machines",
// NSDI 2005) for the stream of docs/specs/libxc-migration-stream.pandoc (reference 10.2): given the
// guest's size, its dirtying pattern, the link and a policy, the rounds, bytes, time and downtime a
// migration should take. Pure functions: the simulated migration is checked against them.

import type { PrecopyPolicy, PrecopyPolicyName, RoundStats } from './types.js';

const NS_PER_SEC = 1_000_000_000;

/** Byte sizes of the stream's page records (reference 10.2). */
export interface StreamSizes {
  /** Bytes of one page's data (4096: page_shift 12). */
  readonly pageBytes: number;
  /** Bytes of one pfn entry in a PAGE_DATA body (uint64). */
  readonly pfnBytes: number;
  /** Pages per PAGE_DATA record at most (MAX_BATCH_SIZE). */
  readonly batchPages: number;
  /**
   * Bytes each PAGE_DATA record adds: the record header (uint32 type, uint32 body_length) and the
   * body's uint32 count + uint32 reserved. The body is 8 + 8n + 4096n bytes, a multiple of 8, so
   * no padding.
   */
  readonly recordOverheadBytes: number;
}

export const PAGE_DATA_STREAM: StreamSizes = {
  pageBytes: 4096,
  pfnBytes: 8,
  batchPages: 1024,
  recordOverheadBytes: 16,
};

/** Record header bytes (uint32 type, uint32 body_length). */
const RECORD_HEADER_BYTES = 8;
/** X86_TSC_INFO body: uint32 mode, uint32 khz, uint64 nsec, uint32 incarnation, uint32 reserved. */
const TSC_INFO_BODY_BYTES = 24;

/**
 * The records sent after the last PAGE_DATA while the guest is stopped, vCPU records left out:
 * X86_TSC_INFO, SHARED_INFO (one page) and END. The stream writer's own vCPU record sizes are
 * added by passing `stateRecordsBytes`.
 */
export const STATE_RECORDS_BYTES =
  RECORD_HEADER_BYTES +
  TSC_INFO_BODY_BYTES +
  RECORD_HEADER_BYTES +
  PAGE_DATA_STREAM.pageBytes +
  RECORD_HEADER_BYTES;

/** Bytes on the wire for `pages` pages sent in full PAGE_DATA records of up to `batchPages`. */
export function pageDataWireBytes(pages: number, s: StreamSizes = PAGE_DATA_STREAM): number {
  if (pages <= 0) return 0;
  return (
    pages * (s.pageBytes + s.pfnBytes) + Math.ceil(pages / s.batchPages) * s.recordOverheadBytes
  );
}

/**
 * The memory dirtier's pattern (domU/workloads/memory-dirtier.ts): it writes `pagesPerSecond`
 * pages cycling through a working set of `workingSetPages`, so after t seconds min(W, r*t)
 * distinct pages are dirty.
 */
export interface DirtyPattern {
  readonly workingSetPages: number;
  readonly pagesPerSecond: number;
}

/** Distinct pages the pattern dirties in `durationNs` (whole pages written so far). */
export function distinctDirtyPages(p: DirtyPattern | null, durationNs: number): number {
  if (p === null || p.workingSetPages <= 0 || p.pagesPerSecond <= 0 || durationNs <= 0) return 0;
  // The epsilon keeps an exact product (1000 pages/s for 0.5 s) from flooring to one less.
  const written = Math.floor((p.pagesPerSecond * durationNs) / NS_PER_SEC + 1e-9);
  return Math.min(Math.floor(p.workingSetPages), written);
}

export interface PrecopyModelInput {
  /** The guest's p2m size: pages round 1 sends. */
  readonly guestPages: number;
  /** What the guest dirties while it runs; null: an idle guest. */
  readonly dirty: DirtyPattern | null;
  /** Link bandwidth, bytes per second. */
  readonly bytesPerSecond: number;
  /** One-way link latency, ns. */
  readonly latencyNs: number;
  readonly policy: PrecopyPolicy;
  /** false: suspend first, send every page once (xl save, migrate --live=no). Default true. */
  readonly live?: boolean;
  /** Bytes sent before round 1 (xl/libxl/libxc headers, config, static records); default 0. */
  readonly headerBytes?: number;
  /**
   * One-way link crossings the setup waits for before round 1 (the receiver's banner, its
   * reservation answer); default 0.
   */
  readonly setupTrips?: number;
  /** Bytes after the last pages while stopped (default STATE_RECORDS_BYTES; add vCPU records). */
  readonly stateRecordsBytes?: number;
  /** From the stop decision to the guest stopped (the suspend handshake); it keeps dirtying. Default 0. */
  readonly suspendNs?: number;
  /**
   * One-way link crossings after the stream's last byte before the target unpauses; default 1 (the
   * last byte's own). The xl handshake of reference 10.4 adds two more.
   */
  readonly commitTrips?: number;
  readonly stream?: StreamSizes;
}

export interface PrecopyModelResult {
  readonly policy: PrecopyPolicyName;
  /** The live rounds, then the stop-and-copy (`final: true`: its pages; the state records follow). */
  readonly rounds: readonly RoundStats[];
  readonly liveRounds: number;
  /** Every byte on the wire, headers and state records included. */
  readonly totalBytes: number;
  readonly pagesSent: number;
  /** From the first byte to the target's unpause, ns. */
  readonly totalNs: number;
  /** From the guest stopped to the target's unpause, ns. */
  readonly downtimeNs: number;
}

/** A policy that never stops is a bug: the model gives up after this many rounds. */
export const MODEL_MAX_ROUNDS = 10_000;

/** Predicts a migration round by round, as xg_sr_save.c's send_memory_live + suspend_and_send_dirty. */
export function predictPrecopy(m: PrecopyModelInput): PrecopyModelResult {
  const s = m.stream ?? PAGE_DATA_STREAM;
  const bps = m.bytesPerSecond;
  if (!(bps > 0) || !Number.isFinite(bps))
    throw new RangeError(`bandwidth must be > 0 bytes/s, got ${bps}`);
  const N = Math.max(0, Math.floor(m.guestPages));
  const wireNs = (bytes: number): number => (bytes * NS_PER_SEC) / bps;
  const headerBytes = m.headerBytes ?? 0;
  const rounds: RoundStats[] = [];
  const latencyNs = Math.max(0, m.latencyNs);
  let elapsedNs = wireNs(headerBytes) + latencyNs * (m.setupTrips ?? 0);
  let totalBytes = headerBytes;
  let pagesSent = 0;
  let finalPages = N;

  if (m.live ?? true) {
    let toSend = N;
    for (let round = 1; ; round++) {
      if (round > MODEL_MAX_ROUNDS)
        throw new RangeError(`policy ${m.policy.name} did not stop in ${MODEL_MAX_ROUNDS} rounds`);
      const bytes = pageDataWireBytes(toSend, s);
      const durationNs = wireNs(bytes);
      const dirtyPages = distinctDirtyPages(m.dirty, durationNs);
      rounds.push({
        round,
        pagesSent: toSend,
        dirtyPages,
        durationNs: Math.round(durationNs),
        bytes,
        final: false,
      });
      elapsedNs += durationNs;
      totalBytes += bytes;
      pagesSent += toSend;
      const decision = m.policy.decide({
        round,
        pagesSentThisRound: toSend,
        dirtyPages,
        pagesSentTotal: pagesSent,
        guestPages: N,
        roundDurationNs: Math.round(durationNs),
        bytesPerSecond: bps,
      });
      if (decision === 'stop-and-copy') {
        const suspendNs = Math.max(0, m.suspendNs ?? 0);
        // The log was cleaned when this round began; the guest writes on until it is stopped.
        finalPages = distinctDirtyPages(m.dirty, durationNs + suspendNs);
        elapsedNs += suspendNs;
        break;
      }
      toSend = dirtyPages;
    }
  }

  // The stop-and-copy round is its pages (as the sender counts it); the state records follow.
  const finalBytes = pageDataWireBytes(finalPages, s);
  const stateBytes = m.stateRecordsBytes ?? STATE_RECORDS_BYTES;
  const sendNs = wireNs(finalBytes);
  rounds.push({
    round: rounds.length + 1,
    pagesSent: finalPages,
    dirtyPages: 0,
    durationNs: Math.round(sendNs),
    bytes: finalBytes,
    final: true,
  });
  totalBytes += finalBytes + stateBytes;
  pagesSent += finalPages;
  const downtimeNs = sendNs + wireNs(stateBytes) + latencyNs * (m.commitTrips ?? 1);
  return {
    policy: m.policy.name,
    rounds,
    liveRounds: rounds.length - 1,
    totalBytes,
    pagesSent,
    totalNs: Math.round(elapsedNs + downtimeNs),
    downtimeNs: Math.round(downtimeNs),
  };
}
