// The composition root (architecture section 2): the one place that wires layers together. It builds
// a host — engine, machine memory, grant tables, the hypervisor with dom0 — and hands dom0 its
// interfaces: its hypercall page, privcmd, xenstored (socket and guest rings), the toolstack. The
// CLI, the host daemon and the scripting API reach the layers below dom0 only through here.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../hypervisor/engine/engine.js';
import { PacedRunner } from '../../hypervisor/engine/paced.js';
import { MachineMemory } from '../../hypervisor/memory/machine-memory.js';
import { GrantTables } from '../../grant-tables/grant-tables.js';
import {
  Hypervisor,
  runSchedulingDemo,
  type Domain,
  type SchedulingDemoOptions,
  type SchedulingDemoRow,
} from '../../hypervisor/index.js';
import { pvKernelProgram } from '../../domU/boot.js';
import { loadGuestModule } from '../../domU/guest-module.js';
import type { GuestEnv, GuestProgram } from '../../hypercalls/guest-interface.js';
import { XENMEM_populate_physmap } from '../../hypercalls/memory.js';
import { asDomId, PAGE_SIZE } from '../../hypercalls/types.js';
import { VIRQ_DOM_EXC } from '../../hypercalls/virq.js';
import { createDom0Kernel, type Dom0Kernel } from '../kernel/dom0-kernel.js';
import { xenstoredDomainCleanup } from '../kernel/dom-exc.js';
import { serveXenstoreRings, type XenstoreRings } from '../kernel/xenstore-rings.js';
import { Xenstored } from '../xenstored/xenstored.js';
import { Toolstack, type ToolstackOptions } from '../toolstack/toolstack.js';
import { settle } from '../toolstack/task.js';
import { Xc } from '../toolstack/xc.js';
import { LocalXenstoreConnection } from '../toolstack/xs-local.js';
import { HostDirFilesystem, seedDom0Filesystem } from '../toolstack/dom0-fs.js';
import type { Dom0Platform, GuestProgramRegistry } from '../toolstack/platform.js';
import type { DomainInfo } from '../toolstack/api.js';
import type { DomainEvent } from '../toolstack/lifecycle.js';
import { BUILTIN_PV_KERNEL, builtinRef } from '../toolstack/kernel-image.js';
import { loadKernel } from '../toolstack/kernel-loader.js';
import { parseDomainConfig } from '../toolstack/config/index.js';
import type { HostOptions, HostedToolstack } from './daemon.js';
import {
  hypercallBackendPlatform,
  type BackendClock,
  type BackendXenstore,
} from '../backends/platform.js';
import { Blkback } from '../backends/blkback/blkback.js';
import { Xenconsoled } from '../backends/console/xenconsoled.js';
import { XsClient } from '../toolstack/xs-client.js';
import { blkfrontDriver } from '../../domU/blkfront/blkfront-driver.js';
import { netfrontDriver } from '../../domU/net/netfront-driver.js';
import { BridgeRegistry, bridgeCommand, type CommandOutput } from '../net/bridge-registry.js';
import { Netback } from '../backends/netback/netback.js';
import { vifBridgeOffline, vifBridgeOnline } from '../backends/netback/vif-hotplug.js';
import type { PvKernelProgram } from '../../domU/boot.js';
import type { GuestProgramSpec } from '../../domU/kernel.js';
import { HANDOFF_PREFIX, HandoffTable } from './handoff.js';

export type { Engine };

export type { SchedulingDemoOptions, SchedulingDemoRow };

const MiB = 1 << 20;
const NS_PER_SEC = 1_000_000_000;

/** An xl.cfg as an object: strings, numbers, booleans and (nested) lists of them. */
export type XlConfigValue = string | number | boolean | readonly XlConfigValue[];
export type XlConfigObject = Readonly<Record<string, XlConfigValue>>;

