// WATCH and UNWATCH (tools/xenstore/xenstored_watch.c do_watch, do_unwatch): duplicates are
// EEXIST, unknown watches ENOENT, relative paths stay relative, the first event follows the OK.

import type { XsdError } from '../../hypercalls/io/xs-wire.js';
import type { Watch, XsConnection } from './connection.js';
import { domainPath } from './paths.js';
import { allStrings } from './request-args.js';
import { watchEvent, type XsEvent } from './watches.js';
import { OK, type StoreContext } from './store-context.js';

export function doWatch(
  xs: StoreContext,
  conn: XsConnection,
  p: Buffer,
  events: XsEvent[],
): Buffer | XsdError {
  const a = allStrings(p);
  if (a.length !== 2 || p[p.length - 1] !== 0) return 'EINVAL';
  const [raw, token] = a as [string, string];
  let path: string;
  let relativePrefix: string | null = null;
  if (raw.startsWith('@')) {
    if (raw.length > xs.quotas.pathMax) return 'EINVAL';
    path = raw;
  } else {
    const c = xs.path(conn, raw);
    if (c === null) return 'EINVAL';
    path = c;
    if (!raw.startsWith('/')) relativePrefix = `${domainPath(conn.domid)}/`;
  }
  for (const w of conn.watches) if (w.path === path && w.token === token) return 'EEXIST';
  if (!conn.privileged && conn.watches.length >= xs.quotas.watches) return 'ENOSPC';
  const w: Watch = { path, token, relativePrefix, conn };
  conn.watches.push(w);
  xs.watches.add(w);
  events.push({ conn, message: watchEvent(w, path) });
  return OK;
}

export function doUnwatch(xs: StoreContext, conn: XsConnection, p: Buffer): Buffer | XsdError {
  const a = allStrings(p);
  if (a.length !== 2) return 'EINVAL';
  const [raw, token] = a as [string, string];
  const path = raw.startsWith('@') ? raw : xs.path(conn, raw);
  if (path === null) return 'EINVAL';
  const i = conn.watches.findIndex((w) => w.path === path && w.token === token);
  if (i < 0) return 'ENOENT';
  const [w] = conn.watches.splice(i, 1) as [Watch];
  xs.watches.remove(w);
  return OK;
}
