// The sending side of a migration (tools/libs/guest/xg_sr_save.c save loop, libxl_dom_save.c,
// tools/xl/xl_migrate.c migrate_domain; reference 10.1 and 10.4): the stream's static records, a
// memory reservation on the target before any page moves, log-dirty pre-copy rounds chosen by a
// policy, the suspend and stop-and-copy, then xl's commitment handshake. Before commitment any
// failure resumes the guest where it was; after it, the outcome is the target's, as in xl.

import { ToolstackError } from '../toolstack/api.js';
import type { DomainRecord } from '../toolstack/domain-registry.js';
import {
  destroyDomain,
  renameDomain,
  resumeSuspended,
  suspendDomain,
  type DomainEvent,
  type LifecycleDeps,
} from '../toolstack/lifecycle.js';
import type { Op } from '../toolstack/task.js';
import {
  HANDSHAKE_TIMEOUT_NS,
  parsePostcopyDone,
  PERMISSION_TO_GO,
  POSTCOPY_TIMEOUT_NS,
  RECEIVER_BANNER,
  RECEIVER_READY,
  parseReservation,
  UNPAUSE_REPORT,
} from './handshake.js';
import { ChannelInbox, expectMessage, readCString, readExactly } from './inbox.js';
import { precopyPolicy } from './precopy-policy.js';
import { mergeSorted, SourceDomain } from './source-domain.js';
import { encodeEnd, encodePostcopyPfns, encodeSharedInfo, encodeVcpu } from './stream-writer.js';
import type {
  MigrateOptions,
  MigrationChannel,
  MigrationProgress,
  MigrationStats,
  RoundStats,
} from './types.js';

const BATCH = 1024; // MAX_BATCH_SIZE
const RESERVATION_MAX_MESSAGE = 4096;

/** What the sender needs of its toolstack. */
export interface SenderHost {
  readonly deps: LifecycleDeps;
  emit(e: DomainEvent): void;
}

/** Live (or, with `live: false`, suspend-first) migration of `rec` over `channel`. */
export function* migrateSendOp(
  host: SenderHost,
  rec: DomainRecord,
  channel: MigrationChannel,
  opts: MigrateOptions,
  progress: (p: MigrationProgress) => void,
): Op<MigrationStats> {
  const s = new Sender(host, rec, channel, opts, progress);
  try {
    return yield* s.run();
  } catch (e) {
    s.rollback(e);
    throw e;
  }
}

class Sender {
  private readonly host: SenderHost;
  private readonly rec: DomainRecord;
  private readonly channel: MigrationChannel;
  private readonly opts: MigrateOptions;
  private readonly report: (p: MigrationProgress) => void;
  private readonly inbox: ChannelInbox;
  private readonly rounds: RoundStats[] = [];
  private readonly src: SourceDomain;
  private pagesSent = 0;
  private suspended = false;
  private renamedFrom: string | null = null;
  private handoff: string | null = null;
  private committed = false;
  private phase: MigrationProgress['phase'] = 'reserve';
  private round = 0;
  private dirtyPages = 0;
  private postcopyPfns: number[] = [];
  private targetDomid = -1;

  constructor(
    host: SenderHost,
    rec: DomainRecord,
    channel: MigrationChannel,
    opts: MigrateOptions,
    progress: (p: MigrationProgress) => void,
  ) {
    this.host = host;
    this.rec = rec;
    this.channel = channel;
    this.opts = opts;
    this.report = progress;
    this.inbox = new ChannelInbox(channel, host.deps.platform.clock);
    this.src = new SourceDomain(host.deps, rec);
  }

  private get deps(): LifecycleDeps {
    return this.host.deps;
  }

  private now(): number {
    return this.deps.platform.clock.now();
  }

