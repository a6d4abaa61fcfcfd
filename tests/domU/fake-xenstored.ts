// A scripted xenstored for domU tests: the other end of the guest's xenstore ring page. It takes
// request bytes from the req ring as they come (reassembling split messages), answers from a small
// in-memory tree with watches and transactions, and writes replies into the rsp ring, at most
// `rspChunk` bytes per tick so replies also arrive split. Tests can override or inject replies.

import {
  MASK_XENSTORE_IDX,
  XENSTORE_RING_SIZE,
  XS_RING_REQ_OFFSET,
  XS_RING_RSP_OFFSET,
  xsRing,
} from '../../hypercalls/io/xenstore-ring.js';
import {
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
  decodeXsMessage,
  encodeXsMessage,
  splitXsStrings,
  type XsMessage,
} from '../../hypercalls/io/xs-wire.js';
import { STORE_PFN, STORE_PORT, type FakeMemory } from './fake-xen.js';

/** What the fake needs of its world: the guest's pages, a way to notify it, a place to run. */
export interface XenstoredWorld {
  readonly memory: FakeMemory;
  raise(port: number): void;
  readonly tickers: (() => void)[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const strs = (...p: string[]): Uint8Array => enc.encode(p.map((s) => s + '\0').join(''));

export class FakeXenstored {
  readonly xen: XenstoredWorld;
  readonly home = '/local/domain/5';
  readonly store = new Map<string, string>();
  readonly watches: { path: string; token: string }[] = [];
  /** Every request seen, in order. */
  readonly requests: XsMessage[] = [];
  /** Commits that answer EAGAIN before one succeeds. */
  failCommits = 0;
  rspChunk = 1024;
  /** Return replies (whole encoded messages) to answer a request yourself; undefined = default. */
  intercept: ((m: XsMessage) => Uint8Array[] | undefined) | null = null;
  private inBuf = new Uint8Array(0);
  private out: number[] = [];
  private txs = new Map<number, Map<string, string>>();
  private nextTx = 1;
  /** Largest number of request bytes seen in the ring at once (to check split writes). */
  maxReqChunk = 0;
  reqChunks = 0;

  constructor(xen: XenstoredWorld, startIndex = 0) {
    this.xen = xen;
    const dv = this.dv();
    xsRing.setReqCons(dv, startIndex);
    xsRing.setReqProd(dv, startIndex);
    xsRing.setRspCons(dv, startIndex);
    xsRing.setRspProd(dv, startIndex);
    xen.tickers.push(() => this.tick());
  }

  private dv(): DataView {
    const p = this.xen.memory.page(STORE_PFN) as Uint8Array;
    return new DataView(p.buffer, p.byteOffset, p.byteLength);
  }

  abs(path: string): string {
    return path.startsWith('/') ? path : `${this.home}/${path}`;
  }

  set(path: string, value: string): void {
    this.writeNode(this.store, this.abs(path), value, true);
  }

  get(path: string): string | undefined {
    return this.store.get(this.abs(path));
  }

  /** Raw bytes straight into the reply stream (garbage tests). */
  inject(bytes: Uint8Array): void {
    for (const b of bytes) this.out.push(b);
  }

  /** A watch event the way xenstored sends it (req_id 0, tx_id 0). */
  event(path: string, token: string): void {
    this.inject(
      encodeXsMessage({ type: XS_WATCH_EVENT, reqId: 0, txId: 0, payload: strs(path, token) }),
    );
  }

  tick(): void {
    const dv = this.dv();
    let kick = false;
    // Consume requests.
    const cons = xsRing.reqCons(dv);
    const prod = xsRing.reqProd(dv);
    const n = (prod - cons) >>> 0;
    if (n > 0 && n <= XENSTORE_RING_SIZE) {
      this.reqChunks++;
      this.maxReqChunk = Math.max(this.maxReqChunk, n);
      const buf = new Uint8Array(this.inBuf.length + n);
      buf.set(this.inBuf);
      for (let i = 0; i < n; i++) {
        buf[this.inBuf.length + i] = dv.getUint8(
          XS_RING_REQ_OFFSET + MASK_XENSTORE_IDX((cons + i) >>> 0),
        );
      }
      xsRing.setReqCons(dv, (cons + n) >>> 0);
      kick = true;
      let off = 0;
      for (;;) {
        const r = decodeXsMessage(buf, off);
        if (!r.ok) break;
        off += r.size;
        const m = { ...r.message, payload: r.message.payload.slice() };
        this.requests.push(m);
        const custom = this.intercept?.(m);
        for (const reply of custom ?? this.handle(m)) this.inject(reply);
      }
      this.inBuf = buf.slice(off);
    }
    // Produce replies.
    if (this.out.length > 0) {
      const rc = xsRing.rspCons(dv);
      const rp = xsRing.rspProd(dv);
      const space = XENSTORE_RING_SIZE - ((rp - rc) >>> 0);
      const k = Math.min(space, this.rspChunk, this.out.length);
      for (let i = 0; i < k; i++) {
        dv.setUint8(XS_RING_RSP_OFFSET + MASK_XENSTORE_IDX((rp + i) >>> 0), this.out[i] as number);
      }
      this.out.splice(0, k);
      if (k > 0) {
        xsRing.setRspProd(dv, (rp + k) >>> 0);
        kick = true;
      }
    }
    if (kick) this.xen.raise(STORE_PORT);
  }

  private reply(m: XsMessage, payload: Uint8Array): Uint8Array {
    return encodeXsMessage({ type: m.type, reqId: m.reqId, txId: m.txId, payload });
  }

  error(m: XsMessage, name: string): Uint8Array {
    return encodeXsMessage({ type: XS_ERROR, reqId: m.reqId, txId: m.txId, payload: strs(name) });
  }

  private handle(m: XsMessage): Uint8Array[] {
    const args = splitXsStrings(m.payload);
    const tx = m.txId === 0 ? this.store : this.txs.get(m.txId);
    if (!tx) return [this.error(m, 'ENOENT')];
    const path = this.abs(args[0] ?? '');
    const OK = strs('OK');
    switch (m.type) {
      case XS_READ: {
        const v = tx.get(path);
        return v === undefined ? [this.error(m, 'ENOENT')] : [this.reply(m, enc.encode(v))];
      }
      case XS_WRITE: {
        const nul = m.payload.indexOf(0);
        this.writeNode(tx, path, dec.decode(m.payload.subarray(nul + 1)), tx === this.store);
        return [this.reply(m, OK)];
      }
      case XS_MKDIR:
        if (!tx.has(path)) this.writeNode(tx, path, '', tx === this.store);
        return [this.reply(m, OK)];
      case XS_RM: {
        for (const k of [...tx.keys()]) if (k === path || k.startsWith(path + '/')) tx.delete(k);
        if (tx === this.store) this.fire(path);
        return [this.reply(m, OK)];
      }
      case XS_DIRECTORY: {
        if (!tx.has(path)) return [this.error(m, 'ENOENT')];
        const kids = new Set<string>();
        for (const k of tx.keys()) {
          if (k.startsWith(path + '/')) kids.add(k.slice(path.length + 1).split('/')[0] as string);
        }
        return [this.reply(m, strs(...[...kids].sort()))];
      }
      case XS_WATCH: {
        const token = args[1] ?? '';
        this.watches.push({ path: args[0] ?? '', token });
        return [
          this.reply(m, OK),
          encodeXsMessage({
            type: XS_WATCH_EVENT,
            reqId: 0,
            txId: 0,
            payload: strs(args[0] ?? '', token),
          }),
        ];
      }
      case XS_UNWATCH: {
        const i = this.watches.findIndex((w) => w.path === args[0] && w.token === args[1]);
        if (i < 0) return [this.error(m, 'ENOENT')];
        this.watches.splice(i, 1);
        return [this.reply(m, OK)];
      }
      case XS_TRANSACTION_START: {
        const id = this.nextTx++;
        this.txs.set(id, new Map(this.store));
        return [this.reply(m, strs(String(id)))];
      }
      case XS_TRANSACTION_END: {
        const t = this.txs.get(m.txId);
        this.txs.delete(m.txId);
        if (!t) return [this.error(m, 'ENOENT')];
        if (args[0] !== 'T') return [this.reply(m, OK)];
        if (this.failCommits > 0) {
          this.failCommits--;
          return [this.error(m, 'EAGAIN')];
        }
        const changed: string[] = [];
        for (const [k, v] of t) if (this.store.get(k) !== v) changed.push(k);
        for (const k of this.store.keys()) if (!t.has(k)) changed.push(k);
        this.store.clear();
        for (const [k, v] of t) this.store.set(k, v);
        for (const k of changed) this.fire(k);
        return [this.reply(m, OK)];
      }
      default:
        return [this.error(m, 'ENOSYS')];
    }
  }

  private writeNode(t: Map<string, string>, path: string, value: string, fire: boolean): void {
    const parts = path.split('/');
    for (let i = 2; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!t.has(parent)) t.set(parent, '');
    }
    t.set(path, value);
    if (fire) this.fire(path);
  }

  /** Watch events for a change at absolute `path` (relative watches get relative paths). */
  fire(path: string): void {
    for (const w of this.watches) {
      const wabs = this.abs(w.path);
      if (path === wabs || path.startsWith(wabs + '/') || wabs.startsWith(path + '/')) {
        const ev = wabs.startsWith(path + '/') ? wabs : path;
        const shown = w.path.startsWith('/') ? ev : ev.slice(this.home.length + 1);
        this.event(shown, w.token);
      }
    }
  }
}
