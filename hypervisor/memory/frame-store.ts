// Machine memory bytes: 4 KiB frames carved lazily out of 1 MiB chunks, one cached Uint8Array view per
// frame (the frame contents behind xen/common/page_alloc.c's struct page_info).

import { PAGE_SIZE } from '../../hypercalls/types.js';

const CHUNK_SHIFT = 8;
/** Frames per chunk (1 MiB): big enough to amortise the allocation, small enough to stay sparse. */
export const FRAMES_PER_CHUNK = 1 << CHUNK_SHIFT;
const CHUNK_MASK = FRAMES_PER_CHUNK - 1;
/**
 * Frames start this far into their chunk's allocation, so no frame is page-aligned in host memory.
 * The host kernel copies page-cache data into a page-aligned destination at half speed (4 KiB
 * aliasing between source and destination: a 64 KiB pread took 11.7 us into a page-aligned buffer,
 * 5.7 us into one 64 bytes further, measured on this project's machines); disk reads straight into
 * frames (blkback's bounce pages) depend on it. One cache line keeps copies between frames aligned.
 */
const FRAME_LEAD_BYTES = 64;

/** One chunk of host memory: its bytes and the views of the frames materialized so far. */
interface Chunk {
  readonly buf: ArrayBuffer;
  readonly views: (Uint8Array | undefined)[];
}

export class FrameStore {
  readonly nrFrames: number;
  /** chunks[c] backs frames c*256 .. c*256+255 once one of them was materialized. */
  private readonly chunks: (Chunk | undefined)[];
  private chunkCount = 0;
  private viewCount = 0;

  constructor(nrFrames: number) {
    this.nrFrames = nrFrames;
    this.chunks = new Array<Chunk | undefined>(Math.ceil(nrFrames / FRAMES_PER_CHUNK)).fill(
      undefined,
    );
  }

  /** Bytes of chunks allocated (address space; the OS backs only the pages actually written). */
  get backedBytes(): number {
    return this.chunkCount * FRAMES_PER_CHUNK * PAGE_SIZE;
  }

  /** Frames materialized (with a view of their own). */
  get materializedFrames(): number {
    return this.viewCount;
  }

  /** True when the frame has bytes of its own; a frame that never did reads as zeros. */
  isMaterialized(mfn: number): boolean {
    return this.chunks[mfn >>> CHUNK_SHIFT]?.views[mfn & CHUNK_MASK] !== undefined;
  }

  /** The frame's view, or undefined if never materialized. The caller checked `mfn` is in range. */
  peek(mfn: number): Uint8Array | undefined {
    return this.chunks[mfn >>> CHUNK_SHIFT]?.views[mfn & CHUNK_MASK];
  }

  /** The frame's view, materializing it (and its chunk) on first use. The caller checked `mfn`. */
  view(mfn: number): Uint8Array {
    const chunk = this.chunks[mfn >>> CHUNK_SHIFT];
    const v = chunk?.views[mfn & CHUNK_MASK];
    return v ?? this.materialize(mfn);
  }

  /** Copies frame bytes into `dst` (zeros for a never-written frame) without materializing it. */
  read(mfn: number, offset: number, dst: Uint8Array): void {
    const v = this.peek(mfn);
    if (v === undefined) dst.fill(0);
    else if (offset === 0 && dst.length === PAGE_SIZE) dst.set(v);
    else dst.set(v.subarray(offset, offset + dst.length));
  }

  /**
   * Copies `src` (at most a page) to the start of the frame. A never-materialized frame reads as
   * zeros, so writing zeros into one leaves it unmaterialized: a restored idle guest costs nothing.
   * Returns whether the frame holds bytes of its own afterwards.
   */
  writePage(mfn: number, src: Uint8Array): boolean {
    const bytes = src.length > PAGE_SIZE ? src.subarray(0, PAGE_SIZE) : src;
    const v = this.peek(mfn);
    if (v !== undefined) {
      v.set(bytes);
      return true;
    }
    if (isZero(bytes)) return false;
    this.materialize(mfn).set(bytes);
    return true;
  }

  /**
   * `writePage` of the page at `src[off, off + 4096)`, without a view of it: a batch copy checks a
   * never-materialized frame's page for zeros in place (memcmp) and copies only a page with data.
   */
  writePageFrom(mfn: number, src: Uint8Array, off: number): boolean {
    const v = this.peek(mfn);
    if (v === undefined && isZeroRange(src, off, off + PAGE_SIZE)) return false;
    (v ?? this.materialize(mfn)).set(src.subarray(off, off + PAGE_SIZE));
    return true;
  }

  /** Zeroes a frame before it goes back to the free pool (Xen scrubs freed pages). */
  scrub(mfn: number): void {
    this.peek(mfn)?.fill(0);
  }

  private materialize(mfn: number): Uint8Array {
    const c = mfn >>> CHUNK_SHIFT;
    let chunk = this.chunks[c];
    if (!chunk) {
      // Zero-filled by the allocator; large enough that the OS maps it lazily.
      chunk = {
        buf: new ArrayBuffer(FRAME_LEAD_BYTES + FRAMES_PER_CHUNK * PAGE_SIZE),
        views: new Array<Uint8Array | undefined>(FRAMES_PER_CHUNK),
      };
      this.chunks[c] = chunk;
      this.chunkCount++;
    }
    const i = mfn & CHUNK_MASK;
    const v = new Uint8Array(chunk.buf, FRAME_LEAD_BYTES + i * PAGE_SIZE, PAGE_SIZE);
    chunk.views[i] = v;
    this.viewCount++;
    return v;
  }
}

/** Pages a batch copy checks for zeros at once (isZeroRange). */
export const ZERO_CHECK_PAGES = 256;
/** The leading bytes isZeroRange checks one by one: one cache line. */
const ZERO_LEAD = 64;
/** Buffer's memcmp, applied below to a plain Uint8Array (Node's compare reads any Uint8Array). */
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with an explicit `this`
const compareBytes = Buffer.alloc(0).compare;

/**
 * True when `b[start, end)` is all zeros. The first 64 bytes are checked one by one; then one
 * memcmp of the range against itself 64 bytes on (every byte equals the one 64 before it, so all
 * equal the zero lead). Both sides of that memcmp are the same cache lines, so it reads the range
 * once: ~25 ms per GiB against ~55 ms comparing with a zero buffer (a second stream of memory),
 * on cache-resident data; data just copied in by the kernel is partly out of cache, and then memory
 * bandwidth bounds it either way (~90 ms per GiB in a migration target). It stops at the first
 * byte that differs.
 */
export function isZeroRange(b: Uint8Array, start: number, end: number): boolean {
  const lead = Math.min(end, start + ZERO_LEAD);
  for (let i = start; i < lead; i++) if (b[i] !== 0) return false;
  if (end - start <= ZERO_LEAD) return true;
  return compareBytes.call(b, b, start, end - ZERO_LEAD, start + ZERO_LEAD, end) === 0;
}

/** True when every byte of `b` is zero (isZeroRange over all of it). */
export function isZero(b: Uint8Array): boolean {
  return isZeroRange(b, 0, b.length);
}
