// A minimal stand-in for the hypervisor under one PV guest, for domU tests: one vCPU stepped like the
// executor (upcall first when upcall_pending and not masked, else the coroutine), 2-level event
// delivery into a real shared_info page, SCHEDOP_block/set_timer_op with a virtual clock, a P2M over
// plain Uint8Arrays, memory_op reservations, and a hook for the other end of each event channel.

import type {
  GuestCoroutine,
  GuestEnv,
  HypercallInterface,
  UpcallHandler,
} from '../../hypercalls/guest-interface.js';
import {
  EVTCHNOP_bind_ipi,
  EVTCHNOP_bind_virq,
  EVTCHNOP_send,
  EVTCHNOP_unmask,
  type EvtchnBindVirq,
} from '../../hypercalls/event-channel.js';
import {
  XENMEM_current_reservation,
  XENMEM_decrease_reservation,
  XENMEM_maximum_reservation,
  XENMEM_populate_physmap,
  type GuestMemory,
  type xen_memory_reservation,
} from '../../hypercalls/memory.js';
import { SCHEDOP_block, SCHEDOP_shutdown, type SchedShutdown } from '../../hypercalls/sched.js';
import {
  SHARED_INFO_evtchn_mask,
  SHARED_INFO_evtchn_pending,
  SHARED_INFO_SIZE,
  VCPU_INFO_evtchn_pending_sel,
  VCPU_INFO_evtchn_upcall_mask,
  VCPU_INFO_evtchn_upcall_pending,
  testAndSetBit,
  testBit,
  vcpuInfoOffset,
} from '../../hypercalls/shared-info.js';
import { VCPUOP_is_up, VCPUOP_up } from '../../hypercalls/vcpu.js';
import { VIRQ_TIMER } from '../../hypercalls/virq.js';

export const MFN_BASE = 0x10000;
export const STORE_PFN = 1000;
export const CONSOLE_PFN = 1001;
export const STORE_PORT = 1;
export const CONSOLE_PORT = 2;

export interface Call {
  op: string;
  cmd: number;
  arg: unknown;
}

/** Plain-array P2M: pfn -> page, mfn = pfn + MFN_BASE. */
export class FakeMemory implements GuestMemory {
  readonly domid = 5;
  readonly pages = new Map<number, Uint8Array>();
  readonly populated = new Set<number>();
  readonly written = new Set<number>();

  constructor(nrPages: number) {
    for (let p = 0; p < nrPages; p++) this.populated.add(p);
  }
  pfnToMfn(pfn: number): number {
    return this.populated.has(pfn) ? pfn + MFN_BASE : -1;
  }
  mfnToPfn(mfn: number): number {
    return this.populated.has(mfn - MFN_BASE) ? mfn - MFN_BASE : -1;
  }
  page(pfn: number): Uint8Array | undefined {
    if (!this.populated.has(pfn)) return undefined;
    let p = this.pages.get(pfn);
    if (!p) {
      p = new Uint8Array(4096);
      this.pages.set(pfn, p);
    }
    return p;
  }
  read(pfn: number, offset: number, dst: Uint8Array): number {
    const p = this.page(pfn);
    if (!p) return 14;
    dst.set(p.subarray(offset, offset + dst.length));
    return 0;
  }
  write(pfn: number, offset: number, src: Uint8Array): number {
    const p = this.page(pfn);
    if (!p) return 14;
    p.set(src, offset);
    this.written.add(pfn);
    return 0;
  }
  view(pfn: number): Uint8Array | undefined {
    return this.page(pfn);
  }
  writableView(pfn: number): Uint8Array | undefined {
    this.written.add(pfn);
    return this.page(pfn);
  }
  ownFrame(): Uint8Array | undefined {
    return undefined;
  }
  mappedView(): Uint8Array | undefined {
    return undefined;
  }
  readMapped(): number {
    return 14;
  }
  writeMapped(): number {
    return 14;
  }
}

export interface FakeXenOptions {
  /** The memory of a restored domain (its pages as the saved image had them). */
  memory?: FakeMemory;
  nrPages?: number;
  maxPages?: number;
  maxVcpus?: number;
}

