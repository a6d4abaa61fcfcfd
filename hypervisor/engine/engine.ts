// The simulation engine of one world: virtual time, one event queue, one seeded PRNG, one trace.
// It plays the part of Xen's timer subsystem (xen/common/timer.c) for everything simulated.

import { EventQueue, type EventFn, type EventId } from './event-queue.js';
import { Prng } from './prng.js';
import { Trace, type TraceFields } from './trace.js';
import { ns, type Ns } from './time.js';

export type { EventId, EventFn } from './event-queue.js';

export interface EngineOptions {
  /** Seed of the run; the same seed and inputs give the same trace digest. */
  seed?: number;
  /** Records the trace ring keeps (older ones are dropped, but still folded into the digest). */
  traceCapacity?: number;
  /** Record a trace at all (benchmarks turn it off). */
  trace?: boolean;
}

export const DEFAULT_SEED = 1;

export class Engine {
  readonly queue = new EventQueue();
  readonly prng: Prng;
  readonly trace: Trace;
  readonly seed: number;
  // Virtual time passes 2^31 ns (2.1 s) early in a run: the field is created as a double (reset to 0 in
  // the constructor) so the engine never changes hidden class mid-run, which deoptimises every caller.
  private nowNs = 0.5;
  private running = false;
  private stopRequested = false;
  private executed = 0;

  constructor(options: EngineOptions = {}) {
    this.nowNs = 0;
    this.seed = options.seed ?? DEFAULT_SEED;
    this.prng = new Prng(this.seed);
    this.trace = new Trace(options.traceCapacity ?? 65_536, options.trace ?? true);
  }

  /** Current virtual time in nanoseconds. */
  get now(): Ns {
    return this.nowNs as Ns;
  }

  /** Events executed since the engine was created. */
  get eventsExecuted(): number {
    return this.executed;
  }

  get pending(): number {
    return this.queue.size;
  }

  /** Schedules `fn(arg)` at absolute virtual time `timeNs` (never in the past). */
  at<A = undefined>(timeNs: number, fn: EventFn<A>, arg?: A): EventId {
    // One range check covers both rules: integral, and not in the past nor beyond 2^53.
    if (!(timeNs >= this.nowNs && timeNs <= Number.MAX_SAFE_INTEGER && Math.floor(timeNs) === timeNs)) {
      throw new RangeError(
        `engine.at: time ${timeNs} must be an integer ns between now (${this.nowNs}) and 2^53`,
      );
    }
    return this.queue.push(timeNs, fn, arg as A);
  }

  /** Schedules `fn(arg)` `delayNs` from now. */
  after<A = undefined>(delayNs: number, fn: EventFn<A>, arg?: A): EventId {
    return this.at(this.nowNs + delayNs, fn, arg);
  }

  cancel(id: EventId): boolean {
    return this.queue.cancel(id);
  }

  /** Runs the earliest event; false when the queue is empty. */
  step(): boolean {
    const due = this.queue.peekDue();
    if (due === Infinity) return false;
    this.nowNs = due;
    this.executed++;
    this.queue.popAndRun();
    return true;
  }

  /** Runs every event due at or before `timeNs`, then sets the clock to `timeNs`. */
  runUntil(timeNs: number): void {
    ns(timeNs);
    this.guard(() => {
      const q = this.queue;
      for (let due = q.peekDue(); due <= timeNs && !this.stopRequested; due = q.peekDue()) {
        this.nowNs = due;
        this.executed++;
        q.popAndRun();
      }
      if (!this.stopRequested && timeNs > this.nowNs) this.nowNs = timeNs;
    });
  }

  /** Runs for `durationNs` of virtual time from now. */
  runFor(durationNs: number): void {
    this.runUntil(this.nowNs + durationNs);
  }

  /** Runs until no event is left (or `maxEvents` ran); returns how many ran. */
  runUntilIdle(maxEvents = Number.MAX_SAFE_INTEGER): number {
    let n = 0;
    this.guard(() => {
      while (!this.stopRequested && n < maxEvents && this.step()) n++;
    });
    return n;
  }

  /** Runs until `cond()` holds (checked after each event), the queue empties, or `limitNs` passes. */
  runUntilCondition(cond: () => boolean, limitNs = Number.MAX_SAFE_INTEGER): boolean {
    let ok = cond();
    this.guard(() => {
      while (!ok && !this.stopRequested && this.queue.peekDue() <= limitNs) {
        this.step();
        ok = cond();
      }
    });
    return ok;
  }

  /** Asks a running loop to return after the current event. */
  stop(): void {
    this.stopRequested = true;
  }

  /** Records a trace instant at the current virtual time. */
  emit(kind: string, dom: number, vcpu: number, fields?: TraceFields): void {
    if (!this.trace.enabled) return;
    this.trace.record(
      fields
        ? { timeNs: this.nowNs, kind, dom, vcpu, fields }
        : { timeNs: this.nowNs, kind, dom, vcpu },
    );
  }

  /** A one-line description of the run, for logs and for replaying a failure. */
  describe(): string {
    return `seed=${this.seed} now=${this.nowNs}ns events=${this.executed} digest=${this.trace.digest()}`;
  }

  private guard(body: () => void): void {
    if (this.running) throw new Error('engine: run loop re-entered from inside an event');
    this.running = true;
    this.stopRequested = false;
    try {
      body();
    } finally {
      this.running = false;
      this.stopRequested = false;
    }
  }
}