  *run(): Op<MigrationStats> {
    const domid = this.rec.domid;
    const start = this.now();
    const live = this.opts.live !== false;
    const policy = precopyPolicy(this.opts.policy ?? 'xen', {
      ...(this.opts.downtimeTargetMs !== undefined
        ? { downtimeTargetMs: this.opts.downtimeTargetMs }
        : {}),
    });

    yield* this.expect(RECEIVER_BANNER, 'waiting for the migration receiver');
    this.src.scan();
    yield* this.send(this.src.headerChunks());
    yield* this.awaitReservation();
    this.progress();

    let suspendedAt = -1;
    if (!live) {
      yield* this.suspend();
      suspendedAt = this.now();
    }
    this.src.enableLogDirty();

    // Round 1 sends every page; each later round what the previous one left dirty.
    this.phase = live ? 'precopy' : 'stop-and-copy';
    let toSend: readonly number[] = this.src.pfns;
    for (this.round = 1; ; this.round++) {
      const t0 = this.now();
      const b0 = this.channel.bytesSent;
      yield* this.sendPages(toSend);
      const dirty = this.src.clean();
      const durationNs = this.now() - t0;
      const bytes = this.channel.bytesSent - b0;
      this.dirtyPages = dirty.length;
      this.rounds.push({
        round: this.round,
        pagesSent: toSend.length,
        dirtyPages: dirty.length,
        durationNs,
        bytes,
        final: !live,
      });
      this.progress();
      if (!live) break;
      // Post-copy: one full round, then the guest moves; what it dirtied since is pulled later.
      if (this.opts.postcopy === true) {
        toSend = dirty;
        break;
      }
      const decision = policy.decide({
        round: this.round,
        pagesSentThisRound: toSend.length,
        dirtyPages: dirty.length,
        pagesSentTotal: this.pagesSent,
        guestPages: this.src.pfns.length,
        roundDurationNs: durationNs,
        bytesPerSecond: durationNs > 0 ? (bytes * 1e9) / durationNs : Infinity,
      });
      toSend = dirty;
      if (decision === 'stop-and-copy') break;
    }

    if (live) {
      // Stop-and-copy: suspend, take the last dirty set, send it with the vCPU state.
      // DEVIATION(xen): when simple_precopy_policy stops on < 50 dirty pages, xg_sr_save.c still
      // sends that set live and then what was dirtied meanwhile; here the set goes straight into
      // the stop-and-copy (at most 49 pages more downtime, and the rounds match the analytic model).
      this.phase = 'suspend';
      this.progress();
      yield* this.suspend();
      suspendedAt = this.now();
      this.phase = 'stop-and-copy';
      const t0 = this.now();
      const b0 = this.channel.bytesSent;
      let last = mergeSorted(toSend, this.src.clean());
      if (this.opts.postcopy === true) {
        // Only what the new domain needs to start travels now (boot region: start_info, the
        // P2M list, xenstore and console rings); the rest is paged in on the target.
        const boot = this.src.bootPfns();
        this.postcopyPfns = last.filter((pfn) => !boot.has(pfn));
        last = last.filter((pfn) => boot.has(pfn));
      }
      this.round++;
      yield* this.sendPages(last);
      this.rounds.push({
        round: this.round,
        pagesSent: last.length,
        dirtyPages: 0,
        durationNs: this.now() - t0,
        bytes: this.channel.bytesSent - b0,
        final: true,
      });
      this.dirtyPages = 0;
    }
    this.src.logDirtyOff();
    this.handoff = this.deps.platform.programs.handOff?.(domid) ?? null;
    if (this.postcopyPfns.length > 0) yield* this.send([encodePostcopyPfns(this.postcopyPfns)]);
    yield* this.send([
      encodeSharedInfo(this.src.sharedInfo()),
      encodeVcpu({
        kernelRef: this.rec.config.bInfo.kernel ?? '',
        handoff: this.handoff,
        nrOnlineVcpus: this.src.onlineVcpus(),
        startInfoPfn: this.rec.layout.startInfoPfn,
      }),
      ...encodeEnd(),
    ]);
    this.progress();

    // xl's handshake: the target built the domain; rename ours away and let it go.
    yield* this.expect(RECEIVER_READY, 'waiting for the target to receive the domain');
    this.phase = 'commit';
    this.progress();
    this.renamedFrom = this.rec.name;
    renameDomain(this.deps, this.rec, `${this.rec.name}--migratedaway`);
    yield* this.send([PERMISSION_TO_GO]);
    this.committed = true;
    yield* this.expect(UNPAUSE_REPORT, 'waiting for the target to report its unpause');
    const status = yield* readExactly(
      this.inbox,
      1,
      'reading the target unpause result',
      HANDSHAKE_TIMEOUT_NS,
    );
    if (!status.ok) throw afterCommit(status.error);
    if (status.value[0] !== 0) {
      // The target could not start its copy: it destroyed it and gives the domain back.
      this.committed = false;
      yield* this.expect(PERMISSION_TO_GO, 'waiting for the target to give the domain back');
      throw new ToolstackError('FAIL', 'migration target reported failure to start the domain');
    }
    const downtimeNs = this.now() - suspendedAt;
    let postcopy: MigrationStats['postcopy'];
    if (this.postcopyPfns.length > 0) {
      // The target runs; our copy must stay until it has pulled every page it still lacks.
      const done = yield* readCString(
        this.inbox,
        256,
        'waiting for post-copy',
        POSTCOPY_TIMEOUT_NS,
      );
      if (!done.ok) throw afterCommit(done.error);
      const p = parsePostcopyDone(done.value);
      if (!p) throw afterCommit(`unexpected reply ${JSON.stringify(done.value.slice(0, 80))}`);
      postcopy = { ...p, pages: this.postcopyPfns.length };
    }
    destroyDomain(this.deps, this.rec);
    this.host.emit({ type: 'destroyed', domid });
    this.channel.close();
    this.phase = 'done';
    this.progress();
    return {
      policy: policy.name,
      rounds: this.rounds,
      totalNs: this.now() - start,
      downtimeNs,
      bytesOnWire: this.channel.bytesSent,
      pagesSent: this.pagesSent,
      targetDomid: this.targetDomid,
      ...(postcopy ? { postcopy } : {}),
    };
  }

