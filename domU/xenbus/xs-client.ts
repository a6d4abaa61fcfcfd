// The guest's xenbus client (Linux drivers/xen/xenbus/xenbus_xs.c and xenbus_comms.c): requests
// framed per xs_wire.h and queued onto the ring, replies matched by req_id, watch events handed to
// the xenwatch thread, transactions retried from the start on EAGAIN. Calls are generator functions
// that block the calling kernel thread until the reply arrives; replies are parsed, never trusted.

import {
  XENSTORE_PAYLOAD_MAX,
  XSD_ERRORS,
  XSD_SOCKMSG_SIZE,
  XS_DIRECTORY,
  XS_ERROR,
  XS_MKDIR,
  XS_READ,
  XS_RM,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_UNWATCH,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
  decodeXsHeader,
  encodeXsMessage,
  type XsdError,
} from '../../hypercalls/io/xs-wire.js';
import { waitUntil, type KThread } from '../kthread.js';
import type { GuestPage } from '../platform.js';
import { xsRingRead, xsRingWrite } from './xs-ring.js';

export type XsResult<T> = { ok: true; value: T } | { ok: false; error: XsdError; detail?: string };

const utf8 = new TextEncoder();
const utf8Dec = new TextDecoder('utf-8', { fatal: false });
const xsOk = <T>(value: T): XsResult<T> => ({ ok: true, value });
const xsErr = (
  error: XsdError,
  detail?: string,
): { ok: false; error: XsdError; detail?: string } =>
  detail === undefined ? { ok: false, error } : { ok: false, error, detail };

