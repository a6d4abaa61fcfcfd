// Toolstack operations as coroutines on virtual time (libxl's async ops, libxl_internal.h
// libxl__ao / libxl__ev_time / libxl__ev_xswatch): an op yields a Wait, is resumed by an engine
// event, and its result settles a Promise. Resumption always goes through the clock, never re-entrantly.

import type { Dom0Clock, TimerId } from './platform.js';

/** Something an op waits for: given `resume`, it arranges a later call and returns a canceller. */
export type Wait<V = unknown> = (resume: (value: V) => void) => () => void;

/** A toolstack operation: yields Waits, receives their values, returns its result. */
export type Op<T> = Generator<Wait, T, unknown>;

export type TaskState = 'running' | 'done' | 'failed';

/** A running op: its state is readable synchronously (batch mode), its promise settles with it. */
export class Task<T> {
  state: TaskState = 'running';
  value: T | undefined;
  error: unknown;
  readonly promise: Promise<T>;
  private resolveFn!: (v: T) => void;
  private rejectFn!: (e: unknown) => void;
  private readonly op: Op<T>;
  private readonly clock: Dom0Clock;

  constructor(clock: Dom0Clock, op: Op<T>) {
    this.clock = clock;
    this.op = op;
    this.promise = new Promise<T>((res, rej) => {
      this.resolveFn = res;
      this.rejectFn = rej;
    });
    // Nobody may be listening yet; a rejection is still reported through the promise.
    this.promise.catch(() => undefined);
    TASKS.set(this.promise, this as Task<unknown>);
  }

  /** Runs the op until its first wait (or to completion). */
  start(): this {
    this.step(undefined, false);
    return this;
  }

  private step(input: unknown, isThrow: boolean): void {
    let r: IteratorResult<Wait, T>;
    try {
      r = isThrow ? this.op.throw(input) : this.op.next(input);
    } catch (e) {
      this.state = 'failed';
      this.error = e;
      this.rejectFn(e);
      return;
    }
    if (r.done === true) {
      this.state = 'done';
      this.value = r.value;
      this.resolveFn(r.value);
      return;
    }
    let fired = false;
    const wait = r.value;
    wait((v) => {
      if (fired) return;
      fired = true;
      // Resume from the engine queue, at the current virtual time: never inside another party's call.
      this.clock.at(this.clock.now(), () => {
        this.step(v, false);
      });
    });
  }
}

const TASKS = new WeakMap<Promise<unknown>, Task<unknown>>();

/** Starts `op` on `clock`. */
export function runOp<T>(clock: Dom0Clock, op: Op<T>): Task<T> {
  return new Task(clock, op).start();
}

/** The task behind a promise a toolstack method returned, if any. */
export function taskOf(p: Promise<unknown>): Task<unknown> | undefined {
  return TASKS.get(p);
}

/** What batch mode needs from the simulation engine. */
export interface EngineDriver {
  /** Runs events until `cond()` holds (checked between events) or the queue is empty; true if it holds. */
  runUntilCondition(cond: () => boolean, limitNs?: number): boolean;
}

/**
 * Batch mode: runs the engine until the operation behind `p` has settled, then returns its value.
 * Rejects if the simulation goes idle (or passes `limitNs`, absolute) first.
 */
export async function settle<T>(engine: EngineDriver, p: Promise<T>, limitNs?: number): Promise<T> {
  const t = taskOf(p);
  if (t) {
    engine.runUntilCondition(() => t.state !== 'running', limitNs);
    if (t.state === 'running') throw new Error('simulation stopped before the operation finished');
    return p;
  }
  // A promise that still awaits host I/O (a module import) before its op starts: alternate
  // host turns and bursts of engine events until it settles.
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let idle = 0; !done && idle < 10_000;) {
    await new Promise((r) => setImmediate(r));
    if (done) break;
    let n = 0;
    const progressed = engine.runUntilCondition(() => ++n > 10_000, limitNs);
    idle = progressed ? 0 : idle + 1;
  }
  if (!done) throw new Error('simulation went idle before the operation finished');
  return p;
}

// ---- waits ----------------------------------------------------------------------------------

/** Sleeps `delayNs` of virtual time. */
export function sleep(clock: Dom0Clock, delayNs: number): Wait<void> {
  return (resume) => {
    const id = clock.at(clock.now() + Math.max(0, delayNs), () => resume(undefined));
    return () => clock.cancel(id);
  };
}

/** A one-shot signal an op can wait on (with a timeout) and others can fire. */
export class Signal<V> {
  private waiters: ((v: V) => void)[] = [];

  fire(v: V): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f(v);
  }

  /** Waits for the next fire, or `timeoutValue` after `timeoutNs` (no timeout if undefined). */
  wait(clock: Dom0Clock, timeoutNs?: number, timeoutValue?: V): Wait<V> {
    return (resume) => {
      let timer: TimerId | null = null;
      const f = (v: V): void => {
        if (timer !== null) clock.cancel(timer);
        resume(v);
      };
      this.waiters.push(f);
      if (timeoutNs !== undefined)
        timer = clock.at(clock.now() + timeoutNs, () => {
          this.waiters = this.waiters.filter((x) => x !== f);
          resume(timeoutValue as V);
        });
      return () => {
        this.waiters = this.waiters.filter((x) => x !== f);
        if (timer !== null) clock.cancel(timer);
      };
    };
  }
}
