// TRANSACTION_START and TRANSACTION_END (tools/xenstore/xenstored_transaction.c): per-connection
// ids, copy-on-write views, generation checks at commit (EAGAIN), watch events fired at commit.

import type { XsdError } from '../../hypercalls/io/xs-wire.js';
import type { Transaction, XsConnection } from './connection.js';
import { oneArg } from './request-args.js';
import { TxView } from './tree-view.js';
import type { XsEvent } from './watches.js';
import { OK, type StoreContext } from './store-context.js';

export function doTransactionStart(
  xs: StoreContext,
  conn: XsConnection,
  tx: Transaction | null,
): Buffer | XsdError {
  if (tx) return 'EBUSY';
  if (!conn.privileged && conn.transactions.size >= xs.quotas.transactions) return 'ENOSPC';
  let id = conn.nextTransactionId;
  while (id === 0 || conn.transactions.has(id)) id = (id + 1) >>> 0;
  conn.nextTransactionId = (id + 1) >>> 0;
  conn.transactions.set(id, { id, view: new TxView(xs.tree) });
  return Buffer.from(`${id}\0`, 'latin1');
}

export function doTransactionEnd(
  xs: StoreContext,
  conn: XsConnection,
  tx: Transaction | null,
  p: Buffer,
  events: XsEvent[],
): Buffer | XsdError {
  if (!tx) return 'ENOENT';
  const arg = oneArg(p);
  if (arg !== 'T' && arg !== 'F') return 'EINVAL';
  conn.transactions.delete(tx.id);
  if (arg === 'F') return OK;
  if (!tx.view.unchanged()) return 'EAGAIN';
  tx.view.commitTo(xs.tree);
  xs.fireChanges(tx.view.changes, events);
  return OK;
}
