// The contracts of live migration (tools/libs/guest/xg_sr_save.c, xg_sr_restore.c, tools/xl/
// xl_migrate.c; reference 10): the byte channel a stream travels over, the records of the stream,
// the pre-copy policy seam and the statistics a migration reports. Every part of dom0/migration/
// and the transports (in-process link, TCP) meet here.

import type { Wait } from '../toolstack/task.js';
import type { BootLayout } from '../toolstack/domain-builder.js';

// ---- the channel ---------------------------------------------------------------------------

/**
 * One end of a migration connection: an ordered, reliable byte stream in each direction (a TCP
 * socket, or the in-process link that models bandwidth and latency in virtual time). Listeners run
 * inside engine events (a transport fed from host I/O schedules them on the clock first).
 */
export interface MigrationChannel {
  /**
   * Queues `bytes` for the peer (the channel may keep the array: do not reuse it). The Wait resumes
   * (with undefined) once the link has taken the bytes, so a sender paces itself to the link: on
   * the in-process link after bytes / bandwidth of virtual time, on TCP once the socket drained.
   * If the channel closed, the Wait resumes at once and the data is dropped (check `closed`).
   */
  send(bytes: Uint8Array): Wait<void>;
  /** Bytes from the peer, in order, in chunks of any size. */
  onData(listener: (chunk: Uint8Array) => void): void;
  /** The channel ended: `reason` null for an orderly close by the peer, else why it failed. */
  onClose(listener: (reason: string | null) => void): void;
  /** Closes both directions (idempotent); the peer sees an orderly close. */
  close(): void;
  /** Fails the channel: both ends see `reason` (a fault injection, a dead process). */
  abort(reason: string): void;
  readonly closed: boolean;
  /** Bytes this end has sent so far. */
  readonly bytesSent: number;
  /**
   * A buffer of exactly `bytes` that an earlier `send` handed over and the transport is done with
   * (its old bytes are still in it), or null. A TCP channel recycles its large writes this way, so
   * a 1 GiB stream does not allocate and zero 1 GiB of fresh buffers.
   */
  recycled?(bytes: number): Uint8Array | null;
  /**
   * The data listeners hold none of the chunks delivered so far (they copied what they keep): a
   * transport that reads into reusable memory may now overwrite them. Until this is called a
   * delivered chunk stays as it was; a consumer that never calls it only costs memory.
   */
  release?(): void;
}

// ---- the stream's records ------------------------------------------------------------------

/**
 * What the receiver needs before any page: everything up to STATIC_DATA_END (xl save header and
 * config JSON, libxl header, libxc image and domain headers, X86_PV_INFO, the boot layout record,
 * X86_PV_P2M_FRAMES standing for the populated pfns).
 */
export interface StreamHeader {
  /** libxl_domain_config JSON plus `xensim_config` (the typed DomainConfig). */
  readonly configJson: string;
  readonly xenMajor: number;
  readonly xenMinor: number;
  readonly layout: BootLayout;
  /** The pfns the guest has populated (ballooned-out holes are absent), ascending. */
  readonly pfns: readonly number[];
}

/**
 * X86_PV_VCPU_BASIC for vCPU 0, as xensim represents it. DEVIATION(xen): a PV guest's registers are
 * a reference to its code plus, in-process, a handoff token naming the suspended guest program, so
 * the same coroutine resumes in the new domain (guest execution state cannot be serialized).
 */
export interface VcpuState {
  /** The kernel ref the domain was built from (`builtin:<name>` / `module:<path>#<export>`). */
  readonly kernelRef: string;
  /** A GuestProgramRegistry handoff ref (`handoff:<instance>.<n>`), resolvable only in the same process. */
  readonly handoff: string | null;
  readonly nrOnlineVcpus: number;
  readonly startInfoPfn: number;
}