/** Writes a config object out in xl.cfg syntax (xl.cfg(5)), so it is parsed exactly as a file is. */
export function xlConfigText(config: XlConfigObject): string {
  const value = (v: XlConfigValue): string => {
    if (typeof v === 'number') return String(v);
    if (typeof v === 'boolean') return v ? '1' : '0';
    if (typeof v === 'string') return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    return `[ ${v.map(value).join(', ')} ]`;
  };
  return Object.entries(config)
    .map(([k, v]) => `${k} = ${value(v)}\n`)
    .join('');
}
/** dom0 pages kept for backend bounce buffers (11 per ring slot in flight for blkback). */
const BACKEND_BOUNCE_PAGES = 4096;

/**
 * A backend's xenstore access over its own privileged connection. Watch callbacks run as their own
 * engine event, as Linux's xenwatch thread runs them after the write that fired them has finished.
 */
function backendXenstore(client: XsClient, clock: BackendClock, _name: string): BackendXenstore {
  const watches = new Map<number, { path: string; token: string }>();
  let next = 1;
  return {
    read: (p) => client.read(p),
    write: (p, v) => client.write(p, v).ok,
    rm: (p) => client.rm(p).ok,
    directory: (p) => client.directory(p),
    watch(path, cb) {
      const r = client.watch(path, (ev) => void clock.at(clock.now(), () => cb(ev)));
      if (!r.ok) return undefined;
      const id = next++;
      watches.set(id, { path, token: r.value });
      return id;
    },
    unwatch(id) {
      const w = watches.get(id);
      if (!w) return;
      watches.delete(id);
      client.unwatch(w.path, w.token);
    },
  };
}

export interface SimHostOptions {
  /** Host name (`xl info` host). */
  name?: string;
  nrPcpus?: number;
  /** Host RAM in bytes (default 8 GiB). */
  memoryBytes?: number;
  /** dom0_mem: memory given to dom0 at boot (default 1 GiB). */
  dom0MemBytes?: number;
  dom0Vcpus?: number;
  scheduler?: 'credit' | 'credit2';
  /** Seed of the host's own engine (ignored with `engine`). */
  seed?: number;
  /**
   * An engine to join (a pool: several hosts in one virtual time). The host's PRNG sub-streams are
   * then named after the host, so hosts sharing the engine never share a stream; `seed` and `trace`
   * are the engine's. Without it the host makes its own engine.
   */
  engine?: Engine;
  /** The table migration handoffs go through: shared by a pool's hosts (default: the host's own). */
  handoffs?: HandoffTable;
  /** Directory standing for dom0's filesystem (seeded with kernels and images); default a fresh temp dir. */
  rootDir?: string;
  /** Keep a trace (default false: hosts are long-running); ignored with `engine`. */
  trace?: boolean;
  toolstack?: ToolstackOptions;
}

/**
 * Resolves kernel references for XEN_DOMCTL_setvcpucontext. Every lookup of the built-in PV kernel
 * gives a fresh kernel instance, one per domain; a guest-program module runs as the init program of
 * a fresh PV kernel.
 */
class KernelRegistry implements GuestProgramRegistry {
  private readonly modules = new Map<string, unknown>();
  private readonly resolveMemory: (env: GuestEnv) => ReturnType<MachineMemory['guest']>;
  private readonly handoffs: HandoffTable;
  /** The program running domain `domid` (the hypervisor's Domain.program), if any. */
  private readonly running: (domid: number) => GuestProgram | undefined;

  constructor(
    resolveMemory: (env: GuestEnv) => ReturnType<MachineMemory['guest']>,
    handoffs: HandoffTable,
    running: (domid: number) => GuestProgram | undefined,
  ) {
    this.resolveMemory = resolveMemory;
    this.handoffs = handoffs;
    this.running = running;
  }

