// The sending side of a migration (tools/libs/guest/xg_sr_save.c save loop, libxl_dom_save.c,
// tools/xl/xl_migrate.c migrate_domain; reference 10.1 and 10.4): the stream's static records, a
// memory reservation on the target before any page moves, log-dirty pre-copy rounds chosen by a
// policy, the suspend and stop-and-copy, then xl's commitment handshake. Before commitment any
// failure resumes the guest where it was; after it, the outcome is the target's, as in xl.

import { PAGE_SIZE } from '../../hypercalls/types.js';
import {
  XEN_DOMCTL_SHADOW_OP_CLEAN,
  XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY,
  XEN_DOMCTL_SHADOW_OP_OFF,
  XENMEM_maximum_gpfn,
} from '../../hypercalls/memory.js';
import { ToolstackError } from '../toolstack/api.js';
import { domainConfigToJson } from '../toolstack/config/libxl-json.js';
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
import { xcError } from '../toolstack/xc-errors.js';
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
import {
  encodeEnd,
  encodePageData,
  encodePageDataBatch,
  encodePostcopyPfns,
  encodeSharedInfo,
  encodeStreamHeader,
  encodeVcpu,
} from './stream-writer.js';
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
  private pfns: number[] = [];
  private populated = new Uint8Array(0);
  private pagesSent = 0;
  private logDirty = false;
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
  }

  private get deps(): LifecycleDeps {
    return this.host.deps;
  }

  private now(): number {
    return this.deps.platform.clock.now();
  }

  *run(): Op<MigrationStats> {
    const { xc } = this.deps;
    const domid = this.rec.domid;
    const start = this.now();
    const live = this.opts.live !== false;
    const policy = precopyPolicy(this.opts.policy ?? 'xen', {
      ...(this.opts.downtimeTargetMs !== undefined
        ? { downtimeTargetMs: this.opts.downtimeTargetMs }
        : {}),
    });

    yield* this.expect(RECEIVER_BANNER, 'waiting for the migration receiver');
    this.pfns = this.populatedPfns();
    yield* this.send(this.headerChunks());
    yield* this.awaitReservation();
    this.progress();

    let suspendedAt = -1;
    if (!live) {
      yield* this.suspend();
      suspendedAt = this.now();
    }
    const on = xc.shadowControl(domid, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY);
    if (!on.ok) throw xcError(`enabling log-dirty mode on domain ${domid}`, on.errno);
    this.logDirty = true;

    // Round 1 sends every page; each later round what the previous one left dirty.
    this.phase = live ? 'precopy' : 'stop-and-copy';
    let toSend: readonly number[] = this.pfns;
    for (this.round = 1; ; this.round++) {
      const t0 = this.now();
      const b0 = this.channel.bytesSent;
      yield* this.sendPages(toSend);
      const dirty = this.clean();
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
        guestPages: this.pfns.length,
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
      let last = mergeSorted(toSend, this.clean());
      if (this.opts.postcopy === true) {
        // Only what the new domain needs to start travels now (boot region: start_info, the
        // P2M list, xenstore and console rings); the rest is paged in on the target.
        const boot = this.bootPfns();
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
    this.logDirtyOff();
    this.handoff = this.deps.platform.programs.handOff?.(domid) ?? null;
    if (this.postcopyPfns.length > 0) yield* this.send([encodePostcopyPfns(this.postcopyPfns)]);
    yield* this.send([
      encodeSharedInfo(this.sharedInfo()),
      encodeVcpu({
        kernelRef: this.rec.config.bInfo.kernel ?? '',
        handoff: this.handoff,
        nrOnlineVcpus: this.onlineVcpus(),
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
    if (this.logDirty) this.logDirtyOff();
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
      const rec = this.pageRecord(batch);
      yield* this.send([rec]);
      this.pagesSent += batch.length;
      // About 64 reports per round (each may cross a socket to xl), and the round's last batch.
      const step = Math.max(BATCH, Math.ceil(this.pfns.length / 64));
      const before = this.pagesSent - batch.length;
      if (
        Math.floor(before / step) !== Math.floor(this.pagesSent / step) ||
        off + BATCH >= pfns.length
      )
        this.progress();
    }
  }

  /** One PAGE_DATA of `batch`, read through privcmd into the record's own (fresh) buffer. */
  private pageRecord(batch: readonly number[]): Uint8Array {
    const { foreign } = this.deps.platform;
    const domid = this.rec.domid;
    if (foreign.copyFromPfns) {
      let rc = 0;
      const rec = encodePageDataBatch(
        batch,
        (data, zeroed) => {
          rc = foreign.copyFromPfns?.(domid, batch, data, zeroed) ?? 0;
        },
        (bytes) => this.channel.recycled?.(bytes) ?? null,
      );
      if (rc !== 0) throw xcError(`reading the memory of domain ${domid}`, rc);
      return rec;
    }
    const m = foreign.mapForeignPfns(domid, batch, false);
    if (!m.ok) throw xcError(`mapping the memory of domain ${domid}`, m.errno);
    try {
      return encodePageData(batch, (i, dst) => void m.value.read(i, dst, true));
    } finally {
      foreign.unmapForeign(m.value);
    }
  }

  /** SHADOW_OP_CLEAN: the populated pfns dirtied since the last call, ascending. */
  private clean(): number[] {
    const { xc } = this.deps;
    const domid = this.rec.domid;
    const n = this.populated.length;
    const bitmap = new Uint8Array((n + 7) >>> 3);
    const r = xc.shadowControl(domid, XEN_DOMCTL_SHADOW_OP_CLEAN, bitmap, n);
    if (!r.ok) throw xcError(`reading the dirty log of domain ${domid}`, r.errno);
    const out: number[] = [];
    for (let byte = 0; byte < bitmap.length; byte++) {
      let b = bitmap[byte] as number;
      while (b !== 0) {
        const bit = 31 - Math.clz32(b & -b);
        b &= b - 1;
        const pfn = byte * 8 + bit;
        if (this.populated[pfn] === 1) out.push(pfn);
      }
    }
    return out;
  }

  private logDirtyOff(): void {
    if (!this.logDirty) return;
    this.logDirty = false;
    this.deps.xc.shadowControl(this.rec.domid, XEN_DOMCTL_SHADOW_OP_OFF);
  }

  /** The pfns with memory behind them (holes are ballooned out), and a membership table. */
  private populatedPfns(): number[] {
    const { platform } = this.deps;
    const domid = this.rec.domid;
    const max = platform.hypercalls.memory_op(XENMEM_maximum_gpfn, domid);
    if (max < 0) throw xcError(`xc_domain_maximum_gpfn for domain ${domid}`, -max);
    const out: number[] = [];
    this.populated = new Uint8Array(max + 1);
    for (let base = 0; base <= max; base += 65536) {
      const n = Math.min(65536, max + 1 - base);
      const all = new Array<number>(n);
      for (let i = 0; i < n; i++) all[i] = base + i;
      const m = platform.foreign.mapForeignPfns(domid, all, false);
      if (!m.ok) throw xcError(`mapping the memory of domain ${domid}`, m.errno);
      for (let i = 0; i < n; i++)
        if (m.value.pages[i]?.errno === 0) {
          out.push(base + i);
          this.populated[base + i] = 1;
        }
      platform.foreign.unmapForeign(m.value);
    }
    return out;
  }

  private headerChunks(): Uint8Array[] {
    const v = this.deps.platform.hypercalls.xen_version(0);
    // The domain's name now (xl rename, or an earlier migration's <name>--incoming, changed it).
    const config = { ...this.rec.config, cInfo: { ...this.rec.config.cInfo, name: this.rec.name } };
    const libxl = JSON.parse(domainConfigToJson(config)) as Record<string, unknown>;
    const configJson = JSON.stringify({ ...libxl, xensim_config: config });
    return encodeStreamHeader(
      {
        configJson,
        xenMajor: v >>> 16,
        xenMinor: v & 0xffff,
        layout: this.rec.layout,
        pfns: this.pfns,
      },
      { checksums: false },
    );
  }

  /** The boot region a new domain's kernel and toolstack touch before any guest code runs. */
  private bootPfns(): Set<number> {
    const l = this.rec.layout;
    const s = new Set<number>([l.startInfoPfn, l.storePfn, l.consolePfn]);
    for (let i = 0; i < l.p2mPages; i++) s.add(l.p2mPfn + i);
    for (let i = 0; i < l.kernelPages; i++) s.add(l.kernelPfn + i);
    return s;
  }

  /** The shared_info page's bytes (SHARED_INFO record). */
  private sharedInfo(): Uint8Array {
    const { xc, platform } = this.deps;
    const out = new Uint8Array(PAGE_SIZE);
    const info = xc.getInfo(this.rec.domid);
    if (!info.ok) throw xcError(`xc_domain_getinfo for domain ${this.rec.domid}`, info.errno);
    const m = platform.foreign.mapForeignMfns(
      this.rec.domid,
      [info.value.shared_info_frame],
      false,
    );
    if (m.ok) {
      m.value.read(0, out);
      platform.foreign.unmapForeign(m.value);
    }
    return out;
  }

  private onlineVcpus(): number {
    const info = this.deps.xc.getInfo(this.rec.domid);
    return info.ok ? Math.max(1, info.value.nr_online_vcpus) : 1;
  }

  private progress(): void {
    this.report({
      phase: this.phase,
      round: this.round,
      pagesSent: this.pagesSent,
      pagesTotal: this.pfns.length,
      dirtyPages: this.dirtyPages,
      bytesOnWire: this.channel.bytesSent,
    });
  }
}

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

/** The union of two ascending pfn lists. */
function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? (a[i] as number) : Infinity;
    const y = j < b.length ? (b[j] as number) : Infinity;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) out.push(a[i++] as number);
    else out.push(b[j++] as number);
  }
  return out;
}
