// The xenstore daemon's pure core, after C xenstored 4.17 (tools/xenstore/xenstored_core.c
// process_message, xenstored_domain.c, xenstored_transaction.c): a request from a connection in,
// its reply and the watch events it causes out. No sockets, rings or clocks inside.

import {
  XS_CONTROL,
  XS_DIRECTORY,
  XS_DIRECTORY_PART,
  XS_ERROR,
  XS_GET_DOMAIN_PATH,
  XS_GET_PERMS,
  XS_INTRODUCE,
  XS_IS_DOMAIN_INTRODUCED,
  XS_MKDIR,
  XS_READ,
  XS_RELEASE,
  XS_RESET_WATCHES,
  XS_RESUME,
  XS_RM,
  XS_SET_PERMS,
  XS_SET_TARGET,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_UNWATCH,
  XS_WATCH,
  XS_WRITE,
  XENSTORE_PAYLOAD_MAX,
  type XsdError,
  type XsMessage,
} from '../../hypercalls/io/xs-wire.js';
import { XsConnection, type Transaction } from './connection.js';
import { addChild, directoryBytes, directoryPart, newNode, type XsNode } from './node.js';
import { OK } from './store-context.js';
import { doTransactionEnd, doTransactionStart } from './transaction-ops.js';
import { doUnwatch, doWatch } from './watch-ops.js';
import { doMkdir, doRm, doSetPerms, doWrite, lookup, type Change } from './node-ops.js';
import { canonicalize, domainPath, isValidNodename } from './paths.js';
import { makePerms, ownerOf, parsePerms, XS_PERM_READ, type Perms } from './perms.js';
import { DEFAULT_QUOTAS, type XsQuotas } from './quotas.js';
import { allStrings, atoi, countStrings, oneArg } from './request-args.js';
import { NodeTree, type TreeView } from './tree-view.js';
import { WatchTable, type XsEvent } from './watches.js';
import { runControl } from './control.js';

export const INTRODUCE_DOMAIN = '@introduceDomain';
export const RELEASE_DOMAIN = '@releaseDomain';

/** A reply; a READ's payload is the node's value as a latin1 string (no copy). */
export interface XsReply {
  type: number;
  reqId: number;
  txId: number;
  payload: Uint8Array | string;
}

/** Replies and watch events one request produced. */
export interface XsOutcome {
  reply: XsReply;
  events: XsEvent[];
}

/** The reply as bytes (for transports that need a Uint8Array payload). */
export function replyMessage(r: XsReply): XsMessage {
  const p = r.payload;
  return typeof p === 'string' ? { ...r, payload: Buffer.from(p, 'latin1') } : (r as XsMessage);
}

export interface XsDomain {
  domid: number;
  /** Its ring connection, once the glue has mapped the page. */
  conn: XsConnection | null;
  /** @releaseDomain already fired for this shutdown (edge-triggered; RESUME re-arms). */
  shutdown: boolean;
}

/** How INTRODUCE reaches the ring page and event channel (the simulator's glue). */
export type IntroduceHook = (domid: number, gfn: number, port: number) => XsConnection | XsdError;

/** Marker: the reply payload is `readValue`. */
const READ_VALUE = Buffer.alloc(0);
const ERRORS = new Map<string, Buffer>();
const NO_EVENTS: XsEvent[] = [];
const PRIV_ONLY = new Set([
  XS_CONTROL,
  XS_INTRODUCE,
  XS_RELEASE,
  XS_IS_DOMAIN_INTRODUCED,
  XS_RESUME,
  XS_SET_TARGET,
]);
/** Types that ignore tx_id (XS_FLAG_NOTID). */
const NO_TX = new Set([
  XS_WATCH,
  XS_UNWATCH,
  XS_INTRODUCE,
  XS_RELEASE,
  XS_GET_DOMAIN_PATH,
  XS_IS_DOMAIN_INTRODUCED,
  XS_RESUME,
  XS_SET_TARGET,
  XS_RESET_WATCHES,
  XS_CONTROL,
]);

function errorPayload(e: string): Buffer {
  let b = ERRORS.get(e);
  if (!b) ERRORS.set(e, (b = Buffer.from(`${e}\0`, 'latin1')));
  return b;
}

