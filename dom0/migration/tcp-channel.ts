// A migration channel over a TCP socket between two host daemons (the transport xl's
// `ssh <host> xl migrate-receive` pipe provides in tools/xl/xl_migrate.c; reference 10.4): writes
// pace the sender to the socket, and everything the socket reports enters as engine events.

import type * as net from 'node:net';
import type { Dom0Clock } from '../toolstack/platform.js';
import type { Wait } from '../toolstack/task.js';
import type { ArenaReads } from './arena-socket.js';
import type { MigrationChannel } from './types.js';

/** Sees the bytes as they pass (the xl progress display follows the handshake with it). */
export interface ChannelTap {
  /** Bytes handed to send(), before they are written. */
  outgoing?(bytes: Uint8Array): void;
  /** Bytes from the peer, inside the engine event that delivers them, before the listeners. */
  incoming?(chunk: Uint8Array): void;
}

export interface TcpChannelOptions {
  /** The toolstack's clock: listeners and resumptions run as events on it. */
  readonly clock: Dom0Clock;
  /**
   * Asks the paced runner to run due events soon. The socket's callbacks come from host I/O and
   * only queue engine events; without a kick they wait for the daemon's next tick.
   */
  readonly kick?: () => void;
  /**
   * Runs due engine events at once, from the socket callback itself (MigrationHost.runNow): a read
   * is handled while its bytes are still in the cache, a flushed write refilled without a host turn
   * in between. Without it, `kick`.
   */
  readonly runNow?: () => void;
  /** Bytes already read from the socket (after the authentication message). */
  readonly initial?: Uint8Array;
  readonly tap?: ChannelTap;
  /**
   * The socket's reads land in a RecvArena (arena-socket.ts adoptAccepted): chunks are views of
   * reusable memory, valid until the consumer calls `release`.
   */
  readonly reads?: ArenaReads | null;
}

/** Writes shorter than this are corked and go out together at the end of the turn. */
const SMALL_WRITE_BYTES = 64 * 1024;
/** A sender may run this far ahead of the socket (bytes written but not yet in the kernel). */
const WRITE_AHEAD_BYTES = 8 * 1024 * 1024;
/** How long an aborted connection waits for the peer to close its half. */
const ABORT_LINGER_MS = 10_000;
/** Stop reading while this much received data waits for its engine event. */
const MAX_UNDELIVERED_BYTES = 32 * 1024 * 1024;

type CloseState = { reason: string | null } | undefined;

function describeSocketError(e: NodeJS.ErrnoException): string {
  if (e.code === 'ECONNRESET') return 'migration connection reset by the peer';
  if (e.code === 'EPIPE') return 'migration connection broken (EPIPE)';
  return `migration connection failed: ${e.message}`;
}

/** Writes at least this big are kept for reuse once flushed (PAGE_DATA records). */
const RECYCLE_MIN_BYTES = 1 << 20;
/**
 * Large writes whose completion has not been reported yet. A write the kernel takes at once still
 * reports on the next tick, so a sender that ran on would need a fresh buffer for every record
 * until then (measured: ~60 new 4 MiB buffers per GiB, each zero-filled into fresh pages); it
 * waits instead, and its buffers come back for reuse.
 */
const MAX_PENDING_BIG = 4;
/** How many flushed buffers wait for reuse: enough that a sender below MAX_PENDING_BIG finds one. */
const RECYCLE_KEEP = MAX_PENDING_BIG + 1;

/** The most one engine event hands to the listeners before the socket is read again (4 MiB
 * measured best for a migration stream: 0.9 s per GiB against 1.25 s at 1 MiB, 1.05 s unbounded). */
const DELIVER_SLICE_BYTES = 4 << 20;

