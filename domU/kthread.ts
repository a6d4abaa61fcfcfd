// Kernel threads on one vCPU (Linux kernel/sched/ reduced to a cooperative round robin): guest code is
// a generator that yields CPU work in ns, a Wait (sleep until a condition or a deadline), or a
// Suspend (the one hypercall whose result arrives only when the vCPU runs again). When every thread
// waits, the vCPU arms set_timer_op for the earliest deadline and blocks with SCHEDOP_block, the
// way Linux's idle loop does (xen_safe_halt); event upcalls run the handlers that make waits true.

import type { GuestCoroutine, HypercallInterface } from '../hypercalls/guest-interface.js';
import { SCHEDOP_block, SCHEDOP_shutdown, SHUTDOWN_suspend } from '../hypercalls/sched.js';

/** Park the thread until `until()` holds or virtual time reaches `deadlineNs` (Infinity: no deadline). */
export interface Wait {
  readonly kind: 'wait';
  readonly until: () => boolean;
  readonly deadlineNs: number;
}

/** SCHEDOP_shutdown(SHUTDOWN_suspend): the thread is sent the suspend's result (1 cancelled, 0 new domain). */
export interface Suspend {
  readonly kind: 'suspend';
}

/** What guest code yields: CPU ns to consume, a Wait, or a Suspend. */
export type KStep = number | Wait | Suspend;
/** Guest code running in the kernel model: `yield*` the kernel's generator functions from it. */
export type KThread<R = void> = Generator<KStep, R, number>;

/** Waits until `until()` holds (true) or `deadlineNs` passes first (false). */
export function* waitUntil(until: () => boolean, deadlineNs = Infinity): KThread<boolean> {
  if (until()) return true;
  yield { kind: 'wait', until, deadlineNs };
  return until();
}

/** Uses `ns` of CPU (split into preemptible pieces by the hypervisor's scheduler). */
export function* burn(ns: number): KThread {
  if (ns > 0) yield ns;
}

export interface ThreadState {
  readonly name: string;
  readonly gen: KThread<unknown>;
  wait: Wait | null;
  send: number;
  readonly onExit: ((result: ThreadExit) => void) | undefined;
}

export type ThreadExit = { ok: true; value: unknown } | { ok: false; error: string };

/** The round robin of threads on one vCPU. */
export class CpuRunner {
  readonly vcpu: number;
  private readonly h: () => HypercallInterface;
  private readonly now: () => number;
  private threads: ThreadState[] = [];
  private armedDeadlineNs = 0;
  /** Set by the kernel on halt (poweroff, crash): the vCPU's coroutine returns. */
  halted = false;
  /** Faults of threads that threw (a guest bug, reported instead of crashing the simulator). */
  readonly faults: string[] = [];

  constructor(vcpu: number, hypercalls: () => HypercallInterface, now: () => number) {
    this.vcpu = vcpu;
    this.h = hypercalls;
    this.now = now;
  }

  get threadCount(): number {
    return this.threads.length;
  }

  threadNames(): string[] {
    return this.threads.map((t) => t.name);
  }

  /** The one-shot timer is gone (a new domain): arm it again at the next idle. */
  resetTimer(): void {
    this.armedDeadlineNs = 0;
  }

  /** Removes and returns every thread (cpu_down migrates them). */
  takeThreads(): ThreadState[] {
    const all = this.threads;
    this.threads = [];
    return all;
  }

  /** Takes over a thread from another vCPU, where it left off. */
  adopt(t: ThreadState): void {
    this.threads.push(t);
  }

  spawn<R>(name: string, gen: KThread<R>, onExit?: (result: ThreadExit) => void): void {
    this.threads.push({ name, gen, wait: null, send: 0, onExit });
  }

  /** The vCPU's coroutine: steps threads until halted; never returns while threads may still wake. */
  *run(): GuestCoroutine {
    while (!this.halted) {
      const t = this.pickRunnable();
      if (t) {
        const step = this.step(t);
        if (step === undefined) continue;
        if (typeof step === 'number') {
          yield step > 0 && Number.isFinite(step) ? Math.floor(step) : 0;
        } else if (step.kind === 'suspend') {
          const rc = this.h().sched_op(SCHEDOP_shutdown, { reason: SHUTDOWN_suspend });
          // The suspend's outcome is known only when this vCPU runs again: Xen's resume path rewrites
          // the hypercall's return register (xc_domain_resume); here it is the value sent into the coroutine.
          const sent: unknown = yield 0;
          t.send = rc < 0 ? rc : typeof sent === 'number' ? sent : 0;
        }
        continue;
      }
      this.idle();
      yield 0;
    }
  }

  /** All threads wait: arm the one-shot timer for the earliest deadline, then SCHEDOP_block. */
  private idle(): void {
    let deadline = Infinity;
    for (const t of this.threads)
      if (t.wait && t.wait.deadlineNs < deadline) deadline = t.wait.deadlineNs;
    const h = this.h();
    // A one-shot that already fired is no longer armed.
    if (this.armedDeadlineNs !== 0 && this.now() >= this.armedDeadlineNs) this.armedDeadlineNs = 0;
    const armed = Number.isFinite(deadline) ? Math.max(1, Math.ceil(deadline)) : 0;
    if (armed !== this.armedDeadlineNs) {
      h.set_timer_op(armed);
      this.armedDeadlineNs = armed;
    }
    h.sched_op(SCHEDOP_block);
  }

  private pickRunnable(): ThreadState | undefined {
    const now = this.now();
    for (const t of this.threads) {
      if (t.wait === null) return t;
      if (now >= t.wait.deadlineNs || t.wait.until()) {
        t.wait = null;
        return t;
      }
    }
    return undefined;
  }

  /** Runs `t` to its next yield; moves it to the back of the round robin. */
  private step(t: ThreadState): KStep | undefined {
    const send = t.send;
    t.send = 0;
    let r: IteratorResult<KStep, unknown>;
    try {
      r = t.gen.next(send);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.faults.push(`${t.name}: ${msg}`);
      this.remove(t);
      t.onExit?.({ ok: false, error: msg });
      return undefined;
    }
    this.remove(t);
    if (r.done === true) {
      t.onExit?.({ ok: true, value: r.value });
      return undefined;
    }
    this.threads.push(t);
    const v = r.value;
    if (typeof v !== 'number' && v.kind === 'wait') t.wait = v;
    return v;
  }

  private remove(t: ThreadState): void {
    const i = this.threads.indexOf(t);
    if (i >= 0) this.threads.splice(i, 1);
  }
}
