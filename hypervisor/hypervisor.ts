// The hypervisor of one simulated host: domains, vCPUs on pCPUs under a scheduler, event channels,
// timers, the Xen console and hypercall dispatch (xen/common/domain.c, domctl.c, sched/core.c).

import {
  XEN_EEXIST,
  XEN_EINVAL,
  XEN_ENOMEM,
  err,
  ok,
  type XenResult,
} from '../hypercalls/errno.js';
import { DEFAULT_MAX_EVTCHN_PORT, EVTCHN_2L_NR_CHANNELS } from '../hypercalls/event-channel.js';
import type { GuestProgram } from '../hypercalls/guest-interface.js';
import { SHUTDOWN_MAX, SHUTDOWN_suspend } from '../hypercalls/sched.js';
import {
  PV_DEFAULT_PERIODIC_TIMER_NS,
  RUNSTATE_blocked,
  RUNSTATE_offline,
  RUNSTATE_runnable,
} from '../hypercalls/vcpu.js';
import {
  VCPU_INFO_evtchn_upcall_mask,
  VCPU_INFO_evtchn_upcall_pending,
  vcpuInfoOffset,
} from '../hypercalls/shared-info.js';
import { VIRQ_CON_RING, VIRQ_DOM_EXC, NR_VIRQS } from '../hypercalls/virq.js';
import { DOMID_FIRST_RESERVED } from '../hypercalls/xen.js';
import { asDomId } from '../hypercalls/types.js';
import type { Engine } from './engine/engine.js';
import { ConsoleRing } from './console-ring.js';
import { CoreEvtchnHost, CoreSchedHost } from './core-hosts.js';
import { DEFAULT_COSTS, type CostModel } from './costs.js';
import { DOMDYING, Domain, Vcpu } from './domain.js';
import {
  closeAll,
  isPending,
  sendDomainVirq,
  setPending,
  type EvtchnHost,
} from './evtchn/event-channel.js';
import { EvtchnTable } from './evtchn/evtchn-table.js';
import { Executor } from './executor.js';
import { makeGuestEnv } from './guest-env.js';
import { CreditScheduler } from './sched/credit.js';
import { Credit2Scheduler, type Credit2Runqueue } from './sched/credit2.js';
import type { Scheduler } from './sched/scheduler.js';
import type { KernelResolver } from './vcpu-context.js';
import type { GrantTableSubsystem, MemorySubsystem } from './subsystems.js';
import { Timers } from './timers.js';
import { idleProgram } from './workloads/idle.js';

export interface XenVersionInfo {
  major: number;
  minor: number;
  extra: string;
}

export interface HypervisorOptions {
  engine: Engine;
  nrPcpus: number;
  /** sched= (default credit2, as Xen since 4.12). */
  scheduler?: 'credit' | 'credit2';
  /** credit2_runqueue= (default one runqueue per socket; the simulated host has one socket). */
  credit2Runqueue?: Credit2Runqueue;
  costs?: Partial<CostModel>;
  version?: XenVersionInfo;
  /** pCPU frequency reported by physinfo. */
  cpuKhz?: number;
  /** Host memory when no memory subsystem is wired (physinfo). */
  totalPages?: number;
  memory?: MemorySubsystem;
  grants?: GrantTableSubsystem;
  kernels?: KernelResolver;
}

export interface CreateDomainOptions {
  /** Requested domid; 0 or >= DOMID_FIRST_RESERVED lets Xen choose (the rover). */
  domid?: number;
  maxVcpus: number;
  maxEvtchnPort?: number;
  maxGrantFrames?: number;
  privileged?: boolean;
  handle?: Uint8Array;
}

export const MAX_VIRT_CPUS = 128;