/** Concatenated NUL-terminated strings, then optionally raw bytes (WRITE's value). */
function payloadOf(strings: readonly string[], tail?: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = strings.map((s) => utf8.encode(s + '\0'));
  if (tail) parts.push(tail);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Splits at NULs, dropping the empty piece after a trailing NUL. */
function splitNul(payload: Uint8Array): string[] {
  const text = utf8Dec.decode(payload);
  const parts = text.split('\0');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export type WatchCallback = (path: string, token: string) => KThread;

interface Pending {
  readonly type: number;
  reply: XsResult<Uint8Array> | undefined;
}

export interface XenbusTransport {
  readonly page: GuestPage;
  /** EVTCHNOP_send on the store port. */
  notify(): void;
}

/** Read/write operations, either outside a transaction (txId 0) or inside one. */
export abstract class XsOps {
  abstract readonly txId: number;
  abstract request(type: number, payload: Uint8Array, txId: number): KThread<XsResult<Uint8Array>>;

  *read(path: string): KThread<XsResult<string>> {
    const r = yield* this.request(XS_READ, payloadOf([path]), this.txId);
    return r.ok ? xsOk(utf8Dec.decode(r.value)) : r;
  }

  *write(path: string, value: string): KThread<XsResult<undefined>> {
    return okOnly(yield* this.request(XS_WRITE, payloadOf([path], utf8.encode(value)), this.txId));
  }

  *mkdir(path: string): KThread<XsResult<undefined>> {
    return okOnly(yield* this.request(XS_MKDIR, payloadOf([path]), this.txId));
  }

  *rm(path: string): KThread<XsResult<undefined>> {
    return okOnly(yield* this.request(XS_RM, payloadOf([path]), this.txId));
  }

  /** Children's names (leaf names, in the order xenstored gives them). */
  *directory(path: string): KThread<XsResult<string[]>> {
    const r = yield* this.request(XS_DIRECTORY, payloadOf([path]), this.txId);
    return r.ok ? xsOk(splitNul(r.value)) : r;
  }

  /** xenbus_read_unsigned-like helper: the node parsed as an integer, or `fallback`. */
  *readInt(path: string, fallback: number): KThread<number> {
    const r = yield* this.read(path);
    if (!r.ok || !/^-?[0-9]+$/.test(r.value.trim())) return fallback;
    return Number(r.value.trim());
  }
}

const okOnly = (r: XsResult<Uint8Array>): XsResult<undefined> => (r.ok ? xsOk(undefined) : r);

/** The operations of one transaction: every request carries its tx_id. */
class TxOps extends XsOps {
  readonly txId: number;
  private readonly client: XenbusClient;

  constructor(client: XenbusClient, txId: number) {
    super();
    this.client = client;
    this.txId = txId;
  }

  request(type: number, payload: Uint8Array, txId: number): KThread<XsResult<Uint8Array>> {
    return this.client.request(type, payload, txId);
  }
}

/** Why a transaction body gave up: its result goes back to the caller, the transaction is aborted. */
export type TxBody<T> = (tx: XsOps) => KThread<XsResult<T>>;

export class XenbusClient extends XsOps {
  readonly txId = 0;
  private transport: XenbusTransport;
  private nextReqId = 1;
  private nextToken = 1;
  private readonly pending = new Map<number, Pending>();
  private outQueue: Uint8Array[] = [];
  private inBuf = new Uint8Array(0);
  private readonly watches = new Map<string, { path: string; cb: WatchCallback }>();
  private readonly events: { path: string; token: string }[] = [];
  private suspended = false;
  /** Ring indices went bad: every request fails with EIO until a resume. */
  private broken: string | null = null;
  /** Protocol problems seen (garbage replies, unknown req_ids, unknown tokens), newest last. */
  readonly errors: string[] = [];
  /** How many transaction attempts ended in EAGAIN and were retried. */
  txRetries = 0;

  constructor(transport: XenbusTransport) {
    super();
    this.transport = transport;
  }

  get outstanding(): number {
    return this.pending.size;
  }

  /** Sends one message and blocks this thread until its reply (or a parse error) comes back. */
  *request(type: number, payload: Uint8Array, txId: number): KThread<XsResult<Uint8Array>> {
    yield* waitUntil(() => !this.suspended);
    if (this.broken !== null) return xsErr('EIO', this.broken);
    if (payload.length > XENSTORE_PAYLOAD_MAX) return xsErr('E2BIG');
    const reqId = this.nextReqId;
    this.nextReqId = (this.nextReqId + 1) >>> 0 || 1;
    const p: Pending = { type, reply: undefined };
    this.pending.set(reqId, p);
    this.outQueue.push(encodeXsMessage({ type, reqId, txId, payload }));
    this.pump();
    yield* waitUntil(() => p.reply !== undefined);
    this.pending.delete(reqId);
    return p.reply ?? xsErr('EIO');
  }

  /** The store port's handler (upcall context): push queued bytes, take replies, push again. */
  onEvent(): void {
    this.pump();
    this.receive();
    this.pump();
  }

  /** Moves queued request bytes into the ring (in pieces when it is full) and notifies. */
  private pump(): void {
    if (this.broken !== null) return;
    let moved = false;
    while (this.outQueue.length > 0) {
      const head = this.outQueue[0] as Uint8Array;
      const r = xsRingWrite(this.transport.page, head);
      if (!r.ok) return this.breakConnection(r.error);
      if (r.value > 0) moved = true;
      if (r.value < head.length) {
        this.outQueue[0] = head.subarray(r.value);
        break;
      }
      this.outQueue.shift();
    }
    if (moved) this.transport.notify();
  }

  private receive(): void {
    if (this.broken !== null) return;
    const r = xsRingRead(this.transport.page);
    if (!r.ok) return this.breakConnection(r.error);
    if (r.value.length === 0) return;
    this.transport.notify();
    const buf = new Uint8Array(this.inBuf.length + r.value.length);
    buf.set(this.inBuf);
    buf.set(r.value, this.inBuf.length);
    let off = 0;
    for (;;) {
      const h = decodeXsHeader(buf, off);
      if (!h) break;
      if (h.len > XENSTORE_PAYLOAD_MAX) {
        // process_msg's -EINVAL: drop the header and read on (Linux does the same), failing its request.
        this.fail(
          h.reqId,
          `reply to req_id ${h.reqId} announces ${h.len} bytes > ${XENSTORE_PAYLOAD_MAX}`,
        );
        off += XSD_SOCKMSG_SIZE;
        continue;
      }
      const end = off + XSD_SOCKMSG_SIZE + h.len;
      if (end > buf.length) break;
      this.deliver(h.type, h.reqId, buf.slice(off + XSD_SOCKMSG_SIZE, end));
      off = end;
    }
    this.inBuf = buf.slice(off);
  }

  private deliver(type: number, reqId: number, payload: Uint8Array): void {
    if (type === XS_WATCH_EVENT) {
      const [path, token] = splitNul(payload);
      if (path === undefined || token === undefined) {
        this.errors.push('watch event without path and token');
      } else if (this.watches.has(token)) {
        this.events.push({ path, token });
      } else {
        this.errors.push(`watch event for unknown token ${JSON.stringify(token)}`);
      }
      return;
    }
    const p = this.pending.get(reqId);
    if (!p || p.reply !== undefined) {
      this.errors.push(`reply with unknown req_id ${reqId} dropped`);
      return;
    }
    if (type === XS_ERROR) {
      const name = splitNul(payload)[0] ?? '';
      // get_error: an unknown name is EINVAL.
      p.reply = (XSD_ERRORS as readonly string[]).includes(name)
        ? xsErr(name as XsdError)
        : xsErr('EINVAL', `unknown error ${JSON.stringify(name.slice(0, 16))}`);
    } else if (type !== p.type) {
      this.errors.push(`reply type ${type} to a request of type ${p.type}`);
      p.reply = xsErr('EIO', `reply type ${type} to a request of type ${p.type}`);
    } else {
      p.reply = xsOk(payload);
    }
  }

  private fail(reqId: number, why: string): void {
    this.errors.push(why);
    const p = this.pending.get(reqId);
    if (p && p.reply === undefined) p.reply = xsErr('EIO', why);
  }

  private breakConnection(why: string): void {
    this.broken = why;
    this.errors.push(why);
    for (const p of this.pending.values()) if (p.reply === undefined) p.reply = xsErr('EIO', why);
    this.outQueue = [];
  }

  /** XS_WATCH with a fresh token; `cb` runs on the xenwatch thread, the first time right after registration. */
  *watch(path: string, cb: WatchCallback): KThread<XsResult<string>> {
    const token = (this.nextToken++).toString(16).toUpperCase().padStart(16, '0');
    // Registered before the request: the immediate event may arrive in the same batch as the reply.
    this.watches.set(token, { path, cb });
    const r = yield* this.request(XS_WATCH, payloadOf([path, token]), 0);
    if (!r.ok) {
      this.watches.delete(token);
      return r;
    }
    return xsOk(token);
  }

  /** XS_UNWATCH; queued events of the watch are dropped. */
  *unwatch(token: string): KThread<XsResult<undefined>> {
    const w = this.watches.get(token);
    if (!w) return xsErr('ENOENT');
    this.watches.delete(token);
    for (let i = this.events.length - 1; i >= 0; i--)
      if (this.events[i]?.token === token) this.events.splice(i, 1);
    return okOnly(yield* this.request(XS_UNWATCH, payloadOf([w.path, token]), 0));
  }

  /**
   * Runs `body` in a transaction and commits; on EAGAIN (from the commit, or from the body) the whole
   * body runs again in a new transaction, as every xenbus caller loops. A body error aborts.
   */
  *transaction<T>(body: TxBody<T>, maxAttempts = 64): KThread<XsResult<T>> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const start = yield* this.request(XS_TRANSACTION_START, payloadOf(['']), 0);
      if (!start.ok) return start;
      const idText = splitNul(start.value)[0] ?? '';
      if (!/^[0-9]{1,10}$/.test(idText) || Number(idText) === 0 || Number(idText) > 0xffffffff) {
        return xsErr('EIO', `transaction id ${JSON.stringify(idText.slice(0, 16))}`);
      }
      const tx = new TxOps(this, Number(idText));
      const r = yield* body(tx);
      const end = yield* this.request(XS_TRANSACTION_END, payloadOf([r.ok ? 'T' : 'F']), tx.txId);
      if (r.ok && end.ok) return r;
      const again = r.ok ? !end.ok && end.error === 'EAGAIN' : r.error === 'EAGAIN';
      if (!again) return r.ok ? (end as { ok: false; error: XsdError }) : r;
      this.txRetries++;
    }
    return xsErr('EAGAIN');
  }

  /** The xenwatch thread: runs watch callbacks one at a time, in arrival order. */
  *xenwatch(): KThread<never> {
    for (;;) {
      yield* waitUntil(() => this.events.length > 0);
      const ev = this.events.shift();
      if (!ev) continue;
      const w = this.watches.get(ev.token);
      if (!w) continue;
      try {
        yield* w.cb(ev.path, ev.token);
      } catch (e) {
        this.errors.push(`watch ${w.path}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  get queuedWatchEvents(): number {
    return this.events.length;
  }

  /** xs_suspend: stop new requests, then wait until every outstanding one has its reply. */
  *suspend(): KThread {
    this.suspended = true;
    yield* waitUntil(() => this.pending.size === 0 && this.outQueue.length === 0);
  }

  /** xs_suspend_cancel: the same connection goes on. */
  suspendCancel(): void {
    this.suspended = false;
  }

  /**
   * xs_resume in a new domain: a new ring connection (possibly a new page and port), nothing half
   * read, and every watch registered again (its callback fires once more, as a new registration does).
   */
  *resume(transport: XenbusTransport): KThread {
    this.transport = transport;
    this.inBuf = new Uint8Array(0);
    this.outQueue = [];
    this.broken = null;
    this.suspended = false;
    for (const [token, w] of [...this.watches]) {
      yield* this.request(XS_WATCH, payloadOf([w.path, token]), 0);
    }
  }
}
