// The PV guest kernel model (Linux arch/x86/xen/enlighten_pv.c xen_start_kernel and the xenbus,
// balloon, manage and hvc drivers it starts): boots from start_info and shared_info, registers its
// event upcall, connects xenstore and the console where start_info says, advertises and handles
// control/shutdown, follows memory/target with the balloon, probes frontends, brings up its other
// vCPUs and runs guest programs as threads.

import { builtinWorkload } from './guest-module.js';
import { GrantClient } from '../hypercalls/grant-client.js';
import type { GuestEnv, HypercallInterface } from '../hypercalls/guest-interface.js';
import { XENMEM_maximum_reservation } from '../hypercalls/memory.js';
import { SCHEDOP_shutdown, SHUTDOWN_poweroff } from '../hypercalls/sched.js';
import { XenbusState } from '../hypercalls/io/xenbus.js';
import { DOMID_SELF } from '../hypercalls/xen.js';
import { Balloon } from './balloon.js';
import type { BlockDevice } from './block-device.js';
import { ConsoleFrontend } from './console.js';
import { EventChannels } from './evtchn.js';
import type { GuestMain, Kernel } from './kernel-api.js';
import { waitUntil, type CpuRunner, type KThread, type Suspend } from './kthread.js';
import { PageAllocator } from './page-allocator.js';
import { guestPage, type KernelPlatform, type PlatformResolver } from './platform.js';
import { ShutdownWatcher } from './shutdown.js';
import { VcpuHotplug } from './vcpu-hotplug.js';
import { Vcpus } from './vcpus.js';
import { FrontendBus, type FrontendDriver } from './xenbus/frontend.js';
import type { XenNetDevice } from './net/netfront-driver.js';
import { XenbusClient, type XenbusTransport } from './xenbus/xs-client.js';

export interface GuestProgramSpec {
  readonly name: string;
  readonly main: GuestMain;
  readonly args?: readonly string[];
  readonly vcpu?: number;
}

export interface KernelConfig {
  readonly platform: PlatformResolver;
  readonly drivers?: readonly FrontendDriver[];
  /** Programs started once boot is done (the init processes). */
  readonly programs?: readonly GuestProgramSpec[];
  /** Pages at the bottom of the pseudo-physical map the kernel image holds; default 64. */
  readonly kernelPages?: number;
  /** Bring up vCPUs 1..maxVcpus-1 at boot (VCPUOP_initialise + VCPUOP_up); default true. */
  readonly smp?: boolean;
  /** SCHEDOP_shutdown(poweroff) once every program has returned; default false. */
  readonly poweroffWhenDone?: boolean;
  /** Seed of Kernel.random(); default derived from the domid. */
  readonly seed?: number;
  /** Print a boot line on the console; default true. */
  readonly banner?: boolean;
}

const SUSPEND: Suspend = { kind: 'suspend' };
/** xenbus_probe's wait_for_devices gives devices this long to connect at boot. */
const DEVICE_WAIT_TIMEOUT_NS = 300_000_000_000;
/** xenbus_dev_shutdown waits this long for a device to close. */
const FRONTEND_CLOSE_TIMEOUT_NS = 5_000_000_000;

export class PvKernel implements Kernel {
  private plat: KernelPlatform;
  readonly config: KernelConfig;
  readonly events: EventChannels;
  readonly pages: PageAllocator;
  readonly xs: XenbusClient;
  readonly console: ConsoleFrontend;
  readonly balloon: Balloon;
  readonly frontends: FrontendBus;
  readonly shutdownWatcher: ShutdownWatcher;
  readonly blockDevices: BlockDevice[] = [];
  /** Network interfaces (eth0, eth1, ...) netfront has brought up. */
  readonly netDevices: XenNetDevice[] = [];
  /** Exit code (or error text) of each program, by name. */
  readonly exits = new Map<string, number | string>();
  /** Kernel messages (also printed on the console). */
  readonly log: string[] = [];
  private readonly cpus: Vcpus;
  readonly hotplug: VcpuHotplug;
  private grantClient: GrantClient | null = null;
  private rng: number;
  /** Shutdown reason passed to SCHEDOP_shutdown, once shutting down. */
  shutdownReason = -1;