export class TcpChannel implements MigrationChannel {
  private readonly socket: net.Socket;
  private readonly clock: Dom0Clock;
  private readonly kick: () => void;
  private readonly runNow: () => void;
  private readonly tap: ChannelTap | undefined;
  private readonly dataListeners: ((chunk: Uint8Array) => void)[] = [];
  private readonly closeListeners: ((reason: string | null) => void)[] = [];
  private readonly drainWaiters = new Set<() => void>();
  private inbound: Uint8Array[] = [];
  private inboundBytes = 0;
  private deliveryQueued = false;
  private readPaused = false;
  private readonly free: Uint8Array[] = [];
  /** Large writes not reported flushed yet (MAX_PENDING_BIG). */
  private pendingBig = 0;
  private readonly reads: ArenaReads | null;
  /** Arena chunks handed to the listeners and not released yet. */
  private delivered: Uint8Array[] = [];
  /** How the channel ended, once it has (reported to listeners after the data before it). */
  private ending: CloseState = undefined;
  private closeReported = false;
  private corked = false;
  private isClosed = false;
  private sent = 0;

  constructor(socket: net.Socket, opts: TcpChannelOptions) {
    this.socket = socket;
    this.clock = opts.clock;
    this.kick = opts.kick ?? (() => undefined);
    this.runNow = opts.runNow ?? this.kick;
    this.tap = opts.tap;
    this.reads = opts.reads ?? null;
    socket.setNoDelay(true);
    // Not run at once: the caller has yet to add its listeners.
    if (opts.initial !== undefined && opts.initial.length > 0) this.receive(opts.initial, false);
    if (this.reads) this.reads.sink((chunk) => this.receive(chunk));
    else socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => this.ended(null));
    socket.on('error', (e: NodeJS.ErrnoException) => this.ended(describeSocketError(e)));
    socket.on('close', (hadError: boolean) => {
      this.ended(hadError ? 'migration connection lost' : null);
      this.wakeWriters();
    });
    socket.resume();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get bytesSent(): number {
    return this.sent;
  }

  send(bytes: Uint8Array): Wait<void> {
    return (resume) => {
      if (this.isClosed || this.socket.destroyed || !this.socket.writable) {
        resume(undefined);
        return () => undefined;
      }
      this.tap?.outgoing?.(bytes);
      this.sent += bytes.length;
      if (bytes.length < SMALL_WRITE_BYTES) this.corkForThisTurn();
      if (bytes.length >= RECYCLE_MIN_BYTES) {
        this.pendingBig++;
        this.socket.write(bytes, () => this.flushedBig(bytes));
      } else this.socket.write(bytes, this.onFlushed);
      if (this.mayWriteMore()) {
        resume(undefined);
        return () => undefined;
      }
      // Enough is queued: go on once the socket has flushed some of it to the kernel.
      const waiter = (): void => {
        this.drainWaiters.delete(waiter);
        this.clock.at(this.clock.now(), () => resume(undefined));
        this.runNow();
      };
      this.drainWaiters.add(waiter);
      return () => void this.drainWaiters.delete(waiter);
    };
  }

  /** A flushed buffer of exactly `bytes` bytes to fill again, if one waits for reuse. */
  recycled(bytes: number): Uint8Array | null {
    const i = this.free.findIndex((b) => b.length === bytes);
    return i < 0 ? null : (this.free.splice(i, 1)[0] ?? null);
  }

  /** A large write reached the kernel: its buffer may be handed out again by `recycled`. */
  private flushedBig(bytes: Uint8Array): void {
    this.pendingBig--;
    if (this.free.length < RECYCLE_KEEP) this.free.push(bytes);
    this.onFlushed();
  }

  /**
   * At most WRITE_AHEAD_BYTES wait for the kernel, and fewer than MAX_PENDING_BIG large writes are
   * unreported.
   */
  private mayWriteMore(): boolean {
    return this.socket.writableLength <= WRITE_AHEAD_BYTES && this.pendingBig < MAX_PENDING_BIG;
  }

  /**
   * A write reached the kernel. Waking writers here rather than on 'drain' (an empty buffer)
   * keeps data queued while the sender makes its next batch, so the link never idles.
   */
  private readonly onFlushed = (): void => {
    if (this.drainWaiters.size > 0 && this.mayWriteMore()) this.wakeWriters();
  };

