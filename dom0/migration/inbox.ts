// The receiving half of a migration channel as toolstack ops see it (libxl's libxl__datacopier and
// read_exactly in xl_utils.c): incoming bytes are buffered and an op waits for an exact message,
// a NUL-terminated string, or the next chunk, each with a timeout, and learns when the peer went away.

import type { Dom0Clock } from '../toolstack/platform.js';
import type { Wait } from '../toolstack/task.js';
import type { MigrationChannel } from './types.js';

export type InboxResult<T> = { ok: true; value: T } | { ok: false; error: string };

export class ChannelInbox {
  private readonly chunks: Uint8Array[] = [];
  private buffered = 0;
  private endReason: string | null | undefined = undefined;
  private notify: (() => void) | null = null;
  private readonly clock: Dom0Clock;

  constructor(channel: MigrationChannel, clock: Dom0Clock) {
    this.clock = clock;
    channel.onData((c) => {
      if (c.length === 0) return;
      this.chunks.push(c);
      this.buffered += c.length;
      this.wake();
    });
    channel.onClose((reason) => {
      this.endReason = reason ?? 'connection closed by the peer';
      this.wake();
    });
  }

  /** Bytes waiting to be read. */
  get available(): number {
    return this.buffered;
  }

  /** Why the channel ended, or undefined while it is open. */
  get ended(): string | undefined {
    return this.endReason === undefined ? undefined : (this.endReason ?? 'closed');
  }

  /** Takes every buffered chunk (the stream reader's input). */
  drain(): Uint8Array[] {
    const out = this.chunks.splice(0);
    this.buffered = 0;
    return out;
  }

  /** Takes exactly `n` buffered bytes (the caller checked `available`). */
  take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0] as Uint8Array;
      const k = Math.min(c.length, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }

  /** Resumes when more data arrives or the channel ends (or after `timeoutNs`: value false). */
  more(timeoutNs: number): Wait<boolean> {
    return (resume) => {
      if (this.buffered > 0 || this.endReason !== undefined) {
        resume(true);
        return () => undefined;
      }
      const timer = this.clock.at(this.clock.now() + timeoutNs, () => {
        this.notify = null;
        resume(false);
      });
      this.notify = () => {
        this.clock.cancel(timer);
        resume(true);
      };
      return () => {
        this.notify = null;
        this.clock.cancel(timer);
      };
    };
  }

  private wake(): void {
    const n = this.notify;
    this.notify = null;
    n?.();
  }
}

/** Reads exactly `expected` from the inbox: ok, or why not (other bytes, closed, timed out). */
export function* expectMessage(
  inbox: ChannelInbox,
  expected: Uint8Array,
  what: string,
  timeoutNs: number,
): Generator<Wait, InboxResult<void>, unknown> {
  const got = yield* readExactly(inbox, expected.length, what, timeoutNs);
  if (!got.ok) return got;
  for (let i = 0; i < expected.length; i++)
    if (got.value[i] !== expected[i])
      return { ok: false, error: `${what}: unexpected reply ${printable(got.value)}` };
  return { ok: true, value: undefined };
}

/** Reads exactly `n` bytes. */
export function* readExactly(
  inbox: ChannelInbox,
  n: number,
  what: string,
  timeoutNs: number,
): Generator<Wait, InboxResult<Uint8Array>, unknown> {
  while (inbox.available < n) {
    const ended = inbox.ended;
    if (ended !== undefined)
      return { ok: false, error: `${what}: ${ended} (got ${inbox.available} of ${n} bytes)` };
    const more = (yield inbox.more(timeoutNs)) as boolean;
    if (!more) return { ok: false, error: `${what}: timed out` };
  }
  return { ok: true, value: inbox.take(n) };
}

/** Reads a NUL-terminated string of at most `max` bytes (the NUL is consumed). */
export function* readCString(
  inbox: ChannelInbox,
  max: number,
  what: string,
  timeoutNs: number,
): Generator<Wait, InboxResult<string>, unknown> {
  const bytes: number[] = [];
  for (;;) {
    const b = yield* readExactly(inbox, 1, what, timeoutNs);
    if (!b.ok) return b;
    const c = b.value[0] as number;
    if (c === 0) return { ok: true, value: new TextDecoder().decode(new Uint8Array(bytes)) };
    if (bytes.length >= max) return { ok: false, error: `${what}: message too long` };
    bytes.push(c);
  }
}

function printable(b: Uint8Array): string {
  const s = new TextDecoder().decode(b.subarray(0, 64));
  return JSON.stringify(s);
}