  constructor(config: KernelConfig, env: GuestEnv) {
    this.config = config;
    this.plat = config.platform(env);
    this.events = new EventChannels(env);
    const si = env.startInfo;
    const maxRes = this.h.memory_op(XENMEM_maximum_reservation, DOMID_SELF);
    this.pages = new PageAllocator(si.nr_pages, maxRes > si.nr_pages ? maxRes : si.nr_pages);
    for (let pfn = 0; pfn < Math.min(config.kernelPages ?? 64, si.nr_pages); pfn++)
      this.pages.reserve(pfn);
    this.xs = new XenbusClient(this.storeTransport());
    this.console = new ConsoleFrontend(this.consolePage(), () =>
      this.events.notify(this.env.startInfo.console_evtchn),
    );
    this.balloon = new Balloon(
      {
        hypercalls: () => this.h,
        memory: () => this.platform.memory,
        pages: this.pages,
        now: () => this.now(),
      },
      si.nr_pages,
    );
    this.frontends = new FrontendBus(this.xs, config.drivers ?? []);
    this.shutdownWatcher = new ShutdownWatcher(this.xs, {
      shutdown: (reason) => this.orderlyShutdown(reason),
      suspend: () => this.doSuspend(),
    });
    this.cpus = new Vcpus(this);
    this.hotplug = new VcpuHotplug(this);
    this.rng = (config.seed ?? 0x9e3779b9 ^ (env.domid * 0x85ebca6b)) >>> 0 || 1;
  }

  /** Between SCHEDOP_shutdown(suspend) and its return. */
  suspending = false;
  /** A restore handed this kernel a new domain since the last suspend began. */
  private adopted = false;

  get platform(): KernelPlatform {
    return this.plat;
  }

  /** The new domain's env after a restore (xen_start_info, HYPERVISOR_shared_info remapped). */
  adopt(env: GuestEnv): void {
    this.adopted = true;
    this.plat = this.config.platform(env);
    this.events.attach(env);
  }

  get env(): GuestEnv {
    return this.platform.env;
  }
  get h(): HypercallInterface {
    return this.platform.env.hypercalls;
  }
  get domid(): number {
    return this.env.domid;
  }
  get vcpus(): number {
    return this.env.maxVcpus;
  }
  get cmdline(): string {
    return this.env.startInfo.cmd_line;
  }

  runner(vcpu: number): CpuRunner {
    return this.cpus.runner(vcpu);
  }

  /** HotplugHost: vCPU `v` is about to come up. */
  prepareVcpu(v: number): void {
    this.cpus.prepare(v);
  }

  /** HotplugHost: vCPU `v` goes down. */
  offlineVcpu(v: number): void {
    this.cpus.offline(v);
  }

  /** Synchronous early boot on vCPU 0 (see boot.ts for the GuestProgram around it), then the init thread does what needs xenstore. */
  boot(): void {
    this.events.register();
    this.cpus.setupEvents(0);
    this.connectStore();
    this.connectConsole();
    const si = this.env.startInfo;
    if (this.config.banner ?? true) {
      this.printk(
        `xensim PV kernel: domid ${this.domid}, ${si.nr_pages} pages, ${this.vcpus} vCPUs, cmdline "${si.cmd_line}"`,
      );
    }
    const r0 = this.runner(0);
    r0.spawn('xenwatch', this.xs.xenwatch());
    r0.spawn('xen-balloon', this.balloon.worker());
    r0.spawn('init', this.init());
  }

  private *init(): KThread {
    // Replies or input that arrived before the handlers were there.
    this.xs.onEvent();
    this.console.onEvent();
    if (!(yield* this.shutdownWatcher.setup()))
      this.printk('xenbus: cannot watch control/shutdown');
    const w = yield* this.xs.watch('memory/target', () => this.onMemoryTarget());
    if (!w.ok) this.printk(`xen-balloon: cannot watch memory/target: ${w.error}`);
    yield* this.frontends.start();
    yield* this.waitForDevices();
    if (this.config.smp ?? true) yield* this.hotplug.setup();
    yield* this.startPrograms();
  }

  private *onMemoryTarget(): KThread {
    const kb = yield* this.xs.readInt('memory/target', -1);
    if (kb >= 0) this.balloon.setTargetKb(kb);
  }