export class Hypervisor {
  readonly engine: Engine;
  readonly nrPcpus: number;
  readonly sched: Scheduler;
  readonly costs: CostModel;
  readonly version: XenVersionInfo;
  readonly cpuKhz: number;
  readonly totalPages: number;
  readonly console = new ConsoleRing();
  readonly executor: Executor;
  readonly timers: Timers;
  memory: MemorySubsystem | undefined;
  grants: GrantTableSubsystem | undefined;
  /** Resolves the kernel a domain builder names in XEN_DOMCTL_setvcpucontext (the composition root's registry). */
  kernels: KernelResolver | undefined;
  /** The vCPU whose guest code is executing (Xen's `current`), or null. */
  current: Vcpu | null = null;
  /** Set when dom0 shut down (the host halts or reboots): the SHUTDOWN_* reason. */
  hostShutdownReason = -1;

  private readonly domainMap = new Map<number, Domain>();
  private sortedDomains: Domain[] = [];
  private domidRover = 0;
  /** Handler domain per global VIRQ (set_virq_handler), default the hardware domain 0. */
  readonly globalVirqHandlerDom = new Int32Array(NR_VIRQS);
  readonly evtchnHost: EvtchnHost;

  constructor(opts: HypervisorOptions) {
    if (!Number.isInteger(opts.nrPcpus) || opts.nrPcpus < 1 || opts.nrPcpus > 4096)
      throw new RangeError(`nrPcpus must be 1..4096, got ${opts.nrPcpus}`);
    this.engine = opts.engine;
    this.nrPcpus = opts.nrPcpus;
    this.costs = { ...DEFAULT_COSTS, ...(opts.costs ?? {}) };
    this.version = opts.version ?? { major: 4, minor: 17, extra: '.7' };
    this.cpuKhz = opts.cpuKhz ?? 2_400_000;
    this.totalPages = opts.totalPages ?? 4 * 262_144; // 4 GiB
    this.memory = opts.memory;
    this.grants = opts.grants;
    this.kernels = opts.kernels;
    this.executor = new Executor(this, this.nrPcpus);
    this.timers = new Timers(this);
    const schedHost = new CoreSchedHost(this, this.executor);
    this.sched =
      (opts.scheduler ?? 'credit2') === 'credit'
        ? new CreditScheduler(schedHost)
        : new Credit2Scheduler(schedHost, opts.credit2Runqueue ?? 'socket');
    this.evtchnHost = new CoreEvtchnHost(this);
    const v = this.version;
    this.console.writeString(
      `(XEN) Xen version ${v.major}.${v.minor}${v.extra} (xensim)\n(XEN) Using scheduler: ${this.sched.name}\n(XEN) ${this.nrPcpus} CPUs online\n`,
    );
  }

  // ---- domains ------------------------------------------------------------------------------

  /** Live domains and zombies in domid order. */
  domains(): readonly Domain[] {
    return this.sortedDomains;
  }

  /** A domain by id (zombies included), or undefined. */
  domain(domid: number): Domain | undefined {
    return this.domainMap.get(domid);
  }

  /** A domain that is not dying. */
  liveDomain(domid: number): Domain | undefined {
    const d = this.domainMap.get(domid);
    return d !== undefined && d.dying === DOMDYING.alive ? d : undefined;
  }

  /** domain_create(): paused (controller pause count 1), vCPUs allocated offline. */
  createDomain(o: CreateDomainOptions): XenResult<Domain> {
    const maxVcpus = o.maxVcpus;
    if (!Number.isInteger(maxVcpus) || maxVcpus < 1 || maxVcpus > MAX_VIRT_CPUS)
      return err(XEN_EINVAL);
    let domid = o.domid ?? 0;
    if (!Number.isInteger(domid)) return err(XEN_EINVAL);
    if (domid > 0 && domid < DOMID_FIRST_RESERVED) {
      if (this.domainMap.has(domid)) return err(XEN_EEXIST);
    } else {
      const found = this.allocDomid();
      if (found < 0) return err(XEN_ENOMEM);
      domid = found;
    }
    const maxPort =
      o.maxEvtchnPort ?? (o.privileged ? EVTCHN_2L_NR_CHANNELS - 1 : DEFAULT_MAX_EVTCHN_PORT);
    if (!Number.isInteger(maxPort) || maxPort < 0) return err(XEN_EINVAL);
    return ok(this.instantiate(domid, maxVcpus, maxPort, o));
  }

