// Watch registration and event matching (tools/xenstore/xenstored_watch.c fire_watches,
// add_event): a change fires every watch on the node or an ancestor; RM also fires watches below.

import { XS_WATCH_EVENT, type XsMessage } from '../../hypercalls/io/xs-wire.js';
import type { Watch, XsConnection } from './connection.js';
import { permFor, XS_PERM_READ, type Perms } from './perms.js';

/** A watch event for one connection. */
export interface XsEvent {
  conn: XsConnection;
  message: XsMessage;
}

export class WatchTable {
  private readonly byPath = new Map<string, Watch[]>();
  count = 0;

  add(w: Watch): void {
    const list = this.byPath.get(w.path);
    if (list) list.push(w);
    else this.byPath.set(w.path, [w]);
    this.count++;
  }

  remove(w: Watch): void {
    const list = this.byPath.get(w.path);
    if (!list) return;
    const i = list.indexOf(w);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.byPath.delete(w.path);
    this.count--;
  }

  /** Watches on exactly `path`. */
  at(path: string): readonly Watch[] | undefined {
    return this.byPath.get(path);
  }

  /**
   * Events for a change at `path`: watches on the path and (unless `exact`) on every ancestor.
   * `perms` are the node's permissions, checked for unprivileged watchers.
   */
  fire(path: string, exact: boolean, perms: Perms | null, out: XsEvent[], special?: Perms): void {
    if (this.count === 0) return;
    this.fireAt(path, path, perms, out, special);
    if (exact || path.charCodeAt(0) !== 0x2f) return;
    this.fireAt('/', path, perms, out, special);
    for (let i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1))
      this.fireAt(path.slice(0, i), path, perms, out, special);
  }

  private fireAt(
    wpath: string,
    changed: string,
    perms: Perms | null,
    out: XsEvent[],
    special?: Perms,
  ): void {
    const list = this.byPath.get(wpath);
    if (!list) return;
    for (const w of list) {
      const c = w.conn;
      if (!c.privileged) {
        const p = special ?? perms;
        if (p && (permFor(p, c.domid, false, c.target) & XS_PERM_READ) === 0) continue;
      }
      out.push({ conn: c, message: watchEvent(w, changed) });
    }
  }
}

/** The WATCH_EVENT message for `w` about `path` (req_id and tx_id are 0). */
export function watchEvent(w: Watch, path: string): XsMessage {
  let p = path;
  const pre = w.relativePrefix;
  if (pre !== null && p.startsWith(pre)) p = p.slice(pre.length);
  return {
    type: XS_WATCH_EVENT,
    reqId: 0,
    txId: 0,
    payload: Buffer.from(`${p}\0${w.token}\0`, 'latin1'),
  };
}