  /**
   * xenbus_probe's wait_for_devices: before init runs, wait for every frontend found at boot to
   * connect (or give up), so init finds its disks. Linux waits up to 300 s, printing a countdown.
   */
  private *waitForDevices(): KThread {
    // The devices the toolstack gave us at boot (xenbus_probe_devices enumerates `device/<type>`).
    const expected: string[] = [];
    for (const type of this.frontends.driverTypes) {
      const r = yield* this.xs.directory(`device/${type}`);
      if (r.ok) for (const id of r.value) expected.push(`${type}/${id}`);
    }
    const settled = (): boolean =>
      expected.every((k) => {
        const d = this.frontends.devices.get(k);
        return (
          d !== undefined && (d.state === XenbusState.Connected || d.state === XenbusState.Closed)
        );
      });
    if (settled()) return;
    const deadline = this.now() + DEVICE_WAIT_TIMEOUT_NS;
    if (yield* waitUntil(settled, deadline)) return;
    for (const k of expected) {
      const d = this.frontends.devices.get(k);
      if (d?.state !== XenbusState.Connected) {
        this.printk(
          `XENBUS: Timeout connecting to device: device/${k} (local state ${d?.state ?? '?'}, remote state ${d?.backendState ?? '?'})`,
        );
      }
    }
  }

  private *startPrograms(): KThread {
    const init = initFromCmdline(this.cmdline);
    let progs = this.config.programs ?? [];
    let poweroffWhenDone = this.config.poweroffWhenDone ?? false;
    if (init) {
      const w = builtinWorkload(init.name);
      if (w.ok) {
        progs = [...progs, { name: w.name, main: w.main, args: init.args }];
        // As Linux cannot live without init, the guest powers off when its init returns.
        poweroffWhenDone = true;
      } else {
        this.printk(`Kernel command line: init=${init.name}: ${w.error}`);
      }
    }
    let left = progs.length;
    for (const p of progs) {
      const gen = p.main(this, p.args ?? []);
      this.spawn(`prog:${p.name}`, gen, p.vcpu ?? 0, (code) => {
        this.exits.set(p.name, code);
        left--;
      });
    }
    if (progs.length > 0 && poweroffWhenDone) {
      yield* waitUntil(() => left === 0);
      yield* this.orderlyShutdown(SHUTDOWN_poweroff);
    }
  }

  private storeTransport(): XenbusTransport {
    const si = this.env.startInfo;
    const pfn = this.platform.memory.mfnToPfn(si.store_mfn);
    return {
      page: guestPage(this.platform.memory, pfn),
      notify: () => {
        this.events.notify(this.env.startInfo.store_evtchn);
      },
    };
  }

  private consolePage() {
    return guestPage(
      this.platform.memory,
      this.platform.memory.mfnToPfn(this.env.startInfo.console_mfn),
    );
  }

  private connectStore(): void {
    const si = this.env.startInfo;
    this.pages.reserve(this.platform.memory.mfnToPfn(si.store_mfn));
    this.events.on(si.store_evtchn, () => this.xs.onEvent());
    this.events.unmask(si.store_evtchn);
  }

  private connectConsole(): void {
    const si = this.env.startInfo;
    this.pages.reserve(this.platform.memory.mfnToPfn(si.console_mfn));
    this.events.on(si.console_evtchn, () => this.console.onEvent());
    this.events.unmask(si.console_evtchn);
  }

  /** The grant-table client, set up on first use (gnttab_init); null if Xen refused. */
  grants(): GrantClient | null {
    if (this.grantClient) return this.grantClient;
    const g = new GrantClient({
      gnttabOp: (cmd, uops, count) => this.h.grant_table_op(cmd, uops, count),
      ownFrame: (mfn) => this.platform.memory.ownFrame(mfn),
    });
    const rc = g.init();
    if (rc !== 0) {
      this.printk(`gnttab: init failed (${rc})`);
      return null;
    }
    this.grantClient = g;
    return g;
  }

  /** manage.c's orderly_poweroff runs apart from xenwatch: the actual shutdown is its own thread. */
  private *orderlyShutdown(reason: number): KThread {
    this.spawn('poweroff', this.shutdown(reason));
    yield 0;
  }

