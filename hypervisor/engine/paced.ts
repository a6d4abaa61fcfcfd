// Paced mode: virtual time follows an injected wall clock times a speed factor, as the host daemon
// needs (architecture section 3). The wall clock is injected, so core code never reads it itself.

import type { Engine } from './engine.js';
import type { EventFn } from './event-queue.js';
import { NS_PER_MS } from './time.js';

/** Milliseconds from some fixed origin: the host daemon injects its monotonic wall clock, tests a fake. */
export type WallClockMs = () => number;

export class PacedRunner {
  readonly engine: Engine;
  private readonly wallClockMs: WallClockMs;
  private speedFactor: number;
  private wallStartMs: number;
  private virtStartNs: number;

  constructor(engine: Engine, wallClockMs: WallClockMs, speedFactor = 1) {
    this.engine = engine;
    this.wallClockMs = wallClockMs;
    this.speedFactor = speedFactor;
    if (!(speedFactor > 0)) throw new RangeError(`speed factor must be > 0, got ${speedFactor}`);
    this.wallStartMs = wallClockMs();
    this.virtStartNs = engine.now;
  }

  get speed(): number {
    return this.speedFactor;
  }

  /** Changes the speed from now on, without a jump in virtual time. */
  setSpeed(speedFactor: number): void {
    if (!(speedFactor > 0)) throw new RangeError(`speed factor must be > 0, got ${speedFactor}`);
    this.advance();
    this.rebase();
    this.speedFactor = speedFactor;
  }

  /** The virtual time the wall clock says it should be now. */
  targetNs(): number {
    const elapsedMs = this.wallClockMs() - this.wallStartMs;
    return Math.max(
      this.engine.now,
      this.virtStartNs + Math.floor(elapsedMs * this.speedFactor * NS_PER_MS),
    );
  }

  /** Runs every event up to the wall-derived virtual time. Returns the new virtual time. */
  advance(): number {
    this.engine.runUntil(this.targetNs());
    return this.engine.now;
  }

  /** An external input (a socket request): catch up with the wall clock, then run it at the current virtual time. */
  inject<A>(fn: EventFn<A>, arg?: A): void {
    this.advance();
    this.engine.at(this.engine.now, fn, arg);
    this.engine.runUntil(this.engine.now);
  }

  /** Wall milliseconds until the next event is due (Infinity if none): how long the I/O shell may sleep. */
  msUntilNextEvent(): number {
    const due = this.engine.queue.peekDue();
    if (due === Infinity) return Infinity;
    const wallDue = this.wallStartMs + (due - this.virtStartNs) / NS_PER_MS / this.speedFactor;
    return Math.max(0, wallDue - this.wallClockMs());
  }

  private rebase(): void {
    this.wallStartMs = this.wallClockMs();
    this.virtStartNs = this.engine.now;
  }
}
