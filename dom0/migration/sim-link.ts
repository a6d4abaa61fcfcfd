// The in-process migration link: the byte stream `xl migrate` runs over (an ssh pipe in
// tools/xl/xl_migrate.c), modelled in virtual time with a bandwidth and a one-way latency per
// direction, so a pool's migrations are deterministic and comparable with the pre-copy model.

import type { Dom0Clock, TimerId } from '../toolstack/platform.js';
import type { Wait } from '../toolstack/task.js';
import type { MigrationChannel } from './types.js';

const NS_PER_SEC = 1_000_000_000;

export interface SimLinkOptions {
  /** Bytes per second in each direction. */
  readonly bytesPerSecond: number;
  /** One-way latency, ns. */
  readonly latencyNs: number;
}

/** What both ends share: the clock, the link's parameters and whether it failed. */
interface LinkState {
  readonly clock: Dom0Clock;
  readonly nsPerByte: number;
  readonly latencyNs: number;
  failed: string | null;
}

class SimLinkEnd implements MigrationChannel {
  peer!: SimLinkEnd;
  closed = false;
  bytesSent = 0;
  private readonly link: LinkState;
  private readonly dataListeners: ((chunk: Uint8Array) => void)[] = [];
  private readonly closeListeners: ((reason: string | null) => void)[] = [];
  /** Exact (fractional) time this end's direction is free again: the serialization queue. */
  private busyUntilNs = 0;
  /** Deliveries in flight towards the peer (data and the close), cancelled by an abort. */
  private readonly inFlight = new Set<TimerId>();
  /** Send waits not yet resumed: an abort resumes them at once. */
  private readonly sendWaits = new Map<TimerId, () => void>();
  private closedBySelf = false;
  /** The close listeners were told (or are about to be). */
  private told = false;

  constructor(link: LinkState) {
    this.link = link;
  }

  send(bytes: Uint8Array): Wait<void> {
    const clock = this.link.clock;
    if (this.closed) return resumeNow(clock);
    const now = clock.now();
    const start = Math.max(now, this.busyUntilNs);
    const leave = start + bytes.length * this.link.nsPerByte;
    this.busyUntilNs = leave;
    this.bytesSent += bytes.length;
    const leaveNs = Math.max(now, Math.ceil(leave));
    if (bytes.length > 0)
      this.deliver(leaveNs + this.link.latencyNs, () => this.peer.receive(bytes));
    return (resume) => {
      if (this.closed && this.link.failed !== null) return resumeNow(clock)(resume);
      const id = clock.at(Math.max(clock.now(), leaveNs), () => {
        this.sendWaits.delete(id);
        resume(undefined);
      });
      this.sendWaits.set(id, () => resume(undefined));
      return () => {
        if (this.sendWaits.delete(id)) clock.cancel(id);
      };
    };
  }

  onData(listener: (chunk: Uint8Array) => void): void {
    this.dataListeners.push(listener);
  }

  onClose(listener: (reason: string | null) => void): void {
    this.closeListeners.push(listener);
  }

  /**
   * Orderly close: this end stops sending and receiving at once; the peer sees the close after the
   * data this end still has in flight. This end's own close listeners are not called (the peer did
   * not close it).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closedBySelf = true;
    const leaveNs = Math.max(this.link.clock.now(), Math.ceil(this.busyUntilNs));
    this.deliver(leaveNs + this.link.latencyNs, () => this.peer.endByPeer(null));
  }

  /** Fails the link: both ends close now, data in flight is dropped, both see `reason`. */
  abort(reason: string): void {
    if (this.link.failed !== null) return;
    // After a completed orderly close there is nothing left to fail.
    if (this.settled() && this.peer.settled()) return;
    this.link.failed = reason;
    for (const end of [this, this.peer]) end.fail();
    for (const end of [this, this.peer]) end.endByPeer(reason);
  }

  /** Closed, with nothing of this end's still in flight. */
  private settled(): boolean {
    return this.closed && this.inFlight.size === 0;
  }

  /** Drops what is in flight and resumes the senders waiting on the link. */
  private fail(): void {
    this.closed = true;
    const clock = this.link.clock;
    for (const id of this.inFlight) clock.cancel(id);
    this.inFlight.clear();
    for (const [id, resume] of this.sendWaits) {
      clock.cancel(id);
      clock.at(clock.now(), resume);
    }
    this.sendWaits.clear();
  }

  private deliver(atNs: number, fn: () => void): void {
    const id = this.link.clock.at(atNs, () => {
      this.inFlight.delete(id);
      fn();
    });
    this.inFlight.add(id);
  }

  private receive(chunk: Uint8Array): void {
    if (this.closed) return;
    for (const l of this.dataListeners) l(chunk);
  }

  /** The channel ended for this end (the peer's orderly close, or a failure): tell the listeners once. */
  private endByPeer(reason: string | null): void {
    this.closed = true;
    // An end that closed itself hears no orderly close back; a failure it does hear.
    if (this.told || (reason === null && this.closedBySelf)) return;
    this.told = true;
    const clock = this.link.clock;
    // Listeners run inside an engine event, never inside the caller of abort().
    clock.at(clock.now(), () => {
      for (const l of this.closeListeners) l(reason);
    });
  }
}

function resumeNow(clock: Dom0Clock): Wait<void> {
  return (resume) => {
    const id = clock.at(clock.now(), () => resume(undefined));
    return () => clock.cancel(id);
  };
}

/**
 * Two connected ends of a link in virtual time. A chunk occupies the sender's direction for
 * bytes / bandwidth after the chunks before it; its send() Wait resumes when it has left the
 * sender, and the peer's data listeners get it `latencyNs` later. Deterministic: every step is an
 * event on `clock`.
 */
export function simLink(clock: Dom0Clock, o: SimLinkOptions): [MigrationChannel, MigrationChannel] {
  if (!(o.bytesPerSecond > 0) || !Number.isFinite(o.bytesPerSecond))
    throw new RangeError(`link bandwidth must be > 0 bytes/s, got ${o.bytesPerSecond}`);
  if (!(o.latencyNs >= 0) || !Number.isInteger(o.latencyNs))
    throw new RangeError(`link latency must be a whole number of ns >= 0, got ${o.latencyNs}`);
  const link: LinkState = {
    clock,
    nsPerByte: NS_PER_SEC / o.bytesPerSecond,
    latencyNs: o.latencyNs,
    failed: null,
  };
  const a = new SimLinkEnd(link);
  const b = new SimLinkEnd(link);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