  get(ref: string): GuestProgram | undefined {
    if (ref === builtinRef(BUILTIN_PV_KERNEL)) return this.kernel([]);
    if (ref.startsWith(HANDOFF_PREFIX)) return this.handoffs.take(ref);
    const exported = this.modules.get(ref);
    if (exported === undefined) return undefined;
    const loaded = loadGuestModule({ default: exported }, ref.replace(/^.*[/#]/, ''));
    if (!loaded.ok) return undefined;
    return this.kernel([{ name: loaded.name, main: loaded.main, args: [] }], true);
  }

  register(ref: string, program: GuestProgram): void {
    this.modules.set(ref, program);
  }

  handOff(domid: number): string | undefined {
    // dom0's kernel never migrates.
    const program = domid === 0 ? undefined : this.running(domid);
    return program === undefined ? undefined : this.handoffs.put(program);
  }

  revokeHandoff(ref: string): boolean {
    return this.handoffs.revoke(ref);
  }

  private kernel(programs: GuestProgramSpec[], poweroffWhenDone = false): GuestProgram {
    const prog: PvKernelProgram = pvKernelProgram({
      drivers: [blkfrontDriver(() => prog.kernel()), netfrontDriver(() => prog.kernel())],
      platform: (env: GuestEnv) => {
        const m = this.resolveMemory(env);
        if (!m.ok) throw new Error(`domain ${env.domid} has no memory to boot from`);
        return { env, memory: m.value };
      },
      programs,
      poweroffWhenDone,
    });
    return prog;
  }
}

/** One simulated Xen host in one engine. */
export class SimHost {
  readonly name: string;
  readonly engine: Engine;
  readonly memory: MachineMemory;
  readonly grants: GrantTables;
  readonly hypervisor: Hypervisor;
  readonly dom0: Domain;
  readonly dom0Kernel: Dom0Kernel;
  readonly xenstored: Xenstored;
  readonly xenstoreRings: XenstoreRings;
  readonly toolstack: Toolstack;
  readonly platform: Dom0Platform;
  readonly blkback: Blkback;
  readonly xenconsoled: Xenconsoled;
  /** dom0's bridges (xenbr0 at boot): vifs are ports on them; capture with `bridges.capture`. */
  readonly bridges: BridgeRegistry;
  readonly netback: Netback;
  readonly rootDir: string;
  /** Where this host parks guest programs for migration (a pool's hosts share one). */
  readonly handoffs: HandoffTable;
  private readonly ownsRoot: boolean;
  /** Prefix of this host's PRNG sub-stream names: empty with an engine of its own. */
  private readonly streamPrefix: string;

  constructor(o: SimHostOptions = {}) {
    this.name = o.name ?? 'xensim';
    this.engine = o.engine ?? new Engine({ seed: o.seed ?? 1, trace: o.trace ?? false });
    // A host alone keeps the stream names it always had, so its runs (and digests) do not change.
    this.streamPrefix = o.engine === undefined ? '' : `host:${this.name}/`;
    this.handoffs = o.handoffs ?? new HandoffTable();
    this.memory = new MachineMemory({ memoryBytes: o.memoryBytes ?? 8192 * MiB });
    this.grants = new GrantTables(this.memory);
    // A guest's memory is found through its env on whichever host of the pool runs it now: a
    // migrated kernel adopts an env of another host (and domids repeat across hosts).
    this.handoffs.addMemoryResolver((env) =>
      this.hypervisor.domain(env.domid)?.env === env
        ? this.memory.guest(asDomId(env.domid))
        : undefined,
    );
    const registry = new KernelRegistry(
      (env) => this.handoffs.memoryOf(env) ?? this.memory.guest(asDomId(env.domid)),
      this.handoffs,
      (domid) => this.hypervisor.domain(domid)?.program ?? undefined,
    );
    this.hypervisor = new Hypervisor({
      engine: this.engine,
      nrPcpus: o.nrPcpus ?? 4,
      scheduler: o.scheduler ?? 'credit2',
      memory: this.memory,
      // physinfo's total_pages is the machine's memory (xl info total_memory / free_memory).
      totalPages: this.memory.nrFrames,
      grants: this.grants,
      kernels: (ref) => registry.get(ref),
    });
    // A vCPU that touched a page still on a post-copy migration's source waits for it.
    this.memory.onPagingStall = (ns) => {
      const v = this.hypervisor.current;
      if (v) v.chargeNs += ns;
    };
    this.dom0Kernel = createDom0Kernel();
    this.dom0 = this.hypervisor.createDom0({
      maxVcpus: o.dom0Vcpus ?? 1,
      program: this.dom0Kernel.program,
    });
    const env = this.dom0.env as GuestEnv;
    this.dom0Kernel.attach(env);
    this.populateDom0(o.dom0MemBytes ?? 1024 * MiB);

    this.ownsRoot = o.rootDir === undefined;
    this.rootDir = o.rootDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'xensim-root-'));
    const dom0fs = new HostDirFilesystem(this.rootDir);
    seedDom0Filesystem(dom0fs);

    this.xenstored = new Xenstored();
    const foreign = this.memory.foreign({ domid: asDomId(0), privileged: true });
    this.xenstoreRings = serveXenstoreRings(this.xenstored, this.dom0Kernel, foreign);
    const cleanup = xenstoredDomainCleanup(this.xenstored, new Xc(env.hypercalls));
    this.dom0Kernel.onVirq(VIRQ_DOM_EXC, () => {
      cleanup();
      this.xenstoreRings.reap();
    });

    const engine = this.engine;
    const clock: BackendClock = {
      now: () => engine.now,
      at: (t, fn) => engine.at(Math.max(t, engine.now), fn),
      cancel: (id) => void engine.cancel(id),
    };
    // Backends (dom0's blkback and xenconsoled) run over dom0's hypercall page, with bounce pages
    // taken from the top of dom0's memory and their own xenstore connection.
    const backendPool = this.dom0BouncePool(BACKEND_BOUNCE_PAGES);
    const dom0Mem = this.memory.guest(asDomId(0));
    if (!dom0Mem.ok) throw new Error('dom0 has no memory');
    const backendDeps = (name: string, mapBase: number) => ({
      mapBase,
      domid: 0,
      hypercalls: env.hypercalls,
      memory: dom0Mem.value,
      allocPfn: () => backendPool.pop() ?? -1,
      freePfn: (pfn: number) => void backendPool.push(pfn),
      listen: (port: number, handler: (() => void) | null) => this.dom0Kernel.listen(port, handler),
      xs: backendXenstore(new XsClient(new LocalXenstoreConnection(this.xenstored)), clock, name),
      clock,
    });
    this.blkback = new Blkback(hypercallBackendPlatform(backendDeps('blkback', 0x7000_0000_0000)));
    this.xenconsoled = new Xenconsoled(
      hypercallBackendPlatform(backendDeps('xenconsoled', 0x6000_0000_0000)),
    );
    // Networking: the host's bridges and netback; the toolstack runs vif-bridge through `network`.
    const bridges = new BridgeRegistry({ now: () => engine.now });
    this.bridges = bridges;
    const netbackPlatform = hypercallBackendPlatform(backendDeps('netback', 0x5000_0000_0000));
    const netback = new Netback(netbackPlatform);
    this.netback = netback;
    netback.onRemove = (dev) => void vifBridgeOffline(bridges, dev);
    if (!this.blkback.start() || !this.xenconsoled.start() || !netback.start())
      throw new Error('dom0: backends failed to start');
    const consoled = this.xenconsoled;

    this.platform = {
      hypercalls: env.hypercalls,
      foreign,
      xenstore: new LocalXenstoreConnection(this.xenstored),
      clock: {
        now: () => engine.now,
        at: (t, fn) => engine.at(Math.max(t, engine.now), fn),
        cancel: (id) => void engine.cancel(id),
        epochS: Math.floor(Date.now() / 1000),
      },
      fs: dom0fs,
      programs: registry,
      random: this.prngStream('toolstack'),
      onDomainException: (l) => this.dom0Kernel.onVirq(VIRQ_DOM_EXC, l),
      consoles: { attach: (domid) => consoled.attach(domid) },
      network: {
        vifOnline: (domid, devid) => {
          const dev = netback.device(domid, devid);
          if (!dev) return `no vif backend for domain ${domid} device ${devid}`;
          const r = vifBridgeOnline(netbackPlatform.xs, bridges, dev);
          return r.ok ? null : r.error;
        },
        vifOffline: (domid, devid) => {
          const dev = netback.device(domid, devid);
          if (dev) vifBridgeOffline(bridges, dev);
        },
        bridgeCommand: (argv) => bridgeCommand(bridges, argv),
      },
      hostname: this.name,
    };
    this.toolstack = new Toolstack(this.platform, o.toolstack ?? {});
  }

  // ---- scripting conveniences (the public API of `import { SimHost } from 'xensim'`) -------------

  /**
   * Creates a domain from xl.cfg text or from a config object (`{ name: 'g', memory: 128, disk: [...] }`,
   * written out as xl.cfg), running the simulation until it is built. Resolves to the new domid.
   */
  async create(
    config: string | XlConfigObject,
    opts: { paused?: boolean; overrides?: string[] } = {},
  ): Promise<number> {
    const configText = typeof config === 'string' ? config : xlConfigText(config);
    // Import a guest-program module named by the kernel image before the build starts, so the build
    // itself runs entirely in virtual time (host I/O never decides how much simulated time passes).
    const parsed = parseDomainConfig({
      text: configText,
      source: 'config',
      overrides: opts.overrides ?? [],
      random: this.prngStream('kernel-preload'),
    });
    if (parsed.ok && parsed.value.config.bInfo.kernel !== undefined) {
      await loadKernel(
        this.platform.fs,
        this.platform.programs,
        parsed.value.config.bInfo.kernel,
        '/',
      );
    }
    const r = await this.run(
      this.toolstack.create({
        configText,
        configSource: typeof config === 'string' ? 'config' : 'config object',
        overrides: opts.overrides ?? [],
        paused: opts.paused ?? false,
        dryRun: false,
        cwd: '/',
      }),
    );
    if (r.domid === undefined) throw new Error(`domain ${r.name} was not created`);
    return r.domid;
  }

  /** The domains, as `xl list` sees them. */
  domains(): Promise<readonly DomainInfo[]> {
    return this.run(this.toolstack.listDomains());
  }

  /** Runs the simulation until `cond()` holds or `limitNs` of virtual time passes; true if it holds. */
  runUntil(cond: () => boolean, limitNs = 600 * NS_PER_SEC): boolean {
    return this.engine.runUntilCondition(cond, this.engine.now + limitNs);
  }

  /** Subscribes to domain events (created, shutdown, destroyed, ...); returns an unsubscribe function. */
  onDomainEvent(listener: (e: DomainEvent) => void): () => void {
    return this.toolstack.onDomainEvent(listener);
  }

  /** The guest's console output so far (xenconsoled's log of it). */
  consoleOutput(domid: number): string {
    const a = this.xenconsoled.attach(domid, true);
    if (!a) return '';
    let out = '';
    a.onData((b) => (out += new TextDecoder().decode(b)))();
    a.close();
    return out;
  }

  /** `xensim bridge add|del [-f]|list [--json]|macs <br>|ports <br>` on this host's bridges. */
  bridgeCommand(argv: readonly string[]): CommandOutput {
    return bridgeCommand(this.bridges, argv);
  }

  /** Batch mode: runs the simulation until `p` (a toolstack operation) settles. */
  run<T>(p: Promise<T>, limitNs?: number): Promise<T> {
    return settle(this.engine, p, limitNs);
  }

  /** Runs the simulation for `ns` of virtual time. */
  runFor(ns: number): void {
    this.engine.runFor(ns);
  }

  /** Removes the temporary dom0 root this host created (a given rootDir is left alone). */
  dispose(): void {
    if (this.ownsRoot) fs.rmSync(this.rootDir, { recursive: true, force: true });
  }

  /** This host's PRNG sub-stream `name` (named after the host when the engine is shared). */
  private prngStream(name: string): ReturnType<Engine['prng']['stream']> {
    return this.engine.prng.stream(`${this.streamPrefix}${name}`);
  }

  /** pfns at the top of dom0's memory set aside for backend bounce pages. */
  private dom0BouncePool(count: number): number[] {
    const pages = this.memory.totPages(asDomId(0));
    const n = Math.min(count, Math.floor(pages / 4));
    return Array.from({ length: n }, (_, i) => pages - 1 - i);
  }

  /** dom0_mem: populate dom0's pseudo-physical memory as Xen's dom0 builder does. */
  private populateDom0(bytes: number): void {
    const pages = Math.max(1, Math.floor(bytes / PAGE_SIZE));
    this.memory.setMaxPages(asDomId(0), pages);
    const r = this.memory.memoryOp(
      { domid: asDomId(0), privileged: true },
      XENMEM_populate_physmap,
      {
        extent_start: Array.from({ length: pages }, (_, i) => i),
        nr_extents: pages,
        extent_order: 0,
        mem_flags: 0,
        domid: 0,
      },
    );
    if (!r.ok || r.value !== pages) throw new Error(`dom0_mem: could not give dom0 ${bytes} bytes`);
  }
}

/** A fresh engine for several hosts (SimPool): dom0/ reaches the engine only through this root. */
export function createEngine(o: { seed?: number; trace?: boolean } = {}): Engine {
  return new Engine({ seed: o.seed ?? 1, trace: o.trace ?? false });
}

/** The host daemon's toolstack (paced mode): virtual time follows the wall clock times `speed`. */
export function createToolstack(opts: HostOptions): HostedToolstack {
  const root = opts.root === '/' ? defaultRoot(opts.name) : opts.root;
  const host = new SimHost({
    name: opts.name,
    nrPcpus: opts.pcpus,
    memoryBytes: opts.memoryMiB * MiB,
    dom0MemBytes: Math.min(1024, Math.floor(opts.memoryMiB / 4)) * MiB,
    scheduler: opts.sched,
    rootDir: root,
  });
  const runner = new PacedRunner(host.engine, () => performance.now(), opts.speed);
  const loop = pacedLoop(runner);
  return Object.assign(host.toolstack, {
    close: (): Promise<void> => {
      loop.stop();
      return Promise.resolve();
    },
    // Migration sockets (dom0/host/migration-*.ts) enter the engine through these.
    engineClock: host.platform.clock,
    kick: loop.kick,
    runNow: loop.runNow,
  });
}

/**
 * The daemon's paced loop: advance the engine to wall time, sleep until the next event (at most
 * 50 ms), repeat. `kick` advances on the next host turn instead: host I/O that queued engine events
 * (a migration socket's data or drain) then runs them at once, not at the next tick. `runNow`
 * runs them inside the host callback itself, and moves the timer only if an event is due sooner.
 */
function pacedLoop(runner: PacedRunner): {
  readonly kick: () => void;
  readonly runNow: () => void;
  readonly stop: () => void;
} {
  let timer: NodeJS.Timeout | null = null;
  /** When `timer` fires (performance.now() ms). */
  let timerDueMs = Infinity;
  let kicked = false;
  let closed = false;
  let advancing = false;
  const advance = (): void => {
    advancing = true;
    try {
      runner.advance();
    } finally {
      advancing = false;
    }
  };
  /** Sleeps until the next event is due (at most 50 ms), unless the timer wakes the loop sooner. */
  const arm = (): void => {
    if (closed) return;
    const wait = Math.min(50, Math.max(1, runner.msUntilNextEvent()));
    const due = performance.now() + wait;
    if (timer !== null && timerDueMs <= due) return;
    if (timer !== null) clearTimeout(timer);
    timerDueMs = due;
    timer = setTimeout(tick, wait);
  };
  const tick = (): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = null;
    advance();
    arm();
  };
  tick();
  const kick = (): void => {
    if (kicked || closed) return;
    kicked = true;
    setImmediate(() => {
      kicked = false;
      tick();
    });
  };
  return {
    kick,
    runNow: () => {
      if (closed) return;
      // From inside an event (an engine callback that reached a socket) the engine is running.
      if (advancing) return kick();
      advance();
      arm();
    },
    stop: () => {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/** dom0's filesystem of a daemon host: kept across restarts under the user's data directory. */
function defaultRoot(name: string): string {
  const base = process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'xensim', 'hosts', name, 'root');
}

/** The scheduling demo of `xensim demo`: CPU-bound domains with different weights sharing pCPUs. */
export function schedulingDemo(opts: SchedulingDemoOptions): SchedulingDemoRow[] {
  return runSchedulingDemo(opts);
}
