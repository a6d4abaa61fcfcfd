// The path -> node index of the store, sharded by domain home (`/local/domain/<domid>/...`).
// One V8 Map of a million string keys makes even a hot lookup walk cold hash chains; per-domain
// maps keep each domain's nodes together (tools/xenstore keeps them in one TDB: DEVIATION(xen),
// a layout choice only, invisible on the wire).

import type { XsNode } from './node.js';

const PREFIX = '/local/domain/';

/** The domid whose home holds `path`, or -1 for paths outside `/local/domain/<domid>`. */
function shardOf(path: string): number {
  if (!path.startsWith(PREFIX)) return -1;
  let id = 0;
  let i = PREFIX.length;
  const n = path.length;
  if (i === n) return -1;
  for (; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x2f) break;
    if (c < 0x30 || c > 0x39 || i - PREFIX.length >= 6) return -1;
    id = id * 10 + (c - 0x30);
  }
  return id;
}

export class PathIndex {
  private readonly shards = new Map<number, Map<string, XsNode>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(path: string): XsNode | undefined {
    return this.shards.get(shardOf(path))?.get(path);
  }

  set(path: string, node: XsNode): void {
    const s = shardOf(path);
    let m = this.shards.get(s);
    if (!m) this.shards.set(s, (m = new Map<string, XsNode>()));
    const before = m.size;
    m.set(path, node);
    this.count += m.size - before;
  }

  delete(path: string): boolean {
    const s = shardOf(path);
    const m = this.shards.get(s);
    if (!m?.delete(path)) return false;
    this.count--;
    if (m.size === 0) this.shards.delete(s);
    return true;
  }

  *entries(): IterableIterator<[string, XsNode]> {
    for (const m of this.shards.values()) yield* m.entries();
  }

  *values(): IterableIterator<XsNode> {
    for (const m of this.shards.values()) yield* m.values();
  }

  [Symbol.iterator](): IterableIterator<[string, XsNode]> {
    return this.entries();
  }
}