  *shutdown(reason: number): KThread {
    this.shutdownReason = reason;
    // device_shutdown: frontends go to Closing and get 5 s each to see the backend close.
    const closing = yield* this.frontends.closeAll();
    if (closing.length > 0) {
      const deadline = this.now() + FRONTEND_CLOSE_TIMEOUT_NS;
      yield* waitUntil(
        () => closing.every((d) => d.removed || d.state === XenbusState.Closed),
        deadline,
      );
    }
    this.printk(
      `reboot: ${reason === SHUTDOWN_poweroff ? 'Power down' : `shutdown reason ${reason}`}`,
    );
    const rc = this.h.sched_op(SCHEDOP_shutdown, { reason });
    if (rc < 0) this.printk(`SCHEDOP_shutdown failed (${rc})`);
    yield 0;
    // The domain is shut down: its vCPUs never run this again (unless a toolstack resumes it).
    yield* waitUntil(() => false);
  }

  /**
   * do_suspend: quiesce xenstore, SCHEDOP_shutdown(suspend); the result is 1 when cancelled (the same
   * domain goes on) and 0 in a new domain, where every connection is made again (xen_irq_resume,
   * xen_timer_resume, gnttab_resume, xs_resume, xenbus_dev_resume).
   */
  *doSuspend(): KThread<number> {
    this.printk('Freezing user space processes');
    yield* this.xs.suspend();
    this.suspending = true;
    this.adopted = false;
    const rc: number = yield SUSPEND;
    this.suspending = false;
    // DEVIATION(xen): Xen tells the two cases apart by the return value (xc_domain_resume's fast
    // path writes 1 into rax). Here a restore always re-enters through the kernel's GuestProgram
    // (boot.ts), so a new domain is known by adopt(); a domain resumed in place is a cancelled
    // suspend even when the hypervisor sends 0.
    if (!this.adopted || rc < 0) {
      this.xs.suspendCancel();
      this.printk(rc < 0 ? `suspend failed (${rc})` : 'suspend cancelled: resuming in place');
      return 1;
    }
    yield* this.resumeNewDomain();
    return 0;
  }

  private *resumeNewDomain(): KThread {
    this.events.reset();
    this.events.register();
    this.cpus.resume();
    this.grantClient = null;
    this.connectStore();
    this.connectConsole();
    this.console.reconnect(this.consolePage(), () =>
      this.events.notify(this.env.startInfo.console_evtchn),
    );
    yield* this.xs.resume(this.storeTransport());
    this.xs.onEvent();
    yield* this.frontends.resume();
    yield* this.shutdownWatcher.advertise();
    this.printk('resumed in a new domain');
  }

  now(): number {
    return this.env.now();
  }

  *sleep(ns: number): KThread {
    const until = this.now() + Math.max(0, ns);
    yield* waitUntil(() => this.now() >= until, until);
  }

  *burn(ns: number): KThread {
    if (ns > 0) yield ns;
  }

  spawn(
    name: string,
    thread: KThread<unknown>,
    vcpu = 0,
    onExit?: (code: number | string) => void,
  ): void {
    this.runner(vcpu).spawn(name, thread, (r) => {
      if (!r.ok) this.printk(`${name}: ${r.error}`);
      onExit?.(r.ok ? (typeof r.value === 'number' ? r.value : 0) : r.error);
    });
  }

  print(text: string): void {
    this.console.write(text);
  }

  /** printk: the kernel log, echoed on the console. */
  printk(line: string): void {
    this.log.push(line);
    this.console.write(line + '\n');
  }

  writePage(pfn: number, offset: number, src: Uint8Array): number {
    return this.platform.memory.write(pfn, offset, src);
  }

  readPage(pfn: number, offset: number, dst: Uint8Array): number {
    return this.platform.memory.read(pfn, offset, dst);
  }

  random(): number {
    let x = this.rng;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng;
  }
}

/**
 * `init=<workload> [-- args]` on the kernel command line (xl.cfg `extra=`/`cmdline=`) starts one of
 * the built-in workloads as the guest's init, as Linux's `init=` names its first program.
 */
export function initFromCmdline(cmdline: string): { name: string; args: string[] } | undefined {
  const words = cmdline.split(/\s+/).filter((w) => w !== '');
  const i = words.findIndex((w) => w.startsWith('init='));
  if (i < 0) return undefined;
  const name = (words[i] as string).slice('init='.length);
  const dash = words.indexOf('--');
  return { name, args: dash >= 0 ? words.slice(dash + 1) : [] };
}
