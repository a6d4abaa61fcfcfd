// Test helpers: drive the xenstored core with requests built from strings.

import { XS_ERROR, XS_TYPE_NAMES } from '../../hypercalls/io/xs-wire.js';
import type { XsConnection } from '../../dom0/xenstored/connection.js';
import type { XsEvent } from '../../dom0/xenstored/watches.js';
import type { Xenstored } from '../../dom0/xenstored/xenstored.js';

export interface Reply {
  /** `ERROR` or the request type's name. */
  type: string;
  /** The payload with NULs shown as `|`. */
  text: string;
  raw: Buffer;
  txId: number;
  reqId: number;
  events: XsEvent[];
}

/** Sends `type` with `payload` (a string in which `|` stands for NUL, or bytes). */
export function req(
  xs: Xenstored,
  conn: XsConnection,
  type: number,
  payload: string | Buffer,
  txId = 0,
  reqId = 7,
): Reply {
  const p =
    typeof payload === 'string' ? Buffer.from(payload.replaceAll('|', '\0'), 'latin1') : payload;
  const r = xs.handle(conn, { type, reqId, txId, payload: p });
  const pl = r.reply.payload;
  const raw = typeof pl === 'string' ? Buffer.from(pl, 'latin1') : Buffer.from(pl);
  return {
    type: r.reply.type === XS_ERROR ? 'ERROR' : (XS_TYPE_NAMES[r.reply.type] ?? '?'),
    text: raw.toString('latin1').replaceAll('\0', '|'),
    raw,
    txId: r.reply.txId,
    reqId: r.reply.reqId,
    events: r.events,
  };
}

/** `path|token|` of each event for `conn`. */
export function eventsFor(events: readonly XsEvent[], conn: XsConnection): string[] {
  return events
    .filter((e) => e.conn === conn)
    .map((e) => Buffer.from(e.message.payload).toString('latin1').replaceAll('\0', '|'));
}