  /** Undo everything short of commitment: the guest runs on here as if nothing happened. */
  rollback(e: unknown): void {
    const why = e instanceof Error ? e.message : String(e);
    if (!this.channel.closed) this.channel.abort(`migration source: ${why}`);
    if (this.committed) return; // after commitment the outcome is the target's (xl warns)
    this.src.logDirtyOff();
    if (this.handoff !== null) this.deps.platform.programs.revokeHandoff?.(this.handoff);
    if (this.renamedFrom !== null) {
      try {
        renameDomain(this.deps, this.rec, this.renamedFrom);
      } catch {
        // the name was taken meanwhile: keep the --migratedaway name rather than fail twice
      }
    }
    if (this.suspended) resumeSuspended(this.deps, this.rec.domid);
  }

  // ---- pieces ---------------------------------------------------------------------------------

  private *expect(msg: Uint8Array, what: string): Op<void> {
    const r = yield* expectMessage(this.inbox, msg, what, HANDSHAKE_TIMEOUT_NS);
    if (!r.ok) throw this.committed ? afterCommit(r.error) : failed(r.error);
  }

  private *send(chunks: readonly Uint8Array[]): Op<void> {
    for (const c of chunks) {
      if (this.channel.closed) throw failed(`connection lost: ${this.inbox.ended ?? 'closed'}`);
      yield this.channel.send(c);
    }
    if (this.channel.closed) throw failed(`connection lost: ${this.inbox.ended ?? 'closed'}`);
  }

  private *awaitReservation(): Op<void> {
    const r = yield* readCString(
      this.inbox,
      RESERVATION_MAX_MESSAGE,
      'waiting for the target to reserve memory',
      HANDSHAKE_TIMEOUT_NS,
    );
    if (!r.ok) throw failed(r.error);
    const p = parseReservation(r.value);
    if (!p.ok) throw failed(`target refused the domain: ${p.why}`);
    this.targetDomid = p.domid;
  }

  private *suspend(): Op<void> {
    this.suspended = true; // from the request on: a failure must resume the guest
    yield* suspendDomain(this.deps, this.rec);
  }

  /** Sends `pfns` in PAGE_DATA batches of up to 1024 pages read through privcmd. */
  private *sendPages(pfns: readonly number[]): Op<void> {
    for (let off = 0; off < pfns.length; off += BATCH) {
      const batch = pfns.slice(off, off + BATCH);
      const rec = this.src.pageRecord(batch, (bytes) => this.channel.recycled?.(bytes) ?? null);
      yield* this.send([rec]);
      this.pagesSent += batch.length;
      // About 16 reports per round, and the round's last batch: each crosses a socket to xl and
      // wakes it (measured ~1 ms of the sender's time per report on a busy 2-core host).
      const step = Math.max(BATCH, Math.ceil(this.src.pfns.length / PROGRESS_STEPS));
      const before = this.pagesSent - batch.length;
      if (
        Math.floor(before / step) !== Math.floor(this.pagesSent / step) ||
        off + BATCH >= pfns.length
      )
        this.progress();
    }
  }

  private progress(): void {
    this.report({
      phase: this.phase,
      round: this.round,
      pagesSent: this.pagesSent,
      pagesTotal: this.src.pfns.length,
      dirtyPages: this.dirtyPages,
      bytesOnWire: this.channel.bytesSent,
    });
  }
}

/** Progress reports per round (xl prints each). */
const PROGRESS_STEPS = 16;

function failed(why: string): ToolstackError {
  return new ToolstackError('FAIL', `migration failed: ${why}`);
}

/** xl_migrate.c: a failure after the permission to go leaves both copies in doubt. */
function afterCommit(why: string): ToolstackError {
  return new ToolstackError(
    'FAIL',
    `migration sender: Target reported failure after commitment (${why}).\n` +
      ' ********************************************************************\n' +
      '  The migration may or may not have completed: check both hosts. The\n' +
      '  domain here is kept, renamed --migratedaway and suspended.\n' +
      ' ********************************************************************',
  );
}
