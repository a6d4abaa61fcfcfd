// The receiving side of a migration (tools/xl/xl_migrate.c migrate_receive, libxl_create.c
// domain_restore, tools/libs/guest/xg_sr_restore.c; reference 10.2-10.4): banner, then the stream,
// validated record by record; memory is reserved (the domain created paused as `<name>--incoming`,
// its pfns populated) before any page moves; pages go straight into the new domain; after END the
// build finishes paused, and only the sender's permission to go renames and unpauses it. Any
// failure before that destroys the incoming domain, so nothing is left behind.

import { PAGE_SIZE } from '../../hypercalls/types.js';
import { ToolstackError } from '../toolstack/api.js';
import type { DomainConfig } from '../toolstack/config/domain-config-types.js';
import { buildDomain } from '../toolstack/domain-builder.js';
import type { DomainRecord } from '../toolstack/domain-registry.js';
import { loadKernel, readKernel, type LoadedKernel } from '../toolstack/kernel-loader.js';
import {
  destroyDomain,
  renameDomain,
  type DomainEvent,
  type LifecycleDeps,
} from '../toolstack/lifecycle.js';
import { sleep, type Op, type Wait } from '../toolstack/task.js';
import {
  HANDSHAKE_TIMEOUT_NS,
  PERMISSION_TO_GO,
  RECEIVER_BANNER,
  RECEIVER_READY,
  postcopyDoneMessage,
  reservationMessage,
  UNPAUSE_REPORT,
} from './handshake.js';
import { ChannelInbox, expectMessage } from './inbox.js';
import { StreamReader } from './stream-reader.js';
import type {
  MigrateOptions,
  MigrationChannel,
  MigrationProgress,
  MigrationRecord,
  StreamHeader,
  VcpuState,
} from './types.js';

/** What the receiver needs of its toolstack. */
export interface ReceiverHost {
  readonly deps: LifecycleDeps;
  emit(e: DomainEvent): void;
}

export interface ReceiveOptions {
  /**
   * Accept the sender's guest-program handoff (true when both hosts share a process). A TCP
   * listener passes false: the migrated kernel then starts again over its memory image.
   */
  readonly acceptHandoff?: boolean;
  /**
   * Post-copy's pager source: reads a page of the (suspended) source domain, with the link's cost of
   * a fault (a round trip and a page) and of a page pulled in the background. Only hosts of one
   * process have it (a SimPool); a post-copy stream without it is refused before commitment.
   */
  readonly postcopySource?: PostcopySource;
}

export interface PostcopySource {
  read(pfn: number, dst: Uint8Array): boolean;
  readonly faultNs: number;
  readonly pageNs: number;
}

/** Pages pulled per background step of post-copy. */
const POSTCOPY_BATCH = 256;

export interface ReceiveResult {
  readonly domid: number;
  readonly name: string;
}

/** Slack the target keeps beyond the guest's pages (page tables, grant frames, xenstore). */
const RESERVE_SLACK_PAGES = 256;

export function* migrateReceiveOp(
  host: ReceiverHost,
  channel: MigrationChannel,
  opts: MigrateOptions,
  progress: (p: MigrationProgress) => void,
  ro: ReceiveOptions = {},
): Op<ReceiveResult> {
  const r = new Receiver(host, channel, opts, progress, ro);
  try {
    return yield* r.run();
  } catch (e) {
    r.rollback(e);
    throw e;
  }
}

class Receiver {
  private readonly host: ReceiverHost;
  private readonly channel: MigrationChannel;
  private readonly opts: MigrateOptions;
  private readonly report: (p: MigrationProgress) => void;
  private readonly ro: ReceiveOptions;
  private readonly inbox: ChannelInbox;
  private readonly reader = new StreamReader();
  private readonly queue: MigrationRecord[] = [];
  private rec: DomainRecord | null = null;
  private pagesTotal = 0;
  private pagesIn = 0;
  private reserved = false;
  private pagedPfns: readonly number[] = [];
  private faults = 0;
  private refused = false;