  /** Xen's rover: the next free id after the last one allocated, wrapping to 1, never 0. */
  private allocDomid(): number {
    let id = this.domidRover;
    for (let i = 0; i < DOMID_FIRST_RESERVED; i++) {
      id++;
      if (id >= DOMID_FIRST_RESERVED) id = 1;
      if (!this.domainMap.has(id)) {
        this.domidRover = id;
        return id;
      }
    }
    return -1;
  }

  private instantiate(
    domid: number,
    maxVcpus: number,
    maxPort: number,
    o: CreateDomainOptions,
  ): Domain {
    const d = new Domain(domid, o.privileged ?? false);
    d.evtchn = new EvtchnTable(maxPort);
    d.createdAtNs = this.engine.now;
    if (o.handle && o.handle.length === 16) d.handle.set(o.handle);
    d.controllerPauseCount = 1;
    d.pauseCount = 1;
    this.domainMap.set(domid, d);
    this.sortedDomains = [...this.domainMap.values()].sort((a, b) => a.domid - b.domid);
    this.growVcpus(d, maxVcpus);
    this.memory?.createDomain(asDomId(domid), 0);
    this.grants?.createDomain(asDomId(domid), o.maxGrantFrames ?? 64);
    d.env = makeGuestEnv(this, d);
    this.engine.emit('domain.create', domid, -1);
    return d;
  }

  /** Allocates vCPUs up to `n` (XEN_DOMCTL_max_vcpus); never shrinks. */
  growVcpus(d: Domain, n: number): void {
    for (let i = d.vcpus.length; i < n; i++) {
      const v = new Vcpu(d, i, this.nrPcpus);
      v.processor = (d.domid + i) % this.nrPcpus;
      v.periodicPeriodNs = PV_DEFAULT_PERIODIC_TIMER_NS;
      v.runstateEntryNs = this.engine.now;
      d.vcpus.push(v);
      this.sched.insertVcpu(v);
    }
    d.maxVcpus = d.vcpus.length;
  }

  /** Creates the control domain (domid 0, privileged) and starts it, as Xen does at boot. */
  createDom0(o: { maxVcpus: number; program?: GuestProgram; maxEvtchnPort?: number }): Domain {
    if (this.domainMap.has(0)) throw new Error('dom0 already exists');
    const d = this.instantiate(0, o.maxVcpus, o.maxEvtchnPort ?? EVTCHN_2L_NR_CHANNELS - 1, {
      maxVcpus: o.maxVcpus,
      privileged: true,
    });
    this.boot(d, o.program ?? idleProgram);
    this.unpauseByController(d);
    return d;
  }

  /** Loads guest code onto every vCPU of `d` and brings them online (the domain builder's job); the domain stays paused until unpaused. */
  boot(d: Domain, program: GuestProgram, nrOnline = d.vcpus.length): void {
    d.program = program;
    const env = d.env as NonNullable<typeof d.env>;
    for (const v of d.vcpus) {
      if (v.id >= nrOnline) continue;
      v.initialised = true;
      v.program = program(env, v.id);
      v.online = true;
      this.vcpuStateChanged(v);
    }
  }

  // ---- pausing ------------------------------------------------------------------------------

  pauseByController(d: Domain): XenResult<number> {
    if (d.controllerPauseCount + 1 > 255) return err(75 /* EOVERFLOW */);
    d.controllerPauseCount++;
    this.domainPause(d);
    return ok(0);
  }

