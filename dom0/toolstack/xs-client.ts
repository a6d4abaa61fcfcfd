// The toolstack's xenstore client (tools/libs/store/xs.c): typed requests over a privileged
// connection, transactions retried on EAGAIN, and watch dispatch by token.

import {
  XS_DIRECTORY,
  XS_ERROR,
  XS_GET_PERMS,
  XS_INTRODUCE,
  XS_MKDIR,
  XS_READ,
  XS_RELEASE,
  XS_RESUME,
  XS_RM,
  XS_SET_PERMS,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_UNWATCH,
  XS_WATCH,
  XS_WRITE,
  splitXsStrings,
} from '../../hypercalls/io/xs-wire.js';
import type { XenstoreConnection } from './platform.js';

/** `error` is an xsd_errors name (XsdError) for store errors. */
export type XsResult<T> = { ok: true; value: T } | { ok: false; error: string };

const enc = new TextEncoder();
const dec = new TextDecoder();

function payload(...parts: (string | Uint8Array)[]): Uint8Array {
  const bufs = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p));
  const out = new Uint8Array(bufs.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of bufs) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

const z = (s: string): string => `${s}\0`;

export type WatchCallback = (path: string) => void;

/** A permission list in xenstore's string form: first entry owner + default ("n0", "r5", "b3"). */
export type XsPerms = readonly string[];

export class XsClient {
  private readonly conn: XenstoreConnection;
  private readonly watches = new Map<string, WatchCallback>();
  private reqId = 0;
  private nextToken = 1;

  constructor(conn: XenstoreConnection) {
    this.conn = conn;
    conn.onWatchEvent((m) => {
      const [path, token] = splitXsStrings(m.payload);
      if (path === undefined || token === undefined) return;
      this.watches.get(token)?.(path);
    });
  }

  private call(type: number, body: Uint8Array, tx = 0): XsResult<Uint8Array> {
    const r = this.conn.request({ type, reqId: this.reqId++ >>> 0, txId: tx, payload: body });
    if (r.type === XS_ERROR) {
      const e = dec.decode(r.payload).replace(/\0.*$/s, '');
      return { ok: false, error: e };
    }
    return { ok: true, value: r.payload };
  }

  private okOnly(type: number, body: Uint8Array, tx: number): XsResult<void> {
    const r = this.call(type, body, tx);
    return r.ok ? { ok: true, value: undefined } : r;
  }

  /** The value, or undefined when the node does not exist (any error reads as absent). */
  read(path: string, tx = 0): string | undefined {
    const r = this.call(XS_READ, payload(z(path)), tx);
    return r.ok ? dec.decode(r.value) : undefined;
  }

  readResult(path: string, tx = 0): XsResult<string> {
    const r = this.call(XS_READ, payload(z(path)), tx);
    return r.ok ? { ok: true, value: dec.decode(r.value) } : r;
  }

  write(path: string, value: string, tx = 0): XsResult<void> {
    return this.okOnly(XS_WRITE, payload(z(path), value), tx);
  }

  mkdir(path: string, tx = 0): XsResult<void> {
    return this.okOnly(XS_MKDIR, payload(z(path)), tx);
  }

  rm(path: string, tx = 0): XsResult<void> {
    return this.okOnly(XS_RM, payload(z(path)), tx);
  }

  setPerms(path: string, perms: XsPerms, tx = 0): XsResult<void> {
    return this.okOnly(XS_SET_PERMS, payload(z(path), ...perms.map(z)), tx);
  }

  getPerms(path: string, tx = 0): XsResult<string[]> {
    const r = this.call(XS_GET_PERMS, payload(z(path)), tx);
    return r.ok ? { ok: true, value: splitXsStrings(r.value) } : r;
  }

  directory(path: string, tx = 0): string[] {
    const r = this.call(XS_DIRECTORY, payload(z(path)), tx);
    return r.ok ? splitXsStrings(r.value) : [];
  }

  exists(path: string, tx = 0): boolean {
    return this.call(XS_READ, payload(z(path)), tx).ok;
  }

  transactionStart(): XsResult<number> {
    const r = this.call(XS_TRANSACTION_START, payload(z('')));
    if (!r.ok) return r;
    return { ok: true, value: Number.parseInt(dec.decode(r.value), 10) };
  }

  transactionEnd(tx: number, commit: boolean): XsResult<void> {
    return this.okOnly(XS_TRANSACTION_END, payload(z(commit ? 'T' : 'F')), tx);
  }

  /**
   * Runs `body` in a transaction, retrying from scratch on EAGAIN (as libxl's
   * libxl__xs_transaction_commit loop). An error from `body` aborts the transaction.
   */
  transact(body: (tx: number) => XsResult<void>): XsResult<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const t = this.transactionStart();
      if (!t.ok) return t;
      const r = body(t.value);
      if (!r.ok) {
        this.transactionEnd(t.value, false);
        return r;
      }
      const e = this.transactionEnd(t.value, true);
      if (e.ok || e.error !== 'EAGAIN') return e;
    }
    return { ok: false, error: 'EAGAIN' };
  }

  /** Registers a watch; the callback gets each event path (the immediate first event included). */
  watch(path: string, cb: WatchCallback): XsResult<string> {
    const token = `ts${this.nextToken++}`;
    this.watches.set(token, cb);
    const r = this.okOnly(XS_WATCH, payload(z(path), z(token)), 0);
    if (!r.ok) {
      this.watches.delete(token);
      return r;
    }
    return { ok: true, value: token };
  }

  unwatch(path: string, token: string): void {
    if (!this.watches.delete(token)) return;
    this.call(XS_UNWATCH, payload(z(path), z(token)));
  }

  introduce(domid: number, storeMfn: number, storePort: number): XsResult<void> {
    return this.okOnly(
      XS_INTRODUCE,
      payload(z(String(domid)), z(String(storeMfn)), z(String(storePort))),
      0,
    );
  }

  release(domid: number): XsResult<void> {
    return this.okOnly(XS_RELEASE, payload(z(String(domid))), 0);
  }

  resume(domid: number): XsResult<void> {
    return this.okOnly(XS_RESUME, payload(z(String(domid))), 0);
  }
}
