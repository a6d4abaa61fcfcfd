// Frame buffers in dom0 pages (the page frags of Linux's skb heads, which netback grant-copies a
// guest's packet straight into: drivers/net/xen-netback/netback.c xenvif_tx_build_gops): a frame
// from the pool names its machine frame and offset, so the bridge forwards it by reference and the
// receiving netback grant-copies it straight into the guest's buffer. A page is reused once every
// frame carved from it was released; holders past the delivery call retain or copy (keepFrame).

import { PAGE_SIZE } from '../../hypercalls/types.js';

/** One of dom0's pages: its machine frame and its 4 KiB. */
export interface PoolPageSource {
  readonly gmfn: number;
  readonly bytes: Uint8Array;
}

export class PoolPage {
  readonly src: PoolPageSource;
  readonly pool: FramePool;
  /** Live references to frames in this page. */
  refs = 0;
  /**
   * The frame object last carved at each 8-byte slot, reused when the same length is carved there
   * again: the page is carved afresh only once every frame in it was released, so nobody may still
   * hold one (a holder past delivery retains it, which keeps the page from being carved again).
   */
  readonly carved: (PageFrame | undefined)[] = [];

  constructor(src: PoolPageSource, pool: FramePool) {
    this.src = src;
    this.pool = pool;
  }
}

/** A frame whose bytes live in a pooled dom0 page (`page` at `pageOffset`). */
export class PageFrame extends Uint8Array {
  page: PoolPage | null = null;
  pageOffset = 0;
}
// Views made from a frame (slice, subarray, map) are plain arrays, not pool frames. A data
// property rather than a static getter: with an accessor on the class, V8 no longer folds
// `instanceof PageFrame` (~22 ns a test instead of ~2, several times per frame on the data path).
Object.defineProperty(PageFrame, Symbol.species, { value: Uint8Array });

export class FramePool {
  private readonly free: PoolPage[] = [];
  private cur: PoolPage | null = null;
  private pos = 0;
  private onIdle: ((page: PoolPageSource) => void) | null = null;

  constructor(pages: readonly PoolPageSource[]) {
    for (const p of pages) this.free.push(new PoolPage(p, this));
  }

  /** Pages with no live frame (the current one included when it has none). */
  get idlePages(): number {
    return this.free.length + (this.cur !== null && this.cur.refs === 0 ? 1 : 0);
  }

  /**
   * A frame of `len` bytes (contents undefined: the caller fills all of it) holding one reference;
   * null when it is larger than a page, every page holds live frames, or the pool is closed.
   */
  alloc(len: number): PageFrame | null {
    if (len > PAGE_SIZE || this.onIdle !== null) return null;
    let p = this.cur;
    if (p !== null && p.refs === 0) this.pos = 0;
    if (p === null || this.pos + len > PAGE_SIZE) {
      // The old page goes back to the free list when its last frame is released.
      const next = this.free.pop();
      if (next === undefined) return null;
      if (p !== null && p.refs === 0) this.free.push(p);
      p = this.cur = next;
      this.pos = 0;
    }
    const slot = this.pos >>> 3;
    let f = p.carved[slot];
    if (f === undefined || f.length !== len) {
      const b = p.src.bytes;
      f = new PageFrame(b.buffer as ArrayBuffer, b.byteOffset + this.pos, len);
      f.page = p;
      f.pageOffset = this.pos;
      p.carved[slot] = f;
    }
    p.refs++;
    // Keep every frame 8-byte aligned.
    this.pos = (this.pos + len + 7) & ~7;
    return f;
  }

  /** Drops one reference to a frame in `page`. */
  release(page: PoolPage): void {
    if (--page.refs > 0 || page === this.cur) return;
    if (this.onIdle !== null) this.onIdle(page.src);
    else this.free.push(page);
  }

  /** No more frames: idle pages go to `freePage` now, the others when their last frame is released. */
  close(freePage: (page: PoolPageSource) => void): void {
    if (this.onIdle !== null) return;
    this.onIdle = freePage;
    for (const p of this.free) freePage(p.src);
    this.free.length = 0;
    const c = this.cur;
    this.cur = null;
    if (c !== null && c.refs === 0) freePage(c.src);
  }
}

/** Takes a reference to a pool frame (no-op for any other frame). */
export function retainFrame(f: Uint8Array): void {
  if (f instanceof PageFrame && f.page !== null) f.page.refs++;
}

/** Drops a reference to a pool frame (no-op for any other frame). */
export function releaseFrame(f: Uint8Array): void {
  if (f instanceof PageFrame && f.page !== null) f.page.pool.release(f.page);
}

/** A frame that stays valid past the delivery call: a pool frame is copied to the heap. */
export function keepFrame(f: Uint8Array): Uint8Array {
  return f instanceof PageFrame ? f.slice() : f;
}