  unpauseByController(d: Domain): XenResult<number> {
    if (d.controllerPauseCount === 0) return err(XEN_EINVAL);
    d.controllerPauseCount--;
    this.domainUnpause(d);
    return ok(0);
  }

  domainPause(d: Domain): void {
    d.pauseCount++;
    if (d.pauseCount === 1) for (const v of d.vcpus) this.vcpuStateChanged(v);
  }

  domainUnpause(d: Domain): void {
    d.pauseCount--;
    if (d.pauseCount === 0) for (const v of d.vcpus) this.vcpuStateChanged(v);
  }

  // ---- shutdown and destruction -------------------------------------------------------------

  /** domain_shutdown(): the first reason (or a latched shutdown_code) wins; vCPUs pause; VIRQ_DOM_EXC follows. */
  shutdownDomain(d: Domain, reason: number): void {
    if (d.dying !== DOMDYING.alive) return;
    if (d.shutdownCode === -1) d.shutdownCode = reason;
    if (d.isShuttingDown) return;
    d.isShuttingDown = true;
    const code = d.shutdownCode;
    if (d.domid === 0) {
      this.hostShutdownReason = code;
      this.console.writeString(`(XEN) Hardware Dom0 shutdown: ${shutdownName(code)}\n`);
    }
    for (const v of d.vcpus) {
      v.pauseCount++;
      this.vcpuStateChanged(v);
    }
    d.isShutDown = true;
    this.engine.emit('domain.shutdown', d.domid, -1, { reason: code });
    if (code === SHUTDOWN_suspend && d.suspendEvtchn !== 0) {
      const port = d.suspendEvtchn;
      if (d.evtchn.valid(port)) setPending(this.evtchnHost, d, port);
    } else this.sendGlobalVirq(VIRQ_DOM_EXC);
  }

  /** domain_resume(): clears the shutdown state and unpauses the vCPUs paused for it. */
  resumeDomain(d: Domain): void {
    if (!d.isShuttingDown) {
      d.shutdownCode = -1;
      return;
    }
    d.isShuttingDown = false;
    d.isShutDown = false;
    d.shutdownCode = -1;
    for (const v of d.vcpus) {
      v.pauseCount--;
      this.vcpuStateChanged(v);
    }
    this.engine.emit('domain.resume', d.domid, -1);
  }

  /** domain_kill(): releases channels, timers, vCPUs and memory; a zombie lingers while its pages are held. */
  destroyDomain(d: Domain): void {
    if (d.dying !== DOMDYING.alive) return;
    d.dying = DOMDYING.dying;
    for (const v of d.vcpus) this.vcpuStateChanged(v);
    closeAll(this.evtchnHost, d);
    for (const v of d.vcpus) {
      this.timers.stopAll(v);
      this.sched.removeVcpu(v);
      v.program = null;
    }
    for (let i = 0; i < 2; i++) this.timers.stopWatchdog(d, i);
    for (let virq = 0; virq < NR_VIRQS; virq++)
      if (this.globalVirqHandlerDom[virq] === d.domid) this.globalVirqHandlerDom[virq] = 0;
    this.grants?.destroyDomain(asDomId(d.domid));
    d.dying = DOMDYING.dead;
    const held =
      this.memory?.destroyDomain(asDomId(d.domid), (id) => this.releaseZombie(id)) ?? false;
    this.engine.emit('domain.destroy', d.domid, -1, { zombie: held });
    if (held) d.zombie = true;
    else this.removeDomain(d);
    this.sendGlobalVirq(VIRQ_DOM_EXC);
  }

  private releaseZombie(domid: number): void {
    const d = this.domainMap.get(domid);
    if (d && d.zombie) this.removeDomain(d);
  }

  private removeDomain(d: Domain): void {
    this.domainMap.delete(d.domid);
    this.sortedDomains = this.sortedDomains.filter((x) => x !== d);
  }

  // ---- vCPU state ---------------------------------------------------------------------------