  constructor(
    host: ReceiverHost,
    channel: MigrationChannel,
    opts: MigrateOptions,
    progress: (p: MigrationProgress) => void,
    ro: ReceiveOptions,
  ) {
    this.host = host;
    this.channel = channel;
    this.opts = opts;
    this.report = progress;
    this.ro = ro;
    this.inbox = new ChannelInbox(channel, host.deps.platform.clock);
  }

  private get deps(): LifecycleDeps {
    return this.host.deps;
  }

  *run(): Op<ReceiveResult> {
    yield this.channel.send(RECEIVER_BANNER);
    const first = yield* this.next('waiting for the stream header');
    if (first.type !== 'header')
      throw failed(`the stream starts with ${first.type}, not its header`);
    const header = first.header;
    this.pagesTotal = header.pfns.length;
    const cfg = parseConfig(header);
    const name = cfg.cInfo.name;
    yield* this.reserveCheck(header, name);
    const kernel = yield* this.kernel(cfg);

    this.progress('reserve');
    const incoming: DomainConfig = { ...cfg, cInfo: { ...cfg.cInfo, name: `${name}--incoming` } };
    let rec: DomainRecord;
    try {
      rec = yield* this.build(incoming, kernel, header);
    } catch (e) {
      // A build that fails before the reservation was acknowledged is the reservation failing.
      if (!this.reserved && !this.channel.closed) {
        const why = e instanceof Error ? e.message : String(e);
        yield* this.sendAll([reservationMessage({ ok: false, why })]);
        this.refused = true;
      }
      throw e;
    }
    this.rec = rec;
    this.host.emit({ type: 'created', domid: rec.domid, name: rec.name });

    // xl: report the domain received, wait for the permission to go (the sender's commitment).
    yield* this.sendAll([RECEIVER_READY]);
    this.progress('commit');
    const go = yield* expectMessage(
      this.inbox,
      PERMISSION_TO_GO,
      'waiting for permission to start the domain',
      HANDSHAKE_TIMEOUT_NS,
    );
    if (!go.ok) throw failed(go.error);
    renameDomain(this.deps, rec, name);
    let status = 0;
    if (this.opts.leavePaused !== true) {
      const u = this.deps.xc.unpause(rec.domid);
      if (!u.ok) status = 1;
    }
    if (status === 0) this.rec = null; // committed and running: ours for good
    yield* this.sendAll([UNPAUSE_REPORT, Uint8Array.of(status)]);
    if (status !== 0) {
      // The sender keeps its copy: ours goes, and the domain is given back.
      this.destroyOurs();
      yield* this.sendAll([PERMISSION_TO_GO]);
      throw failed('could not unpause the migrated domain');
    }
    if (this.pagedPfns.length > 0) yield* this.pullTheRest(rec.domid);
    this.progress('done');
    return { domid: rec.domid, name: rec.name };
  }

  private build(
    incoming: DomainConfig,
    kernel: LoadedKernel,
    header: StreamHeader,
  ): Op<DomainRecord> {
    const receivePages = (domid: number): Op<{ handoff: string | null }> =>
      this.receivePages(domid);
    return buildDomain(this.deps, {
      config: incoming,
      configText: undefined,
      kernel,
      cwd: '/',
      paused: true,
      restore: {
        layout: header.layout,
        pfns: header.pfns,
        receive: receivePages,
      },
    });
  }

  rollback(e: unknown): void {
    const why = e instanceof Error ? e.message : String(e);
    if (this.rec) this.destroyOurs();
    if (this.channel.closed) return;
    // A refusal already on the wire must reach the sender: close after it rather than drop it.
    if (this.refused) this.channel.close();
    else this.channel.abort(`migration target: ${why}`);
  }

  private destroyOurs(): void {
    const rec = this.rec;
    if (!rec) return;
    this.rec = null;
    try {
      destroyDomain(this.deps, rec);
      this.host.emit({ type: 'destroyed', domid: rec.domid });
    } catch {
      // already gone
    }
  }

