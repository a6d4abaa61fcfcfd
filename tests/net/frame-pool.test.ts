import { describe, expect, it } from 'vitest';
import {
  FramePool,
  keepFrame,
  PageFrame,
  releaseFrame,
  retainFrame,
} from '../../dom0/net/frame-pool.js';

const pages = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ gmfn: 100 + i, bytes: new Uint8Array(4096) }));

describe('frame pool (frames in dom0 pages, netback.c page frags)', () => {
  it('carves 8-byte-aligned frames from one page, each a view of that page at its offset', () => {
    const src = pages(2);
    const pool = new FramePool(src);
    const a = pool.alloc(60) as PageFrame;
    const b = pool.alloc(100) as PageFrame;
    expect(a.page?.src.gmfn).toBe(b.page?.src.gmfn);
    expect([a.pageOffset, b.pageOffset]).toEqual([0, 64]);
    b.fill(7);
    const page = src.find((p) => p.gmfn === b.page?.src.gmfn) as { bytes: Uint8Array };
    expect(page.bytes.subarray(64, 164)).toEqual(new Uint8Array(100).fill(7));
  });

  it('reuses a page only once every frame in it is released', () => {
    const pool = new FramePool(pages(2));
    const a = pool.alloc(3000) as PageFrame;
    retainFrame(a); // a receiver keeps it
    releaseFrame(a); // the sender is done
    const b = pool.alloc(3000) as PageFrame; // does not fit: the second page
    expect(b.page).not.toBe(a.page);
    releaseFrame(b);
    expect(pool.alloc(3000)).not.toBeNull(); // b's page is idle and current: reused from 0
    expect(pool.alloc(3000)).toBeNull(); // a's page is still held, nothing else is free
    releaseFrame(a);
    const c = pool.alloc(3000) as PageFrame;
    expect(c.page).toBe(a.page);
  });

  it('refuses frames larger than a page and keeps no frame after close', () => {
    const pool = new FramePool(pages(1));
    expect(pool.alloc(4097)).toBeNull();
    const a = pool.alloc(100) as PageFrame;
    const freed: number[] = [];
    pool.close((p) => freed.push(p.gmfn));
    expect(freed).toEqual([]); // a is still live
    expect(pool.alloc(10)).toBeNull();
    releaseFrame(a);
    expect(freed).toEqual([100]);
  });

  it('keepFrame copies a pool frame to the heap and passes other frames through', () => {
    const pool = new FramePool(pages(1));
    const a = pool.alloc(10) as PageFrame;
    a.fill(3);
    const k = keepFrame(a);
    expect(k).not.toBeInstanceOf(PageFrame);
    a.fill(9);
    expect(k).toEqual(new Uint8Array(10).fill(3));
    const plain = new Uint8Array(4);
    expect(keepFrame(plain)).toBe(plain);
  });

  it('views made from a pool frame (subarray, slice, map) are plain arrays, not pool frames', () => {
    const pool = new FramePool(pages(1));
    const a = pool.alloc(16) as PageFrame;
    a.fill(5);
    expect(a).toBeInstanceOf(PageFrame);
    for (const v of [a.subarray(2, 6), a.slice(1), a.map((x) => x + 1)]) {
      expect(v).not.toBeInstanceOf(PageFrame);
      expect(v.constructor).toBe(Uint8Array);
    }
    // releaseFrame ignores a view: only the frame itself holds the page's reference.
    releaseFrame(a.subarray(0, 4));
    expect((a.page as NonNullable<PageFrame['page']>).refs).toBe(1);
  });
});

describe('frame objects reused from a recycled page', () => {
  it('a page carved again hands out the same frame object for the same offset and length', () => {
    const pool = new FramePool(pages(1));
    const a = pool.alloc(100) as PageFrame;
    const b = pool.alloc(60) as PageFrame;
    releaseFrame(a);
    releaseFrame(b);
    // Every frame released: the page is carved from 0 again.
    const a2 = pool.alloc(100) as PageFrame;
    const c = pool.alloc(200) as PageFrame; // b's offset, another length: a new object
    expect(a2).toBe(a);
    expect([a2.pageOffset, a2.length]).toEqual([0, 100]);
    expect(c).not.toBe(b);
    expect([c.pageOffset, c.length, c.page]).toEqual([104, 200, a.page]);
  });

  it('never while any frame of the page is held', () => {
    const pool = new FramePool(pages(2));
    const a = pool.alloc(100) as PageFrame;
    retainFrame(a);
    releaseFrame(a);
    const b = pool.alloc(100) as PageFrame;
    expect(b).not.toBe(a);
    expect(b.pageOffset).toBe(104);
  });
});
