// The tree-changing and tree-reading requests of C xenstored 4.17 (tools/xenstore/
// xenstored_core.c do_write, do_mkdir, do_rm, do_set_perms, get_node, errno_from_parents).

import type { XsdError } from '../../hypercalls/io/xs-wire.js';
import type { XsConnection } from './connection.js';
import { addChild, EMPTY_VALUE, newNode, nodeSizeBytes, removeChild, type XsNode } from './node.js';
import { baseName, childPath, parentOf } from './paths.js';
import {
  makePerms,
  ownerOf,
  permFor,
  withOwner,
  XS_PERM_OWNER,
  XS_PERM_READ,
  XS_PERM_WRITE,
  type PermEntry,
  type Perms,
} from './perms.js';
import type { XsQuotas } from './quotas.js';
import type { TreeView } from './tree-view.js';

/** A change to report to watches: `exact` matches only watches on the path itself. */
export interface Change {
  path: string;
  exact: boolean;
  /** The node's permissions before the change (who may see the event). */
  perms: Perms;
}

export function access(conn: XsConnection, n: XsNode): number {
  return permFor(n.perms, conn.domid, conn.privileged, conn.target);
}

/** Nearest existing ancestor of a missing node (the root always exists). */
function nearestAncestor(view: TreeView, path: string): { path: string; node: XsNode } {
  let p = parentOf(path);
  for (;;) {
    const n = view.get(p);
    if (n) return { path: p, node: n };
    p = parentOf(p);
  }
}

/** get_node: the node if the caller holds `perm`; a missing node under an unreadable ancestor is EACCES. */
export function lookup(
  view: TreeView,
  conn: XsConnection,
  path: string,
  perm: number,
): XsNode | XsdError {
  const n = view.get(path);
  if (n) return (access(conn, n) & perm) === perm ? n : 'EACCES';
  if (conn.privileged) return 'ENOENT';
  const a = nearestAncestor(view, path);
  return access(conn, a.node) & XS_PERM_READ ? 'ENOENT' : 'EACCES';
}

/** Creates `path` and any missing parents, inheriting the nearest ancestor's permissions. */
function create(
  view: TreeView,
  conn: XsConnection,
  quotas: XsQuotas,
  path: string,
  value: string,
): XsNode | XsdError {
  const missing = [path];
  let p = parentOf(path);
  let anc = view.get(p);
  while (!anc) {
    missing.push(p);
    p = parentOf(p);
    anc = view.get(p);
  }
  const rights = access(conn, anc);
  if ((rights & XS_PERM_WRITE) === 0) return 'EACCES';
  let perms = anc.perms;
  if (!conn.privileged) {
    if (view.ownedBy(conn.domid) + missing.length > quotas.nodes) return 'ENOSPC';
    perms = withOwner(perms, conn.domid);
  }
  let parent = view.mutable(p, anc);
  let parentPath = p;
  let node = parent;
  for (let i = missing.length - 1; i >= 0; i--) {
    const here = missing[i] as string;
    node = newNode(perms, i === 0 ? value : EMPTY_VALUE);
    view.put(here, node);
    addChild(parent, baseName(here));
    view.update(parentPath, parent);
    parent = node;
    parentPath = here;
  }
  return node;
}

export function doWrite(
  view: TreeView,
  conn: XsConnection,
  quotas: XsQuotas,
  path: string,
  value: string,
  changes: Change[],
): XsdError | null {
  const n = view.get(path);
  let node: XsNode;
  if (n) {
    if ((access(conn, n) & XS_PERM_WRITE) === 0) return 'EACCES';
    if (
      !conn.privileged &&
      nodeSizeBytes(n) - n.value.length + value.length >= quotas.nodeSizeBytes
    )
      return 'ENOSPC';
    node = view.mutable(path, n);
    node.value = value;
    view.update(path, node);
  } else {
    const looked = lookup(view, conn, path, XS_PERM_WRITE);
    if (looked !== 'ENOENT') return typeof looked === 'string' ? looked : 'EINVAL';
    if (!conn.privileged && 20 + value.length >= quotas.nodeSizeBytes) return 'ENOSPC';
    const made = create(view, conn, quotas, path, value);
    if (typeof made === 'string') return made;
    node = made;
  }
  changes.push({ path, exact: false, perms: node.perms });
  return null;
}

export function doMkdir(
  view: TreeView,
  conn: XsConnection,
  quotas: XsQuotas,
  path: string,
  changes: Change[],
): XsdError | null {
  const n = lookup(view, conn, path, XS_PERM_WRITE);
  if (typeof n !== 'string') return null; // it exists: fine, nothing changes
  if (n !== 'ENOENT') return n;
  const made = create(view, conn, quotas, path, EMPTY_VALUE);
  if (typeof made === 'string') return made;
  changes.push({ path, exact: false, perms: made.perms });
  return null;
}

export function doRm(
  view: TreeView,
  conn: XsConnection,
  path: string,
  changes: Change[],
): XsdError | null {
  const n = lookup(view, conn, path, XS_PERM_WRITE);
  if (typeof n === 'string') {
    if (n !== 'ENOENT') return n;
    // Removing a missing node is fine when its parent exists.
    return view.get(parentOf(path)) ? null : 'ENOENT';
  }
  if (path === '/') return 'EINVAL';
  removeSubtree(view, path, n, changes);
  const parentPath = parentOf(path);
  const parent = view.mutable(parentPath, view.get(parentPath) as XsNode);
  removeChild(parent, baseName(path));
  view.update(parentPath, parent);
  return null;
}

/** Deletes `path` and everything below it, children first. */
export function removeSubtree(view: TreeView, path: string, n: XsNode, changes: Change[]): void {
  changes.push({ path, exact: false, perms: n.perms });
  const stack: [string, XsNode][] = [[path, n]];
  const order: string[] = [];
  while (stack.length) {
    const [p, node] = stack.pop() as [string, XsNode];
    order.push(p);
    if (!node.children) continue;
    for (const c of node.children) {
      const cp = childPath(p, c);
      const cn = view.get(cp);
      if (!cn) continue;
      changes.push({ path: cp, exact: true, perms: cn.perms });
      stack.push([cp, cn]);
    }
  }
  for (let i = order.length - 1; i >= 0; i--) view.delete(order[i] as string);
}

export function doSetPerms(
  view: TreeView,
  conn: XsConnection,
  quotas: XsQuotas,
  path: string,
  entries: PermEntry[],
  changes: Change[],
): XsdError | null {
  if (!conn.privileged && entries.length > quotas.permissions) return 'ENOSPC';
  const n = lookup(view, conn, path, XS_PERM_WRITE | XS_PERM_OWNER);
  if (typeof n === 'string') return n;
  const newOwner = (entries[0] as PermEntry).id;
  const oldOwner = ownerOf(n.perms);
  // An unprivileged domain may not give a node away.
  if (!conn.privileged && newOwner !== oldOwner) return 'EPERM';
  const oldPerms = n.perms;
  const m = view.mutable(path, n);
  m.perms = makePerms(entries);
  view.recount(oldOwner, newOwner);
  view.update(path, m);
  changes.push({ path, exact: false, perms: oldPerms });
  return null;
}
