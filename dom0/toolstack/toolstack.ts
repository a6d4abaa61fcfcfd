// The libxl-like toolstack library of one host (tools/libs/light/libxl.h, with xl's domain monitor
// from tools/xl/xl_vmcontrol.c): every ToolstackApi call as a coroutine on virtual time, returning a
// Promise; the scripting API adds config objects and domain-event subscriptions.

import {
  ToolstackError,
  type CommandResult,
  type ConsoleStream,
  type CreateRequest,
  type CreateResult,
  type Credit2PoolParams,
  type CreditPoolParams,
  type DeathEvent,
  type DiskInfo,
  type DomainInfo,
  type NicInfo,
  type HostInfo,
  type ProgressCallback,
  type RestoreRequest,
  type SaveRequest,
  type SchedPool,
  type ShutdownKind,
  type ToolstackApi,
  type VcpuInfo,
} from './api.js';
import type { DomainConfig } from './config/domain-config-types.js';
import { formatDiagnostic } from './config/errors.js';
import { parseDomainConfig } from './config/domain-config-file.js';
import { domainConfigToJson } from './config/libxl-json.js';
import type { XlConf } from './config/xl-conf.js';
import { buildDomain, type BuildStep, type RestoreImage } from './domain-builder.js';
import { actionFor, DomainRegistry, type DomainRecord } from './domain-registry.js';
import { loadKernel, readKernel, type LoadedKernel } from './kernel-loader.js';
import {
  DeathWaiters,
  destroyDomain,
  preserveSuffix,
  renameDomain,
  requestShutdown,
  shutdownState,
  type DomainEvent,
  type LifecycleDeps,
} from './lifecycle.js';
import type { Dom0Platform } from './platform.js';
import { memMax, memSet, schedDomainSet, vcpuPin, vcpuSet } from './resources.js';
import { runOp, type Op } from './task.js';
import { Xc } from './xc.js';
import { xcError } from './xc-errors.js';
import { XsClient } from './xs-client.js';
import { initDom0Nodes } from './xs-layout.js';
import { HostQueries } from './host-queries.js';
import { SaveRestore } from './save-restore.js';
import {
  migrateReceiveOp,
  type ReceiveOptions,
  type ReceiveResult,
} from '../migration/receiver.js';
import { migrateSendOp } from '../migration/sender.js';
import type {
  MigrateOptions,
  MigrationChannel,
  MigrationProgress,
  MigrationStats,
} from '../migration/types.js';
import { BlockDevices } from './block-devices.js';
import { NetworkDevices } from './network-devices.js';

export interface ToolstackOptions {
  readonly xlConf?: XlConf;
  /** Tests: make the domain builder fail at this step. */
  readonly faultAt?: BuildStep;
}

export interface CreateOptions {
  readonly paused?: boolean;
  /** dom0 directory relative config paths resolve against (default `/`). */
  readonly cwd?: string;
  readonly configText?: string;
}

export class Toolstack implements ToolstackApi {
  readonly platform: Dom0Platform;
  readonly xc: Xc;
  readonly xs: XsClient;
  readonly registry = new DomainRegistry();
  private readonly opts: ToolstackOptions;
  private readonly listeners = new Set<(e: DomainEvent) => void>();
  private readonly deaths = new DeathWaiters();
  private readonly queries: HostQueries;
  private readonly saves: SaveRestore;
  private readonly blocks: BlockDevices;
  private readonly nets: NetworkDevices;
  private scanQueued = false;

  constructor(platform: Dom0Platform, opts: ToolstackOptions = {}) {
    this.platform = platform;
    this.opts = opts;
    this.xc = new Xc(platform.hypercalls);
    this.xs = new XsClient(platform.xenstore);
    this.queries = new HostQueries(this.deps, platform);
    this.saves = new SaveRestore(this);
    this.blocks = new BlockDevices(this.deps);
    this.nets = new NetworkDevices(this.deps);
    initDom0Nodes(this.xs);
    // xl's per-domain monitor: every @releaseDomain re-reads the state of the domains we run.
    this.xs.watch('@releaseDomain', () => this.queueScan());
    platform.onDomainException?.(() => this.queueScan());
  }

  get deps(): LifecycleDeps {
    return { platform: this.platform, xc: this.xc, xs: this.xs, registry: this.registry };
  }