/** A validated record, as the stream reader yields it. */
export type MigrationRecord =
  | { readonly type: 'header'; readonly header: StreamHeader }
  | {
      readonly type: 'pages';
      /** The batch's pfns (PAGE_DATA, <= 1024). */
      readonly pfns: readonly number[];
      /** pfns.length * 4096 bytes, page i at i * 4096. */
      readonly data: Uint8Array;
    }
  | { readonly type: 'shared-info'; readonly bytes: Uint8Array }
  /** Post-copy: pfns whose contents stay on the source until the target pulls them. */
  | { readonly type: 'postcopy-pfns'; readonly pfns: readonly number[] }
  | { readonly type: 'vcpu'; readonly vcpu: VcpuState }
  | { readonly type: 'end' };

// ---- pre-copy ------------------------------------------------------------------------------

/** What a policy sees after each live round. */
export interface PrecopyRoundState {
  /** The round just finished (1 = the full round). */
  readonly round: number;
  /** Pages sent in that round. */
  readonly pagesSentThisRound: number;
  /** Pages dirtied while that round was sent (what the next round would send). */
  readonly dirtyPages: number;
  /** Pages sent over all rounds so far. */
  readonly pagesSentTotal: number;
  /** The guest's p2m size (populated pages). */
  readonly guestPages: number;
  /** Virtual time the last round took. */
  readonly roundDurationNs: number;
  /** Measured link rate over the last round (bytes per virtual second). */
  readonly bytesPerSecond: number;
}

export type PrecopyDecision = 'continue' | 'stop-and-copy';

/** A pre-copy policy: after each live round, go on or stop the guest and send the rest. */
export interface PrecopyPolicy {
  readonly name: PrecopyPolicyName;
  decide(s: PrecopyRoundState): PrecopyDecision;
}

export type PrecopyPolicyName = 'xen' | 'legacy' | 'downtime';

export interface MigrateOptions {
  /** 'xen' (default): < 50 dirty pages or 5 rounds; 'legacy': Xen <= 4.5; 'downtime': a target. */
  readonly policy?: PrecopyPolicyName;
  /** For 'downtime': the longest acceptable stop-and-copy, in ms (default 300). */
  readonly downtimeTargetMs?: number;
  /** false: suspend first and send every page once (xl save / migrate --live=no). Default true. */
  readonly live?: boolean;
  /** Post-copy: resume on the target after round 1 and pull the remaining pages on demand. */
  readonly postcopy?: boolean;
  /** Receiver: leave the migrated domain paused (xl migrate -p / migrate-receive -p). */
  readonly leavePaused?: boolean;
}

/** One live round (or the stop-and-copy, `final: true`). */
export interface RoundStats {
  readonly round: number;
  readonly pagesSent: number;
  /** Pages found dirty at the end of the round. */
  readonly dirtyPages: number;
  readonly durationNs: number;
  readonly bytes: number;
  readonly final: boolean;
}

export interface MigrationStats {
  readonly policy: PrecopyPolicyName;
  readonly rounds: readonly RoundStats[];
  /** From the start of the migration to the target's domain running (virtual ns). */
  readonly totalNs: number;
  /** From the guest's suspend to the target's unpause (virtual ns). */
  readonly downtimeNs: number;
  readonly bytesOnWire: number;
  readonly pagesSent: number;
  /** The domid on the target. */
  readonly targetDomid: number;
  /**
   * Post-copy only: pages the target took after it resumed, how many of them a guest access
   * faulted in (the rest came in the background), and how long until the last one arrived.
   */
  readonly postcopy?: {
    readonly pages: number;
    readonly faults: number;
    readonly durationNs: number;
  };
}

/** Progress of a migration, reported as it goes (xl migrate's display, the API's callback). */
export interface MigrationProgress {
  readonly phase: 'reserve' | 'precopy' | 'suspend' | 'stop-and-copy' | 'commit' | 'done';
  readonly round: number;
  readonly pagesSent: number;
  readonly pagesTotal: number;
  readonly dirtyPages: number;
  readonly bytesOnWire: number;
}