  onData(listener: (chunk: Uint8Array) => void): void {
    this.dataListeners.push(listener);
  }

  /** The listeners hold no delivered chunk any more: arena reads may reuse their memory. */
  release(): void {
    const arena = this.reads?.arena;
    if (!arena) return;
    for (const c of this.delivered) arena.release(c);
    this.delivered = [];
  }

  onClose(listener: (reason: string | null) => void): void {
    this.closeListeners.push(listener);
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    // Our own close is not reported to our listeners: only what the peer does is.
    this.closeReported = true;
    this.socket.end();
    this.wakeWriters();
  }

  /**
   * DEVIATION(sim-link): TCP cannot carry the reason, and a reset would discard what this end
   * wrote just before (a receiver's "reservation failed: <why>"). So the bytes already sent are
   * flushed and the connection ends; the peer then sees it close before the handshake finished,
   * which its half treats as the failure it is. This end's listeners get `reason`.
   */
  abort(reason: string): void {
    this.isClosed = true;
    if (!this.socket.destroyed) {
      this.socket.end();
      // A peer that never closes its half must not hold the socket.
      setTimeout(() => this.socket.destroy(), ABORT_LINGER_MS).unref();
    }
    this.wakeWriters();
    if (this.closeReported) return;
    this.dropInbound();
    this.ending = { reason };
    this.queueDelivery();
  }

  /** Small writes of one turn of the event loop leave in one segment (socket.cork/uncork). */
  private corkForThisTurn(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  private receive(chunk: Uint8Array, now = true): void {
    if (this.ending !== undefined || chunk.length === 0) {
      this.reads?.arena.release(chunk);
      return;
    }
    this.inbound.push(chunk);
    this.inboundBytes += chunk.length;
    if (this.inboundBytes > MAX_UNDELIVERED_BYTES && !this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    }
    this.queueDelivery(now);
  }

  private ended(reason: string | null): void {
    if (this.ending !== undefined) return;
    this.isClosed = true;
    this.ending = { reason };
    this.queueDelivery();
  }

  private queueDelivery(now = true): void {
    if (this.deliveryQueued) return;
    this.deliveryQueued = true;
    this.clock.at(this.clock.now(), () => this.deliver());
    if (now) this.runNow();
    else this.kick();
  }

  /**
   * One engine event: the chunks received since the last one, in order (at most about 4 MiB), then
   * the end if any. The rest waits for the next host turn, so the socket keeps being read while the
   * engine works through a stream: the peer's sending overlaps our processing instead of stalling
   * on a full socket buffer.
   */
  private deliver(): void {
    this.deliveryQueued = false;
    let n = 0;
    let bytes = 0;
    while (n < this.inbound.length && bytes < DELIVER_SLICE_BYTES)
      bytes += (this.inbound[n++] as Buffer).length;
    const chunks = this.inbound.splice(0, n);
    this.inboundBytes -= bytes;
    for (const c of chunks) {
      // Held from now until the consumer releases what it was given.
      if (this.reads) this.delivered.push(c);
      this.tap?.incoming?.(c);
      for (const l of this.dataListeners) l(c);
    }
    if (this.inbound.length > 0) {
      setImmediate(() => this.queueDelivery());
      return;
    }
    if (this.readPaused && this.ending === undefined) {
      this.readPaused = false;
      this.socket.resume();
    }
    if (this.ending !== undefined && !this.closeReported) {
      this.closeReported = true;
      const { reason } = this.ending;
      for (const l of this.closeListeners) l(reason);
    }
  }

  /** Received data nobody will see (the channel was aborted). */
  private dropInbound(): void {
    for (const c of this.inbound) this.reads?.arena.release(c);
    this.inbound = [];
    this.inboundBytes = 0;
  }

  private wakeWriters(): void {
    for (const w of [...this.drainWaiters]) w();
  }
}
