// Access to the node tree either directly or through a transaction's copy-on-write overlay
// (tools/xenstore/xenstored_transaction.c: per-transaction node copies, generation checks).

import { ownerOf } from './perms.js';
import { cloneNode, snapshotNode, type XsNode } from './node.js';
import type { Change } from './node-ops.js';
import { PathIndex } from './path-index.js';

/** What every request handler reads and changes the tree through. */
export interface TreeView {
  get(path: string): XsNode | undefined;
  /** The node `get(path)` returned, in a form the caller may change in place. */
  mutable(path: string, seen: XsNode): XsNode;
  /** Records that a node from `mutable` changed in place. */
  update(path: string, node: XsNode): void;
  /** Inserts a new node. */
  put(path: string, node: XsNode): void;
  delete(path: string): void;
  /** Counts an owner change of a node changed in place (SET_PERMS). */
  recount(oldOwner: number, newOwner: number): void;
  /** Nodes owned by `domid` as this view sees them. */
  ownedBy(domid: number): number;
}

/** The global tree: a flat map from absolute path to node, plus per-owner node counts. */
export class NodeTree implements TreeView {
  readonly nodes = new PathIndex();
  readonly ownerCounts = new Map<number, number>();
  generation = 0;

  get(path: string): XsNode | undefined {
    return this.nodes.get(path);
  }

  mutable(_path: string, seen: XsNode): XsNode {
    return seen;
  }

  update(_path: string, node: XsNode): void {
    node.generation = ++this.generation;
  }

  put(path: string, node: XsNode): void {
    const old = this.nodes.get(path);
    if (old !== node) {
      if (old) this.count(ownerOf(old.perms), -1);
      this.count(ownerOf(node.perms), 1);
      this.nodes.set(path, node);
    }
    node.generation = ++this.generation;
  }

  /** Counts an owner change of a node changed in place (SET_PERMS). */
  recount(oldOwner: number, newOwner: number): void {
    if (oldOwner === newOwner) return;
    this.count(oldOwner, -1);
    this.count(newOwner, 1);
  }

  delete(path: string): void {
    const old = this.nodes.get(path);
    if (!old) return;
    this.count(ownerOf(old.perms), -1);
    this.nodes.delete(path);
  }

  ownedBy(domid: number): number {
    return this.ownerCounts.get(domid) ?? 0;
  }

  private count(domid: number, d: number): void {
    const n = (this.ownerCounts.get(domid) ?? 0) + d;
    if (n === 0) this.ownerCounts.delete(domid);
    else this.ownerCounts.set(domid, n);
  }
}

/** Generation recorded for a node that did not exist when the transaction looked. */
const MISSING = -1;

/**
 * A transaction: global nodes are read through, and copied only when changed. Every node looked
 * up is remembered with its generation so that commit can detect conflicts (EAGAIN).
 */
export class TxView implements TreeView {
  readonly overlay = new Map<string, XsNode | null>();
  /** Global nodes as first seen by the transaction (null: missing then). */
  readonly seen = new Map<string, XsNode | null>();
  /** Changes to fire as watch events at commit, in order. */
  readonly changes: Change[] = [];
  private readonly base: NodeTree;
  private readonly ownerDelta = new Map<number, number>();

  constructor(base: NodeTree) {
    this.base = base;
  }

  get(path: string): XsNode | undefined {
    const o = this.overlay.get(path);
    if (o !== undefined) return o ?? undefined;
    const seen = this.seen.get(path);
    if (seen !== undefined) return seen ?? undefined;
    const n = this.base.get(path);
    // The first look takes a snapshot: later global writes stay invisible inside (values and
    // perms are replaced, never changed in place); the generation is checked at commit.
    const snap = n ? snapshotNode(n) : null;
    this.seen.set(path, snap);
    return snap ?? undefined;
  }

  mutable(path: string, seen: XsNode): XsNode {
    const o = this.overlay.get(path);
    if (o) return o;
    const copy = cloneNode(seen);
    this.overlay.set(path, copy);
    return copy;
  }

  update(path: string, node: XsNode): void {
    this.overlay.set(path, node);
  }

  put(path: string, node: XsNode): void {
    const old = this.overlay.has(path) ? this.overlay.get(path) : this.base.get(path);
    if (old !== node) {
      if (old && old !== node) this.delta(ownerOf(old.perms), -1);
      this.delta(ownerOf(node.perms), 1);
    }
    this.overlay.set(path, node);
  }

  recount(oldOwner: number, newOwner: number): void {
    if (oldOwner === newOwner) return;
    this.delta(oldOwner, -1);
    this.delta(newOwner, 1);
  }

  delete(path: string): void {
    const old = this.overlay.has(path) ? this.overlay.get(path) : this.base.get(path);
    if (old) this.delta(ownerOf(old.perms), -1);
    this.overlay.set(path, null);
  }

  ownedBy(domid: number): number {
    return this.base.ownedBy(domid) + (this.ownerDelta.get(domid) ?? 0);
  }

  /** True when no node the transaction looked at has changed globally since. */
  unchanged(): boolean {
    for (const [path, snap] of this.seen) {
      const n = this.base.get(path);
      if ((n ? n.generation : MISSING) !== (snap ? snap.generation : MISSING)) return false;
    }
    return true;
  }

  /** Applies the overlay to the global tree (parents before children, deletions first). */
  commitTo(base: NodeTree): void {
    const paths = [...this.overlay.keys()].sort(byDepth);
    for (const p of paths) if (this.overlay.get(p) === null) base.delete(p);
    for (const p of paths) {
      const n = this.overlay.get(p);
      if (n) base.put(p, n);
    }
  }

  private delta(domid: number, d: number): void {
    this.ownerDelta.set(domid, (this.ownerDelta.get(domid) ?? 0) + d);
  }
}

function byDepth(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