  /** Subscribes to domain events; returns the unsubscribe function. */
  onDomainEvent(listener: (e: DomainEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: DomainEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  /** Starts an op on the clock; the promise settles with it (see task.ts settle for batch mode). */
  run<T>(op: Op<T>): Promise<T> {
    return runOp(this.platform.clock, op).promise;
  }

  private record(domid: number): DomainRecord {
    const r = this.registry.get(domid);
    if (!r) {
      const msg =
        domid === 0
          ? 'operation not supported on Domain-0'
          : `Domain ${domid} does not exist (or is not managed by this toolstack)`;
      throw new ToolstackError(domid === 0 ? 'INVAL' : 'DOMAIN_NOTFOUND', msg);
    }
    return r;
  }

  /** Runs a synchronous body as an op, so errors surface as rejections. */
  private sync<T>(body: () => T): Promise<T> {
    return this.run(syncOp(body));
  }

  // ---- create ---------------------------------------------------------------------------------

  create(req: CreateRequest): Promise<CreateResult> {
    const parsed = parseDomainConfig({
      text: req.configText,
      source: req.configSource,
      overrides: req.overrides,
      random: this.platform.random,
      ...(this.opts.xlConf ? { xlConf: this.opts.xlConf } : {}),
    });
    if (!parsed.ok)
      return Promise.reject(
        new ToolstackError('INVAL', parsed.errors.map((d) => formatDiagnostic(d)).join('\n')),
      );
    const cfg = parsed.value.config;
    const configJson = domainConfigToJson(cfg);
    const warnings = parsed.warnings.map((w) => `${w.source}:${w.line}: warning: ${w.message}`);
    if (req.dryRun) return Promise.resolve({ name: cfg.cInfo.name, configJson, warnings });
    return this.startCreate(
      cfg,
      { paused: req.paused, cwd: req.cwd, configText: req.configText },
      undefined,
      (domid) => ({
        domid,
        name: cfg.cInfo.name,
        configJson,
        warnings,
      }),
    );
  }

  /** Creates a domain from a typed config (the scripting API). Resolves with its domid. */
  createFromConfig(
    cfg: DomainConfig,
    o: CreateOptions = {},
    restore?: RestoreImage,
  ): Promise<number> {
    return this.startCreate(cfg, o, restore, (domid) => domid);
  }

  /**
   * A built-in kernel starts the build op at once (so batch mode can settle it synchronously); a
   * guest-program module is imported first.
   */
  private startCreate<T>(
    cfg: DomainConfig,
    o: CreateOptions,
    restore: RestoreImage | undefined,
    done: (domid: number) => T,
  ): Promise<T> {
    const cwd = o.cwd ?? '/';
    const op = (kernel: LoadedKernel): Op<T> => mapOp(this.createOp(cfg, o, kernel, restore), done);
    const k = readKernel(this.platform.fs, this.platform.programs, cfg.bInfo.kernel, cwd);
    if (k.ok === true) return this.run(op(k.kernel));
    if (k.ok === false) return Promise.reject(new ToolstackError('FAIL', k.message));
    return loadKernel(this.platform.fs, this.platform.programs, cfg.bInfo.kernel, cwd).then((l) => {
      if (!l.ok) throw new ToolstackError('FAIL', l.message);
      return this.run(op(l.kernel));
    });
  }

  private *createOp(
    cfg: DomainConfig,
    o: CreateOptions,
    kernel: LoadedKernel,
    restore?: RestoreImage,
  ): Op<number> {
    const rec = yield* buildDomain(this.deps, {
      config: cfg,
      configText: o.configText,
      kernel,
      cwd: o.cwd ?? '/',
      paused: o.paused ?? false,
      ...(restore ? { restore } : {}),
      ...(this.opts.faultAt ? { faultAt: this.opts.faultAt } : {}),
    });
    this.emit({ type: 'created', domid: rec.domid, name: rec.name });
    return rec.domid;
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  destroy(domid: number): Promise<void> {
    return this.sync(() => {
      const rec = this.record(domid);
      destroyDomain(this.deps, rec);
      this.deaths.fire({ domid, event: 'destroyed' });
      this.emit({ type: 'destroyed', domid });
    });
  }

  shutdown(domid: number, kind: ShutdownKind, wait: boolean): Promise<DeathEvent | undefined> {
    return this.run(this.shutdownOp(domid, kind, wait));
  }

  private *shutdownOp(
    domid: number,
    kind: ShutdownKind,
    wait: boolean,
  ): Op<DeathEvent | undefined> {
    const rec = this.record(domid);
    const death = wait ? this.deaths.signal(domid).wait(this.platform.clock) : undefined;
    yield* requestShutdown(this.deps, rec, kind);
    if (!death) return undefined;
    const st = shutdownState(this.xc, domid);
    if (!st.exists) return { domid, event: 'destroyed' };
    if (st.shutdown) return { domid, event: 'shutdown', shutdownReason: st.reason };
    return (yield death) as DeathEvent;
  }

  pause(domid: number): Promise<void> {
    return this.sync(() => {
      const r = this.xc.pause(domid);
      if (!r.ok) throw xcError(`xc_domain_pause failed for domain ${domid}`, r.errno);
    });
  }

  unpause(domid: number): Promise<void> {
    return this.sync(() => {
      const r = this.xc.unpause(domid);
      if (!r.ok) throw xcError(`xc_domain_unpause failed for domain ${domid}`, r.errno);
    });
  }

  rename(domid: number, newName: string): Promise<void> {
    return this.sync(() => {
      const rec = this.record(domid);
      renameDomain(this.deps, rec, newName);
      this.emit({ type: 'renamed', domid, name: newName });
    });
  }

  private queueScan(): void {
    if (this.scanQueued) return;
    this.scanQueued = true;
    const c = this.platform.clock;
    c.at(c.now(), () => {
      this.scanQueued = false;
      this.scanDomains();
    });
  }

  /** handle_domain_death for every domain whose state changed. */
  private scanDomains(): void {
    for (const rec of [...this.registry.all()]) {
      if (rec.destroying || rec.shutdownHandled) continue;
      const st = shutdownState(this.xc, rec.domid);
      if (!st.exists) {
        rec.destroying = true;
        destroyDomain(this.deps, rec);
        this.deaths.fire({ domid: rec.domid, event: 'destroyed' });
        this.emit({ type: 'destroyed', domid: rec.domid });
        continue;
      }
      if (!st.shutdown) continue;
      const action = actionFor(rec.config, st.reason);
      if (action === undefined) continue; // suspended: the saver is in charge
      rec.shutdownHandled = true;
      this.deaths.fire({ domid: rec.domid, event: 'shutdown', shutdownReason: st.reason });
      this.emit({ type: 'shutdown', domid: rec.domid, reason: st.reason, action });
      this.run(this.actionOp(rec, action)).catch((e: unknown) =>
        this.emit({
          type: 'action-failed',
          domid: rec.domid,
          message: e instanceof Error ? e.message : String(e),
        }),
      );
    }
  }

  private *actionOp(rec: DomainRecord, action: string): Op<void> {
    const restart =
      action === 'restart' || action === 'rename-restart' || action === 'coredump-restart';
    if (action === 'coredump-destroy' || action === 'coredump-restart') this.saves.dumpCore(rec);
    if (action === 'preserve' || action === 'rename-restart') {
      const suffix = preserveSuffix(this.platform.clock.epochS + this.platform.clock.now() / 1e9);
      renameDomain(this.deps, rec, `${rec.name}${suffix}`);
    } else {
      destroyDomain(this.deps, rec);
      this.deaths.fire({ domid: rec.domid, event: 'destroyed' });
      this.emit({ type: 'destroyed', domid: rec.domid });
    }
    if (!restart) return;
    const k = readKernel(
      this.platform.fs,
      this.platform.programs,
      rec.config.bInfo.kernel,
      rec.cwd,
    );
    if (k.ok === false) throw new ToolstackError('FAIL', `restarting ${rec.name}: ${k.message}`);
    if (k.ok !== true)
      throw new ToolstackError('FAIL', `restarting ${rec.name}: kernel module not loaded`);
    const again = { cwd: rec.cwd, ...(rec.configText ? { configText: rec.configText } : {}) };
    const newDomid = yield* this.createOp(rec.config, again, k.kernel);
    this.emit({ type: 'restarted', domid: rec.domid, newDomid });
  }

  // ---- queries and resources ----------------------------------------------------------------

  listDomains(): Promise<readonly DomainInfo[]> {
    return this.sync(() => this.queries.listDomains());
  }

  domainInfo(domid: number): Promise<DomainInfo> {
    return this.sync(() => this.queries.domainInfo(domid));
  }

  domainConfig(domid: number): Promise<Record<string, unknown>> {
    return this.sync(
      () => JSON.parse(domainConfigToJson(this.record(domid).config)) as Record<string, unknown>,
    );
  }

  vcpuList(domid?: number): Promise<readonly VcpuInfo[]> {
    return this.sync(() => this.queries.vcpuList(domid));
  }

  vcpuPin(
    domid: number,
    vcpu: number | 'all',
    hard: readonly number[] | null,
    soft: readonly number[] | null,
    force: boolean,
  ): Promise<void> {
    return this.sync(() => vcpuPin(this.deps, domid, vcpu, hard, soft, force));
  }

  vcpuSet(domid: number, count: number): Promise<void> {
    return this.sync(() => vcpuSet(this.deps, domid, count));
  }

  memSet(domid: number, targetKb: number): Promise<void> {
    return this.sync(() => memSet(this.deps, domid, this.registry.get(domid), targetKb));
  }

  memMax(domid: number, maxKb: number): Promise<void> {
    return this.sync(() => memMax(this.deps, domid, this.registry.get(domid), maxKb));
  }

  schedCreditGet(pool?: string): Promise<readonly SchedPool<CreditPoolParams>[]> {
    return this.sync(() => this.queries.schedGet('credit', pool));
  }

  schedCreditDomainSet(domid: number, params: { weight?: number; cap?: number }): Promise<void> {
    return this.sync(() => schedDomainSet(this.deps, 'credit', domid, params));
  }

  schedCreditParamsSet(pool: string | undefined, params: Partial<CreditPoolParams>): Promise<void> {
    return this.sync(() => this.queries.schedParamsSet('credit', pool, params));
  }

  schedCredit2Get(pool?: string): Promise<readonly SchedPool<Credit2PoolParams>[]> {
    return this.sync(() => this.queries.schedGet('credit2', pool));
  }

  schedCredit2DomainSet(domid: number, params: { weight?: number; cap?: number }): Promise<void> {
    return this.sync(() => schedDomainSet(this.deps, 'credit2', domid, params));
  }

  schedCredit2ParamsSet(
    pool: string | undefined,
    params: Partial<Credit2PoolParams>,
  ): Promise<void> {
    return this.sync(() => this.queries.schedParamsSet('credit2', pool, params));
  }

  info(): Promise<HostInfo> {
    return this.sync(() => this.queries.info());
  }

  dmesg(clear: boolean): Promise<string> {
    return this.sync(() => {
      const r = this.xc.readConsole(clear);
      if (!r.ok) throw xcError('xc_readconsolering', r.errno);
      return new TextDecoder().decode(r.value);
    });
  }

  // ---- save / restore / devices / console ---------------------------------------------------

  save(req: SaveRequest, progress: ProgressCallback): Promise<void> {
    return this.run(this.saves.saveOp(this.record(req.domid), req, progress));
  }

  restore(req: RestoreRequest, progress: ProgressCallback): Promise<{ domid: number }> {
    return this.saves.restore(req, progress);
  }

  // ---- live migration (dom0/migration) ---------------------------------------------------------

  /** The sending half of `xl migrate`: the stream, pre-copy and the handshake over `channel`. */
  migrateSend(
    domid: number,
    channel: MigrationChannel,
    opts: MigrateOptions,
    progress: (p: MigrationProgress) => void,
  ): Promise<MigrationStats> {
    try {
      return this.run(migrateSendOp(this, this.record(domid), channel, opts, progress));
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      channel.abort(err.message);
      return Promise.reject(err);
    }
  }

  /** The receiving half (`xl migrate-receive`): builds the domain as the stream arrives. */
  migrateReceive(
    channel: MigrationChannel,
    opts: MigrateOptions,
    progress: (p: MigrationProgress) => void,
    ro: ReceiveOptions = {},
  ): Promise<ReceiveResult> {
    return this.run(migrateReceiveOp(this, channel, opts, progress, ro));
  }

  blockAttach(domid: number, spec: readonly string[]): Promise<void> {
    return this.run(this.blocks.attachOp(this.record(domid), spec));
  }

  blockDetach(domid: number, vdev: string, force: boolean): Promise<void> {
    return this.run(this.blocks.detachOp(this.record(domid), vdev, force));
  }

  blockList(domid: number): Promise<readonly DiskInfo[]> {
    return this.sync(() => this.blocks.list(this.record(domid)));
  }

  networkAttach(domid: number, spec: readonly string[]): Promise<number> {
    return this.run(this.nets.attachOp(this.record(domid), spec));
  }

  networkDetach(domid: number, device: string): Promise<void> {
    return this.run(this.nets.detachOp(this.record(domid), device));
  }

  networkList(domid: number): Promise<readonly NicInfo[]> {
    return this.sync(() => this.nets.list(this.record(domid)));
  }

  bridgeCommand(argv: readonly string[]): Promise<CommandResult> {
    return this.sync(
      () =>
        this.platform.network?.bridgeCommand(argv) ?? {
          exitCode: 1,
          stdout: '',
          stderr: 'xensim bridge: this host has no network plumbing\n',
        },
    );
  }

  consoleAttach(domid: number): Promise<ConsoleStream> {
    return this.sync(() => {
      this.record(domid);
      const c = this.platform.consoles?.attach(domid);
      if (!c)
        throw new ToolstackError(
          'NOTFOUND',
          `no console daemon serves domain ${domid} on this host`,
        );
      return c;
    });
  }

  /** Domain name -> domid (xl's name resolution); Domain-0 is 0. */
  domidOf(name: string): number | undefined {
    return name === 'Domain-0' ? 0 : this.registry.domidOf(name);
  }
}

// eslint-disable-next-line require-yield -- an op that finishes without waiting
function* syncOp<T>(body: () => T): Op<T> {
  return body();
}

function* mapOp<A, B>(op: Op<A>, f: (a: A) => B): Op<B> {
  return f(yield* op);
}