  /** The target must hold the guest's pages before any moves (else the guest never pauses). */
  private *reserveCheck(header: StreamHeader, name: string): Op<void> {
    const { xc, registry } = this.deps;
    let why: string | null = null;
    if (registry.domidOf(`${name}--incoming`) !== undefined)
      why = `a domain named "${name}--incoming" already exists on the target`;
    const phys = xc.physinfo();
    const need = header.pfns.length + RESERVE_SLACK_PAGES;
    if (why === null && phys.ok && phys.value.free_pages < need)
      why =
        `not enough free memory on the target: ${mib(phys.value.free_pages)} MiB free, ` +
        `${mib(need)} MiB needed`;
    if (why === null) return;
    yield* this.sendAll([reservationMessage({ ok: false, why })]);
    this.refused = true;
    throw failed(why);
  }

  private *kernel(cfg: DomainConfig): Op<LoadedKernel> {
    const { platform } = this.deps;
    const k = readKernel(platform.fs, platform.programs, cfg.bInfo.kernel, '/');
    if (k.ok === true) return k.kernel;
    if (k.ok === false) throw failed(k.message);
    const l = (yield promiseWait(
      loadKernel(platform.fs, platform.programs, cfg.bInfo.kernel, '/'),
    )) as Awaited<ReturnType<typeof loadKernel>> | Error;
    if (l instanceof Error) throw failed(l.message);
    if (!l.ok) throw failed(l.message);
    return l.kernel;
  }

  /** Inside the build, with the domain's pfns populated: the reservation holds; take the pages. */
  private *receivePages(domid: number): Op<{ handoff: string | null }> {
    yield* this.sendAll([reservationMessage({ ok: true, domid })]);
    this.reserved = true;
    this.progress('precopy');
    let vcpu: VcpuState | null = null;
    for (;;) {
      const r = yield* this.next('receiving the domain');
      switch (r.type) {
        case 'pages':
          this.writePages(domid, r.pfns, r.data);
          break;
        case 'shared-info':
          break; // validated by the reader; a PV guest re-registers its shared info on resume
        case 'postcopy-pfns':
          this.startPaging(domid, r.pfns);
          break;
        case 'vcpu':
          vcpu = r.vcpu;
          break;
        case 'end':
          if (!vcpu) throw failed('the stream ended without the vCPU state');
          return {
            handoff: this.ro.acceptHandoff === false ? null : vcpu.handoff,
          };
        case 'header':
          throw failed('a second stream header');
      }
    }
  }

  /** Post-copy: these pfns stay on the source; a guest access pages one in (mem_paging). */
  private startPaging(domid: number, pfns: readonly number[]): void {
    const src = this.ro.postcopySource;
    if (!src) throw failed('post-copy needs the source in the same process (a SimPool)');
    const { foreign } = this.deps.platform;
    if (!foreign.setPaging) throw failed('this hypervisor has no mem_paging for post-copy');
    const rc = foreign.setPaging(domid, pfns, (pfn) => {
      this.faults++;
      this.pull(domid, pfn);
      return src.faultNs;
    });
    if (rc !== 0) throw failed(`cannot page out the post-copy pfns (errno ${rc})`);
    this.pagedPfns = pfns;
  }

  /** Loads one page from the source into the new domain. */
  private pull(domid: number, pfn: number): void {
    const src = this.ro.postcopySource;
    const page = new Uint8Array(PAGE_SIZE);
    if (!src?.read(pfn, page)) throw failed(`post-copy: the source no longer has pfn ${pfn}`);
    this.writePages(domid, [pfn], page);
  }

  /** The background half of post-copy: every page no fault took yet, at the link's pace. */
  private *pullTheRest(domid: number): Op<void> {
    const src = this.ro.postcopySource;
    const { foreign, clock } = this.deps.platform;
    const t0 = clock.now();
    const list = this.pagedPfns;
    for (let i = 0; i < list.length && src; i += POSTCOPY_BATCH) {
      const batch = list.slice(i, i + POSTCOPY_BATCH);
      yield sleep(clock, batch.length * src.pageNs);
      if (!this.deps.xc.getInfo(domid).ok)
        throw failed('the migrated domain died during post-copy');
      for (const pfn of batch) {
        if (!foreign.isPagedOut?.(domid, pfn)) continue; // a fault took it already
        foreign.pageLoaded?.(domid, pfn);
        this.pull(domid, pfn);
      }
    }
    yield* this.sendAll([postcopyDoneMessage(this.faults, clock.now() - t0)]);
  }