function asBuffer(p: Uint8Array): Buffer {
  return Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

export class Xenstored {
  readonly tree = new NodeTree();
  readonly watches = new WatchTable();
  readonly specials = new Map<string, XsNode>();
  readonly domains = new Map<number, XsDomain>();
  readonly connections = new Set<XsConnection>();
  readonly quotas: XsQuotas;
  introduceHook: IntroduceHook | null = null;
  /** The value a READ answered with (returned beside the READ_VALUE marker, without a copy). */
  private readValue = '';

  constructor(quotas: Partial<XsQuotas> = {}) {
    this.quotas = { ...DEFAULT_QUOTAS, ...quotas };
    const n0 = makePerms([{ id: 0, perm: 0 }]);
    for (const p of ['/', '/tool', '/tool/xenstored']) this.tree.put(p, newNode(n0));
    addChild(this.tree.get('/') as XsNode, 'tool');
    addChild(this.tree.get('/tool') as XsNode, 'xenstored');
    for (const s of [INTRODUCE_DOMAIN, RELEASE_DOMAIN]) this.specials.set(s, newNode(n0));
    this.domains.set(0, { domid: 0, conn: null, shutdown: false });
  }

  /** A privileged dom0 client of the Unix socket. */
  openSocketConnection(): XsConnection {
    const c = XsConnection.socket();
    this.connections.add(c);
    return c;
  }

  /** Tears a connection down: its watches and transactions go (the transport has closed). */
  closeConnection(conn: XsConnection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.dropWatchesAndTransactions(conn);
    this.connections.delete(conn);
    const d = this.domains.get(conn.domid);
    if (d && d.conn === conn) d.conn = null;
  }

  /** A guest asked to reconnect: its watches and transactions go, the connection stays. */
  resetConnection(conn: XsConnection): void {
    this.dropWatchesAndTransactions(conn);
  }

  /** Processes one request. */
  handle(conn: XsConnection, msg: XsMessage): XsOutcome {
    const events: XsEvent[] = [];
    const r = this.dispatch(conn, msg, events);
    let reply: XsReply;
    if (typeof r === 'string') reply = this.error(msg, r);
    else {
      const payload = r === READ_VALUE ? this.readValue : r;
      if (payload.length > XENSTORE_PAYLOAD_MAX) reply = this.error(msg, 'E2BIG');
      else reply = { type: msg.type, reqId: msg.reqId, txId: msg.txId, payload };
    }
    // The first event of a new watch follows its acknowledgement (do_watch).
    return { reply, events: events.length ? events : NO_EVENTS };
  }

  private error(msg: XsMessage, e: string): XsMessage {
    return { type: XS_ERROR, reqId: msg.reqId, txId: msg.txId, payload: errorPayload(e) };
  }

  private dispatch(conn: XsConnection, msg: XsMessage, events: XsEvent[]): Buffer | XsdError {
    const type = msg.type;
    const p = asBuffer(msg.payload);
    if (PRIV_ONLY.has(type) && !conn.privileged) return 'EACCES';
    let tx: Transaction | null = null;
    if (msg.txId !== 0 && !NO_TX.has(type)) {
      tx = conn.transactions.get(msg.txId) ?? null;
      if (!tx) return 'ENOENT';
    }
    const view: TreeView = tx ? tx.view : this.tree;
    switch (type) {
      case XS_READ:
      case XS_DIRECTORY:
      case XS_GET_PERMS:
      case XS_DIRECTORY_PART:
        return this.read(conn, view, type, p);
      case XS_WRITE: {
        const nul = p.indexOf(0);
        if (nul < 0) return 'EINVAL';
        const path = this.path(conn, p.toString('latin1', 0, nul));
        if (path === null) return 'EINVAL';
        const value = p.toString('latin1', nul + 1); // owns its bytes: the input buffer is reused
        return this.change(conn, tx, events, (ch) =>
          doWrite(view, conn, this.quotas, path, value, ch),
        );
      }
      case XS_MKDIR:
      case XS_RM: {
        const path = this.path(conn, oneArg(p));
        if (path === null) return 'EINVAL';
        return this.change(conn, tx, events, (ch) =>
          type === XS_MKDIR
            ? doMkdir(view, conn, this.quotas, path, ch)
            : doRm(view, conn, path, ch),
        );
      }
      case XS_SET_PERMS:
        return this.setPerms(conn, view, tx, p, events);
      case XS_WATCH:
        return doWatch(this, conn, p, events);
      case XS_UNWATCH:
        return doUnwatch(this, conn, p);
      case XS_TRANSACTION_START:
        return doTransactionStart(this, conn, tx);
      case XS_TRANSACTION_END:
        return doTransactionEnd(this, conn, tx, p, events);
      case XS_GET_DOMAIN_PATH: {
        const a = oneArg(p);
        if (a === null) return 'EINVAL';
        return Buffer.from(`${domainPath(atoi(a))}\0`, 'latin1');
      }
      case XS_INTRODUCE:
        return this.introduce(p, events);
      case XS_RELEASE: {
        const d = this.connectedDomain(oneArg(p));
        if (typeof d === 'string') return d;
        this.releaseDomain(d.domid, events);
        return OK;
      }
      case XS_IS_DOMAIN_INTRODUCED: {
        const a = oneArg(p);
        if (a === null) return 'EINVAL';
        return Buffer.from(this.domains.has(atoi(a)) ? 'T\0' : 'F\0', 'latin1');
      }
      case XS_RESUME: {
        const d = this.connectedDomain(oneArg(p));
        if (typeof d === 'string') return d;
        d.shutdown = false;
        return OK;
      }
      case XS_SET_TARGET: {
        const a = allStrings(p);
        if (a.length !== 2) return 'EINVAL';
        const d = this.connectedDomain(a[0] ?? null);
        if (typeof d === 'string') return d;
        const t = this.connectedDomain(a[1] ?? null);
        if (typeof t === 'string') return t;
        if (d.conn) d.conn.target = t.domid;
        return OK;
      }
      case XS_RESET_WATCHES:
        this.dropWatchesAndTransactions(conn);
        return OK;
      case XS_CONTROL:
        return runControl(this, allStrings(p));
      default:
        return 'ENOSYS';
    }
  }

  /** Canonical, valid absolute path from a request argument, or null (EINVAL). */
  path(conn: XsConnection, raw: string | null): string | null {
    if (raw === null) return null;
    const path = canonicalize(raw, conn.domid);
    if (!isValidNodename(path, conn.privileged ? Infinity : this.quotas.pathMax)) return null;
    return path;
  }

  private read(conn: XsConnection, view: TreeView, type: number, p: Buffer): Buffer | XsdError {
    let raw: string | null;
    let offset = 0;
    if (type === XS_DIRECTORY_PART) {
      if (countStrings(p) !== 2) return 'EINVAL';
      const a = allStrings(p);
      raw = a[0] as string;
      offset = atoi(a[1] as string);
    } else raw = oneArg(p);
    let node: XsNode | XsdError;
    if (type === XS_GET_PERMS && raw !== null && this.specials.has(raw))
      node = this.specials.get(raw) as XsNode;
    else {
      const path = this.path(conn, raw);
      if (path === null) return 'EINVAL';
      node = lookup(view, conn, path, XS_PERM_READ);
    }
    if (typeof node === 'string') return node;
    switch (type) {
      case XS_READ:
        this.readValue = node.value;
        return READ_VALUE;
      case XS_GET_PERMS:
        return node.perms.wire;
      case XS_DIRECTORY:
        return directoryBytes(node);
      default:
        return directoryPart(node, offset);
    }
  }

  /** Runs a tree change; its watch events fire now, or at commit inside a transaction. */
  private change(
    conn: XsConnection,
    tx: Transaction | null,
    events: XsEvent[],
    op: (changes: Change[]) => XsdError | null,
  ): Buffer | XsdError {
    const changes: Change[] = tx ? tx.view.changes : [];
    const e = op(changes);
    if (e) return e;
    if (tx) {
      if (!conn.privileged && tx.view.overlay.size > this.quotas.transactionNodes) return 'ENOSPC';
    } else this.fireChanges(changes, events);
    return OK;
  }

  fireChanges(changes: readonly Change[], events: XsEvent[]): void {
    if (this.watches.count === 0) return;
    for (const c of changes) this.watches.fire(c.path, c.exact, c.perms, events);
  }

  private setPerms(
    conn: XsConnection,
    view: TreeView,
    tx: Transaction | null,
    p: Buffer,
    events: XsEvent[],
  ): Buffer | XsdError {
    const a = allStrings(p);
    if (a.length < 2) return 'EINVAL';
    const raw = a[0] as string;
    const entries = parsePerms(a.slice(1));
    if (!entries) return 'EINVAL';
    const special = this.specials.get(raw);
    if (special) {
      if (!conn.privileged) return 'EACCES';
      special.perms = makePerms(entries);
      return OK;
    }
    const path = this.path(conn, raw);
    if (path === null) return 'EINVAL';
    return this.change(conn, tx, events, (ch) =>
      doSetPerms(view, conn, this.quotas, path, entries, ch),
    );
  }

  private introduce(p: Buffer, events: XsEvent[]): Buffer | XsdError {
    const a = allStrings(p);
    if (a.length < 3) return 'EINVAL';
    const domid = atoi(a[0] as string);
    const gfn = atoi(a[1] as string);
    const port = atoi(a[2] as string);
    if (port <= 0 || domid <= 0 || domid >= 0x7ff0) return 'EINVAL';
    const existing = this.domains.get(domid);
    if (existing) return OK; // re-introduction rebinds the event channel only
    let conn: XsConnection | null = null;
    if (this.introduceHook) {
      const c = this.introduceHook(domid, gfn, port);
      if (typeof c === 'string') return c;
      conn = c;
    }
    this.domainIntroduced(domid, conn, events);
    return OK;
  }

  private connectedDomain(arg: string | null): XsDomain | XsdError {
    if (arg === null) return 'EINVAL';
    const domid = atoi(arg);
    if (domid <= 0 || domid >= 0x7ff0) return 'EINVAL';
    return this.domains.get(domid) ?? 'ENOENT';
  }

  private dropWatchesAndTransactions(conn: XsConnection): void {
    for (const w of conn.watches) this.watches.remove(w);
    conn.watches.length = 0;
    conn.transactions.clear();
  }

  /** Fires a special watch (@introduceDomain, @releaseDomain) for those allowed to see it. */
  private fireSpecial(name: string, events: XsEvent[]): void {
    const perms = (this.specials.get(name) as XsNode).perms;
    this.watches.fire(name, true, null, events, perms);
  }

  // ---- API for the toolstack / hypervisor glue ----

  /** A domain's ring connection exists (after INTRODUCE): records it and fires @introduceDomain. */
  domainIntroduced(domid: number, conn: XsConnection | null, events: XsEvent[] = []): XsEvent[] {
    if (conn) this.connections.add(conn);
    this.domains.set(domid, { domid, conn, shutdown: false });
    this.fireSpecial(INTRODUCE_DOMAIN, events);
    return events;
  }

  /** The domain shut down or crashed: @releaseDomain fires once until RESUME. */
  domainShutdown(domid: number, events: XsEvent[] = []): XsEvent[] {
    const d = this.domains.get(domid);
    if (!d || d.shutdown) return events;
    d.shutdown = true;
    this.fireSpecial(RELEASE_DOMAIN, events);
    return events;
  }

  /** The toolstack released the domain (what XS_RELEASE does, for in-process callers). */
  domainReleased(domid: number, events: XsEvent[] = []): XsEvent[] {
    return this.releaseDomain(domid, events);
  }

  /** The domain is gone (VIRQ_DOM_EXC saw it dying): same clean-up as RELEASE. */
  domainDied(domid: number, events: XsEvent[] = []): XsEvent[] {
    return this.domains.has(domid) ? this.releaseDomain(domid, events) : events;
  }

  /**
   * XS_RELEASE / domain death (xenstored_domain.c destroy_domain, domain_tree_remove): the
   * connection, its watches and transactions go, the nodes it owns are deleted, and
   * @releaseDomain fires.
   */
  releaseDomain(domid: number, events: XsEvent[] = []): XsEvent[] {
    const d = this.domains.get(domid);
    if (!d || domid === 0) return events;
    if (d.conn) this.closeConnection(d.conn);
    this.domains.delete(domid);
    if (this.tree.ownedBy(domid) > 0) this.removeOwnedNodes(domid, events);
    this.fireSpecial(RELEASE_DOMAIN, events);
    return events;
  }

  /** Deletes every subtree whose top node is owned by `domid` (keep_orphans off). */
  private removeOwnedNodes(domid: number, events: XsEvent[]): void {
    const tops: string[] = [];
    for (const [path, n] of this.tree.nodes) if (ownerOf(n.perms) === domid) tops.push(path);
    tops.sort((a, b) => a.length - b.length);
    const privileged = XsConnection.socket();
    for (const path of tops) {
      if (this.tree.ownedBy(domid) === 0) break;
      const changes: Change[] = [];
      if (this.tree.get(path)) doRm(this.tree, privileged, path, changes);
      this.fireChanges(changes, events);
    }
  }

  /** Perms of a node (for tests and tools). */
  permsOf(path: string): Perms | undefined {
    return this.tree.get(path)?.perms ?? this.specials.get(path)?.perms;
  }
}
