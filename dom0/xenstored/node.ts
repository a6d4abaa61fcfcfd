// A xenstore node (tools/xenstore/xenstored_core.h struct node): value bytes, permissions,
// children in creation order, and the generation count of its last change.

import { XENSTORE_PAYLOAD_MAX } from '../../hypercalls/io/xs-wire.js';
import type { Perms } from './perms.js';

export interface XsNode {
  /** The value's bytes as a latin1 string (binary-safe: one char per byte, one allocation). */
  value: string;
  perms: Perms;
  /** Child names in creation order; null when there are none yet. */
  children: Set<string> | null;
  /** Bytes of the DIRECTORY reply (`name\0` per child). */
  childBytes: number;
  /** Cached DIRECTORY reply, rebuilt after a child is added or removed. */
  dirCache: Buffer | null;
  generation: number;
}

export const EMPTY_VALUE = '';

export function newNode(perms: Perms, value: string = EMPTY_VALUE): XsNode {
  return { value, perms, children: null, childBytes: 0, dirCache: null, generation: 0 };
}

/** A copy a transaction may change without touching the global node. */
export function cloneNode(n: XsNode): XsNode {
  return {
    value: n.value,
    perms: n.perms,
    children: n.children ? new Set(n.children) : null,
    childBytes: n.childBytes,
    dirCache: n.dirCache,
    generation: n.generation,
  };
}

/**
 * What a transaction sees of a global node: its own value, perms and generation; the children
 * set is shared until the transaction changes the node (a global change to it fails the commit).
 */
export function snapshotNode(n: XsNode): XsNode {
  return {
    value: n.value,
    perms: n.perms,
    children: n.children,
    childBytes: n.childBytes,
    dirCache: n.dirCache,
    generation: n.generation,
  };
}

export function addChild(n: XsNode, name: string): void {
  if (!n.children) n.children = new Set();
  if (n.children.has(name)) return;
  n.children.add(name);
  n.childBytes += name.length + 1;
  n.dirCache = null;
}

export function removeChild(n: XsNode, name: string): void {
  if (!n.children?.delete(name)) return;
  n.childBytes -= name.length + 1;
  n.dirCache = null;
}

/** The DIRECTORY reply payload (`child\0child\0…`), cached until the children change. */
export function directoryBytes(n: XsNode): Buffer {
  if (n.dirCache) return n.dirCache;
  let s = '';
  if (n.children) for (const c of n.children) s += c + '\0';
  n.dirCache = Buffer.from(s, 'latin1');
  return n.dirCache;
}

/** Size C xenstored charges against the node-size quota (record header, perms, data, children). */
export function nodeSizeBytes(n: XsNode): number {
  return 20 + 8 * n.perms.entries.length + n.value.length + n.childBytes;
}

/** send_directory_part: `gen\0` then whole names from byte `offset`; an empty name ends the list. */
export function directoryPart(node: XsNode, offset: number): Buffer {
  const gen = `${node.generation}\0`;
  const dir = directoryBytes(node);
  const off = offset < 0 ? 0 : offset;
  if (off >= dir.length) return Buffer.from(gen + '\0', 'latin1');
  const maxlen = XENSTORE_PAYLOAD_MAX - gen.length - 1;
  let len = 0;
  let end = false;
  for (;;) {
    const nul = dir.indexOf(0, off + len);
    const clen = nul - (off + len);
    if (len + clen >= maxlen) break;
    len += clen + 1;
    if (off + len >= dir.length) {
      end = true;
      break;
    }
  }
  const parts = [Buffer.from(gen, 'latin1'), dir.subarray(off, off + len)];
  if (end) parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}