export class FakeXen {
  nowNs = 0;
  readonly shared = new Uint8Array(SHARED_INFO_SIZE);
  readonly memory: FakeMemory;
  readonly calls: Call[] = [];
  maxPages: number;
  upcall: UpcallHandler | null = null;
  blocked = false;
  timerNs = 0;
  shutdownReason: number | null = null;
  /** Value sent into the coroutine when it resumes after SCHEDOP_shutdown(suspend). */
  suspendResult = 1;
  /** Called when the guest suspends (a test makes the "new domain" here). */
  onSuspend: (() => void) | null = null;
  /** Leave the domain suspended (a save): run() returns and the coroutine is not resumed. */
  freezeOnSuspend = false;
  suspends = 0;
  private sendNext = 0;
  private nextPort = 3;
  readonly virqPorts = new Map<number, number>();
  readonly vcpusUp = new Set<number>([0]);
  /** The other end of each port: called on EVTCHNOP_send. */
  readonly peers = new Map<number, () => void>();
  /** Work the other ends do between guest steps (xenstored, xenconsoled). */
  readonly tickers: (() => void)[] = [];
  readonly env: GuestEnv;
  readonly h: HypercallInterface;

  constructor(opts: FakeXenOptions = {}) {
    const nr = opts.nrPages ?? 1024;
    this.maxPages = opts.maxPages ?? nr;
    this.memory = opts.memory ?? new FakeMemory(nr);
    this.h = this.hypercalls();
    this.env = {
      domid: 5,
      maxVcpus: opts.maxVcpus ?? 1,
      hypercalls: this.h,
      sharedInfo: this.shared,
      startInfo: {
        magic: 'xen-3.0-x86_64',
        flags: 0,
        nr_pages: nr,
        store_mfn: STORE_PFN + MFN_BASE,
        store_evtchn: STORE_PORT,
        console_mfn: CONSOLE_PFN + MFN_BASE,
        console_evtchn: CONSOLE_PORT,
        cmd_line: 'root=/dev/xvda1',
      },
      now: () => this.nowNs,
      setUpcallHandler: (fn) => {
        this.upcall = fn;
      },
    };
  }

  count(op: string, cmd?: number): number {
    return this.calls.filter((c) => c.op === op && (cmd === undefined || c.cmd === cmd)).length;
  }

  /** Xen's evtchn_2l_set_pending for vCPU 0. */
  raise(port: number, vcpu = 0): void {
    const s = this.shared;
    if (testAndSetBit(s, SHARED_INFO_evtchn_pending, port)) return;
    const vi = vcpuInfoOffset(vcpu);
    if (
      !testBit(s, SHARED_INFO_evtchn_mask, port) &&
      !testAndSetBit(s, vi + VCPU_INFO_evtchn_pending_sel, port >>> 6)
    ) {
      s[vi + VCPU_INFO_evtchn_upcall_pending] = 1;
    }
    if (s[vi + VCPU_INFO_evtchn_upcall_pending] === 1) this.blocked = false;
  }

  /** Delivers the upcall if due, as the executor does before stepping guest code. */
  deliver(vcpu = 0): boolean {
    const vi = vcpuInfoOffset(vcpu);
    if (this.shared[vi + VCPU_INFO_evtchn_upcall_pending] === 0) return false;
    if (this.shared[vi + VCPU_INFO_evtchn_upcall_mask] !== 0 || !this.upcall) return false;
    this.shared[vi + VCPU_INFO_evtchn_upcall_mask] = 1;
    this.upcall(this.env, vcpu);
    this.shared[vi + VCPU_INFO_evtchn_upcall_mask] = 0;
    return true;
  }