  setRunstate(v: Vcpu, state: number): void {
    if (v.runstate === state) return;
    const now = this.engine.now;
    v.addRunstateTime(v.runstate, now - v.runstateEntryNs);
    v.runstateEntryNs = now;
    v.runstate = state;
  }

  /** Time `v` spent in `state` up to now. */
  runstateTime(v: Vcpu, state: number): number {
    const t = v.runstateTimeNs(state);
    return v.runstate === state ? t + (this.engine.now - v.runstateEntryNs) : t;
  }

  /** Re-evaluates whether `v` may run after any change to its flags or pause counts. */
  vcpuStateChanged(v: Vcpu): void {
    const r = v.runnable();
    if (r && !v.inSched) {
      v.inSched = true;
      if (v.runningOn < 0) {
        this.setRunstate(v, RUNSTATE_runnable);
        this.sched.wake(v);
      }
    } else if (!r && v.inSched) {
      v.inSched = false;
      if (v.runningOn >= 0) this.executor.raise(this.executor.pcpus[v.runningOn] as never);
      else {
        this.sched.sleep(v);
        this.setRunstate(v, v.blocked ? RUNSTATE_blocked : RUNSTATE_offline);
      }
    } else if (!r && v.runningOn < 0) {
      this.setRunstate(v, v.blocked && v.online ? RUNSTATE_blocked : RUNSTATE_offline);
    }
  }

  /** vcpu_unblock(): clears VPF_blocked (and any poll) and wakes the vCPU. */
  unblock(v: Vcpu): void {
    if (v.pollPorts !== null) {
      v.pollPorts = null;
      v.dom.pollingCount--;
      this.timers.stopPoll(v);
    }
    if (!v.blocked) return;
    v.blocked = false;
    if (this.engine.trace.enabled) this.engine.emit('sched.wake', v.dom.domid, v.id);
    this.vcpuStateChanged(v);
  }

  /** vcpu_kick(): a blocked vCPU wakes; a running one is interrupted so its upcall runs now. */
  kick(v: Vcpu): void {
    if (v.blocked) this.unblock(v);
    else if (v.runningOn >= 0) this.executor.poke(this.executor.pcpus[v.runningOn] as never);
  }

  /** SCHEDOP_poll waiters of `d` on `port` (or on any port, for a multi-port poll) wake up. */
  wakePollers(d: Domain, port: number): void {
    if (d.pollingCount === 0) return;
    for (const v of d.vcpus) {
      const ports = v.pollPorts;
      if (ports === null) continue;
      if (ports.length !== 1 || ports[0] === port) this.unblock(v);
    }
  }

  /** SCHEDOP_block: events re-enabled (upcall_mask cleared); blocks unless one is already pending. */
  block(v: Vcpu): void {
    const page = v.dom.sharedInfo;
    const vi = vcpuInfoOffset(v.id);
    page[vi + VCPU_INFO_evtchn_upcall_mask] = 0;
    v.blocked = true;
    if (page[vi + VCPU_INFO_evtchn_upcall_pending] !== 0) {
      v.blocked = false;
      return;
    }
    if (this.engine.trace.enabled) this.engine.emit('sched.block', v.dom.domid, v.id);
    this.vcpuStateChanged(v);
  }

  /** SCHEDOP_poll after validation: blocks unless a port is pending. */
  poll(v: Vcpu, ports: readonly number[], timeoutNs: number): void {
    for (const p of ports) if (isPending(v.dom, p)) return;
    v.blocked = true;
    v.pollPorts = ports;
    v.dom.pollingCount++;
    if (timeoutNs !== 0) this.timers.setPollTimeout(v, timeoutNs);
    this.vcpuStateChanged(v);
  }

  /** VCPUOP_down (or the guest program returning): the last online vCPU powers the domain off. */
  vcpuDown(v: Vcpu): void {
    const others = v.dom.vcpus.some((w) => w !== v && w.online);
    if (!others) {
      this.shutdownDomain(v.dom, 0);
      return;
    }
    if (!v.online) return;
    v.online = false;
    this.vcpuStateChanged(v);
  }