  private writePages(domid: number, pfns: readonly number[], data: Uint8Array): void {
    const { platform } = this.deps;
    const foreign = platform.foreign;
    if (foreign.copyToPfns) {
      const rc = foreign.copyToPfns(domid, pfns, data);
      if (rc !== 0) throw failed(`cannot write pages into the incoming domain (errno ${rc})`);
      this.counted(pfns.length);
      return;
    }
    const m = platform.foreign.mapForeignPfns(domid, pfns, true);
    if (!m.ok) throw failed(`cannot map the incoming domain's memory (errno ${m.errno})`);
    try {
      const map = m.value;
      for (let i = 0; i < pfns.length; i++) {
        const src = data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
        if (map.write) {
          if (map.write(i, src) !== 0) throw failed(`pfn ${pfns[i]} is not in the incoming domain`);
          continue;
        }
        const v = map.view(i);
        if (!v) throw failed(`pfn ${pfns[i]} is not in the incoming domain`);
        v.set(src);
      }
    } finally {
      platform.foreign.unmapForeign(m.value);
    }
    this.counted(pfns.length);
  }

  private counted(n: number): void {
    this.pagesIn += n;
    if ((this.pagesIn & 0x3fff) < n) this.progress('precopy');
  }

  /** The next validated record; throws on a bad stream, a lost connection or a silent sender. */
  private *next(what: string): Op<MigrationRecord> {
    for (;;) {
      const r = this.queue.shift();
      if (r) return r;
      if (this.inbox.available > 0) {
        for (const chunk of this.inbox.drain()) {
          const out = this.reader.push(chunk);
          if ('error' in out) throw failed(`bad migration stream: ${out.error}`);
          this.queue.push(...out.records);
        }
        continue;
      }
      // Every record read so far was handled and nothing of the chunks is kept (the reader copies
      // what spans chunks): the transport may reuse their memory.
      this.channel.release?.();
      const ended = this.inbox.ended;
      if (ended !== undefined) throw failed(`${what}: ${ended}`);
      const more = (yield this.inbox.more(HANDSHAKE_TIMEOUT_NS)) as boolean;
      if (!more) throw failed(`${what}: timed out`);
    }
  }

  private *sendAll(chunks: readonly Uint8Array[]): Op<void> {
    for (const c of chunks) {
      if (this.channel.closed) throw failed(`connection lost: ${this.inbox.ended ?? 'closed'}`);
      yield this.channel.send(c);
    }
  }

  private progress(phase: MigrationProgress['phase']): void {
    this.report({
      phase,
      round: 0,
      pagesSent: this.pagesIn,
      pagesTotal: this.pagesTotal,
      dirtyPages: 0,
      bytesOnWire: 0,
    });
  }
}

function parseConfig(h: StreamHeader): DomainConfig {
  let j: { xensim_config?: DomainConfig };
  try {
    j = JSON.parse(h.configJson) as { xensim_config?: DomainConfig };
  } catch {
    throw failed('the stream carries a configuration that is not JSON');
  }
  const c = j.xensim_config;
  if (!c || typeof c.cInfo?.name !== 'string' || c.cInfo.name === '')
    throw failed('the stream carries no xensim domain configuration');
  return c;
}

function failed(why: string): ToolstackError {
  return new ToolstackError('FAIL', `migration receiver: ${why}`);
}

function mib(pages: number): number {
  return Math.ceil((pages * PAGE_SIZE) / (1 << 20));
}

/** A Wait on host I/O (a guest-program module import): resumes with the value or the Error. */
function promiseWait<T>(p: Promise<T>): Wait<T | Error> {
  return (resume) => {
    let live = true;
    p.then(
      (v) => live && resume(v),
      (e: unknown) => live && resume(e instanceof Error ? e : new Error(String(e))),
    );
    return () => {
      live = false;
    };
  };
}
