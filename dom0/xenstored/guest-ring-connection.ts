// A guest's xenstore connection over its ring page (tools/xenstore/xenstored_domain.c
// new_domain/domain_conn_reset): the ring transport wired to the store's pure core.

import type { XsMessage } from '../../hypercalls/io/xs-wire.js';
import { XsConnection } from './connection.js';
import { XsRingTransport } from './ring-transport.js';
import type { XsEvent } from './watches.js';
import { replyMessage, type Xenstored } from './xenstored.js';

export interface GuestRingConnection {
  readonly conn: XsConnection;
  readonly transport: XsRingTransport;
  /** Call when the guest signals the event channel. */
  readonly kick: () => void;
}

/** Delivers events a request caused: to the requester's own transport, or to their owners. */
export function deliverEvents(events: readonly XsEvent[]): void {
  for (const e of events) if (!e.conn.closed) e.conn.deliver?.(e.message);
}

/**
 * Serves domain `domid` on `page`, signalling it with `notify`. The glue calls this from the
 * store's introduce hook (after mapping the granted page and binding the event channel).
 */
export function connectGuestRing(
  store: Xenstored,
  domid: number,
  page: Uint8Array,
  notify: () => void,
): GuestRingConnection {
  const conn = XsConnection.guest(domid);
  const transport: XsRingTransport = new XsRingTransport(page, {
    notify,
    maxQueuedReplies: conn.privileged ? Infinity : store.quotas.outstanding,
    onMessage: (m: XsMessage) => {
      if (conn.closed) return;
      const r = store.handle(conn, m);
      transport.send(replyMessage(r.reply));
      deliverEvents(r.events);
    },
    onFault: () => store.closeConnection(conn),
    onReset: () => store.resetConnection(conn),
  });
  conn.deliver = (m) => transport.send(m);
  return { conn, transport, kick: () => transport.kick() };
}