  /** Steps `v`'s coroutine once (the executor calls this between preemption points). */
  stepGuest(v: Vcpu): void {
    const prog = v.program;
    if (prog === null) {
      // No guest code (it returned, or was never loaded): the vCPU halts until an event.
      this.block(v);
      if (!v.blocked) v.workNs += 1;
      return;
    }
    this.current = v;
    let res: IteratorResult<number, void>;
    try {
      res = prog.next(0);
    } catch (e) {
      this.current = null;
      this.guestFault(v, e);
      return;
    }
    this.current = null;
    let w = 0;
    if (res.done === true) {
      v.program = null;
      this.vcpuDown(v);
    } else {
      const y = res.value;
      if (typeof y === 'number' && y > 0 && y <= Number.MAX_SAFE_INTEGER) w = Math.floor(y);
    }
    if (v.runnable() && !v.yieldFlag) {
      // Still running: the step's work and the costs charged so far run next, on this pCPU.
      v.workNs += w + v.chargeNs;
      v.chargeNs = 0;
    } else {
      // The step blocked, yielded or went down: it and its hypercalls (and the switch and upcall costs
      // before it) ran on this vCPU first, so they stay charged and the executor holds the pCPU for them.
      v.chargeNs += w;
    }
  }

  /** Guest code threw: the domain crashes (domain_crash()). */
  guestFault(v: Vcpu, e: unknown): void {
    v.program = null;
    const msg = e instanceof Error ? e.message : String(e);
    this.console.writeString(
      `(XEN) domain_crash called from guest code: d${v.dom.domid}v${v.id}: ${msg}\n`,
    );
    this.shutdownDomain(v.dom, 3 /* SHUTDOWN_crash */);
  }

  // ---- VIRQs and console --------------------------------------------------------------------

  sendGlobalVirq(virq: number): void {
    const d = this.liveDomain(this.globalVirqHandlerDom[virq] as number);
    if (d) sendDomainVirq(this.evtchnHost, d, virq);
  }

  /** Appends to the Xen console ring and notifies VIRQ_CON_RING. */
  consoleWrite(bytes: Uint8Array): void {
    this.console.write(bytes);
    this.sendGlobalVirq(VIRQ_CON_RING);
  }

  /** Sets hard and soft affinity; a vCPU on a pCPU it may no longer use moves at once. */
  setAffinity(v: Vcpu, hard: Uint8Array, soft: Uint8Array): void {
    v.hard = hard;
    v.soft = soft;
    v.hardAll = !hard.includes(0);
    v.softAll = !soft.includes(0);
    if (v.runningOn >= 0 && hard[v.runningOn] !== 1)
      this.executor.raise(this.executor.pcpus[v.runningOn] as never);
    else this.sched.affinityChanged(v);
    if (hard[v.processor] !== 1) v.processor = Math.max(0, hard.indexOf(1));
  }

  /** Pages held by domains (from the memory subsystem when wired). */
  usedPages(): number {
    if (!this.memory) return 0;
    let n = 0;
    for (const d of this.sortedDomains) n += this.memory.totPages(asDomId(d.domid));
    return n;
  }

  /** Total CPU time of a domain (sum of its vCPUs' running time). */
  cpuTime(d: Domain): number {
    let t = 0;
    for (const v of d.vcpus) t += this.runstateTime(v, 0);
    return t;
  }
}

export function isValidShutdownReason(r: unknown): r is number {
  return typeof r === 'number' && Number.isInteger(r) && r >= 0 && r <= SHUTDOWN_MAX;
}

function shutdownName(code: number): string {
  return (
    ['Halting', 'Rebooting', 'Suspending', 'Crashing', 'Watchdog', 'Soft reset'][code] ?? 'Halting'
  );
}