  /**
   * Runs the coroutine until `done()` holds, or it is blocked with nothing left to wake it, or
   * `maxNs` of virtual time passes. Returns true when `done()` held.
   */
  run(co: GuestCoroutine, done: () => boolean, maxNs = 60e9): boolean {
    const limit = this.nowNs + maxNs;
    for (let i = 0; i < 1_000_000; i++) {
      for (const t of this.tickers) t();
      if (done()) return true;
      if (this.deliver()) continue;
      if (this.shutdownReason !== null && this.shutdownReason !== 2) return done();
      if (this.blocked) {
        if (this.timerNs > 0 && this.timerNs <= limit) {
          this.nowNs = Math.max(this.nowNs, this.timerNs);
          this.timerNs = 0;
          const p = this.virqPorts.get(VIRQ_TIMER);
          if (p !== undefined) this.raise(p);
          else this.blocked = false;
          continue;
        }
        return done();
      }
      if (this.nowNs > limit) return done();
      const send = this.sendNext;
      this.sendNext = 0;
      const r = co.next(send);
      if (r.done === true) return done();
      this.nowNs += r.value;
      if (this.shutdownReason === 2 && this.freezeOnSuspend) return done();
      if (this.shutdownReason === 2) {
        // Suspended: the toolstack resumes it (cancelled = 1) or a new domain runs it (0).
        this.shutdownReason = null;
        this.suspends++;
        this.onSuspend?.();
        this.sendNext = this.suspendResult;
      }
    }
    throw new Error('fake xen: step limit');
  }

  private hypercalls(): HypercallInterface {
    const log = (op: string, cmd: number, arg: unknown): void => {
      this.calls.push({ op, cmd, arg });
    };
    const unsupported = (): number => -38;
    return {
      sched_op: (cmd, arg) => {
        log('sched_op', cmd, arg);
        if (cmd === SCHEDOP_block) {
          const vi = vcpuInfoOffset(0);
          this.shared[vi + VCPU_INFO_evtchn_upcall_mask] = 0;
          if (this.shared[vi + VCPU_INFO_evtchn_upcall_pending] === 0) this.blocked = true;
          return 0;
        }
        if (cmd === SCHEDOP_shutdown) {
          this.shutdownReason = (arg as SchedShutdown).reason;
          return 0;
        }
        return 0;
      },
      vcpu_op: (cmd, vcpuid, arg) => {
        log('vcpu_op', cmd, { vcpuid, arg });
        if (cmd === VCPUOP_up) this.vcpusUp.add(vcpuid);
        if (cmd === VCPUOP_is_up) return this.vcpusUp.has(vcpuid) ? 1 : 0;
        return 0;
      },
      set_timer_op: (t) => {
        log('set_timer_op', 0, t);
        this.timerNs = t;
        return 0;
      },
      event_channel_op: (cmd, arg) => {
        log('event_channel_op', cmd, arg);
        if (cmd === EVTCHNOP_bind_virq) {
          const a = arg as EvtchnBindVirq;
          a.port = this.nextPort++;
          this.virqPorts.set(a.virq, a.port);
          return 0;
        }
        if (cmd === EVTCHNOP_send) {
          this.peers.get((arg as { port: number }).port)?.();
          return 0;
        }
        if (cmd === EVTCHNOP_unmask) return 0;
        if (cmd === EVTCHNOP_bind_ipi) {
          (arg as { port: number }).port = this.nextPort++;
          return 0;
        }
        return 0;
      },
      xen_version: unsupported,
      console_io: unsupported,
      memory_op: (cmd, arg) => {
        log('memory_op', cmd, arg);
        return this.memoryOp(cmd, arg);
      },
      grant_table_op: unsupported,
      multicall: unsupported,
      domctl: unsupported,
      sysctl: unsupported,
      hypercall: unsupported,
    };
  }

  private memoryOp(cmd: number, arg: unknown): number {
    const m = this.memory;
    if (cmd === XENMEM_maximum_reservation) return this.maxPages;
    if (cmd === XENMEM_current_reservation) return m.populated.size;
    const r = arg as xen_memory_reservation;
    const ext = r.extent_start ?? [];
    if (cmd === XENMEM_decrease_reservation) {
      for (let i = 0; i < r.nr_extents; i++) {
        const pfn = m.mfnToPfn(ext[i] ?? -1);
        if (pfn < 0) return i;
        m.populated.delete(pfn);
        m.pages.delete(pfn);
      }
      return r.nr_extents;
    }
    if (cmd === XENMEM_populate_physmap) {
      for (let i = 0; i < r.nr_extents; i++) {
        const pfn = ext[i] ?? -1;
        if (m.populated.size >= this.maxPages || pfn < 0 || m.populated.has(pfn)) return i;
        m.populated.add(pfn);
        ext[i] = pfn + MFN_BASE;
      }
      return r.nr_extents;
    }
    return -38;
  }
}
