// A privileged in-process connection to dom0's xenstored core, as libxenstore's Unix-socket
// connection is for xl (tools/libs/store/xs.c over tools/xenstore/xenstored_core.c): requests are
// answered synchronously, watch events for other connections are delivered after each reply.

import type { XsMessage } from '../../hypercalls/io/xs-wire.js';
import { deliverEvents } from '../xenstored/guest-ring-connection.js';
import type { Xenstored } from '../xenstored/xenstored.js';
import type { XenstoreConnection } from './platform.js';

export class LocalXenstoreConnection implements XenstoreConnection {
  private readonly store: Xenstored;
  private readonly conn;
  private listeners: ((m: XsMessage) => void)[] = [];
  /** Events for this connection raised while a request is being answered wait for its reply. */
  private pending: XsMessage[] | null = null;

  constructor(store: Xenstored) {
    this.store = store;
    this.conn = store.openSocketConnection();
    this.conn.deliver = (m) => {
      if (this.pending) this.pending.push(m);
      else for (const l of this.listeners) l(m);
    };
  }

  request(msg: XsMessage): XsMessage {
    const outer = this.pending === null;
    if (outer) this.pending = [];
    const r = this.store.handle(this.conn, msg);
    deliverEvents(r.events);
    if (outer) {
      const queued = this.pending ?? [];
      this.pending = null;
      for (const m of queued) for (const l of this.listeners) l(m);
    }
    const p = r.reply.payload;
    // The core may answer a READ with the value as a latin1 string (its storage form).
    return { ...r.reply, payload: typeof p === 'string' ? Buffer.from(p, 'latin1') : p };
  }

  onWatchEvent(listener: (msg: XsMessage) => void): void {
    this.listeners.push(listener);
  }

  close(): void {
    this.store.closeConnection(this.conn);
  }
}
