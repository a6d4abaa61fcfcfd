// The frame table and allocator: per machine frame its owner, M2P entry, reference and type counts
// (struct page_info in xen/include/xen/mm.h, xen/arch/x86/mm.c) and the heap that hands frames out
// and takes them back (xen/common/page_alloc.c).
//
// Arrays are encoded so that zero means "free / none": typed arrays come from calloc'd memory, so a
// 16 GiB host's table costs resident memory only for frames that were ever handed out.

/** Frame flags (count_info's PGC_* bits). */
export const PGC_allocated = 1 << 0;
export const PGC_xen_heap = 1 << 1;

/** Page types (type_info PGT_*): the ones xensim tracks. */
export const PGT_none = 0;
export const PGT_writable_page = 7;

const NO_OWNER = 0;

/**
 * Frames at the bottom of memory never handed out (Xen keeps low memory for itself): MFN 0 then never
 * names a guest page, so a zero dev_bus_addr or frame field can keep meaning "none".
 */
export const RESERVED_LOW_FRAMES = 1;

export class FrameTable {
  readonly nrFrames: number;
  /** domid + 1 of the owner; 0 = free. */
  private readonly ownerPlus1: Uint16Array;
  /** pfn + 1 in the owner's P2M (the M2P); 0 = no pfn. */
  private readonly m2pPlus1: Int32Array;
  /** General references beyond the allocation itself (grant maps, foreign maps, Xen's own). */
  readonly refs: Uint32Array;
  readonly type: Uint8Array;
  readonly typeCount: Uint32Array;
  readonly flags: Uint8Array;
  /** Frames never handed out start here. */
  private highWater = RESERVED_LOW_FRAMES;
  /** Freed frames, reused first (entries may be stale: a slow-path allocation can take them). */
  private freeStack = new Int32Array(1024);
  private freeTop = 0;
  private free: number;

  constructor(nrFrames: number) {
    this.nrFrames = nrFrames;
    this.ownerPlus1 = new Uint16Array(nrFrames);
    this.m2pPlus1 = new Int32Array(nrFrames);
    this.refs = new Uint32Array(nrFrames);
    this.type = new Uint8Array(nrFrames);
    this.typeCount = new Uint32Array(nrFrames);
    this.flags = new Uint8Array(nrFrames);
    this.free = nrFrames - RESERVED_LOW_FRAMES;
  }

  /** Frames the allocator may hand out (all but the reserved low ones). */
  get usableFrames(): number {
    return this.nrFrames - RESERVED_LOW_FRAMES;
  }

  get freeFrames(): number {
    return this.free;
  }

  /** True for an integer mfn inside the host. */
  valid(mfn: number): boolean {
    return Number.isInteger(mfn) && mfn >= 0 && mfn < this.nrFrames;
  }

  /** The owner's domid, or -1 for a free frame. */
  owner(mfn: number): number {
    return (this.ownerPlus1[mfn] as number) - 1;
  }

  setOwner(mfn: number, domid: number): void {
    this.ownerPlus1[mfn] = domid + 1;
  }

  m2p(mfn: number): number {
    return (this.m2pPlus1[mfn] as number) - 1;
  }

  setM2p(mfn: number, pfn: number): void {
    this.m2pPlus1[mfn] = pfn + 1;
  }

  /**
   * Hands out 2^order contiguous, aligned frames to `domid`; returns the first mfn or -1 when the heap
   * has no such run. The frames are allocated (PGC_allocated), untyped, with no pfn.
   */
  alloc(domid: number, order: number): number {
    const n = 1 << order;
    if (this.free < n) return -1;
    let first = -1;
    if (order === 0) first = this.popFree();
    if (first < 0) first = this.takeFromHighWater(n);
    if (first < 0 && order > 0) first = this.scanForRun(n);
    if (first < 0) return -1;
    for (let i = 0; i < n; i++) {
      const m = first + i;
      this.ownerPlus1[m] = domid + 1;
      this.flags[m] = PGC_allocated;
    }
    this.free -= n;
    return first;
  }

  /** A Xen-heap page shared with `domid` (a grant-table frame): owned, but not in its tot_pages. */
  allocXenShared(domid: number): number {
    const m = this.alloc(domid, 0);
    if (m >= 0) this.flags[m] = PGC_allocated | PGC_xen_heap;
    return m;
  }

  /** Returns a frame to the heap. The caller scrubbed it and checked nothing references it. */
  release(mfn: number): void {
    this.ownerPlus1[mfn] = NO_OWNER;
    this.m2pPlus1[mfn] = 0;
    this.flags[mfn] = 0;
    this.type[mfn] = PGT_none;
    this.typeCount[mfn] = 0;
    this.refs[mfn] = 0;
    this.free++;
    if (this.freeTop === this.freeStack.length) {
      const bigger = new Int32Array(this.freeStack.length * 2);
      bigger.set(this.freeStack);
      this.freeStack = bigger;
    }
    this.freeStack[this.freeTop++] = mfn;
  }

  /** get_page_type(PGT_writable_page): fails while the frame holds another type. */
  getWritableType(mfn: number): boolean {
    const t = this.type[mfn] as number;
    if ((this.typeCount[mfn] as number) > 0 && t !== PGT_writable_page) return false;
    this.type[mfn] = PGT_writable_page;
    this.typeCount[mfn] = (this.typeCount[mfn] as number) + 1;
    return true;
  }

  putType(mfn: number): void {
    const c = (this.typeCount[mfn] as number) - 1;
    if (c < 0) throw new Error(`frame ${mfn}: type count underflow`);
    this.typeCount[mfn] = c;
    if (c === 0) this.type[mfn] = PGT_none;
  }

  /** Calls `fn` for every frame `domid` owns, in mfn order. */
  forEachOwned(domid: number, fn: (mfn: number) => void): void {
    const tag = domid + 1;
    for (let m = 0; m < this.highWater; m++) if (this.ownerPlus1[m] === tag) fn(m);
  }

  private popFree(): number {
    while (this.freeTop > 0) {
      const m = this.freeStack[--this.freeTop] as number;
      if (this.ownerPlus1[m] === NO_OWNER) return m;
    }
    return -1;
  }

  private takeFromHighWater(n: number): number {
    const first = Math.ceil(this.highWater / n) * n;
    if (first + n > this.nrFrames) return -1;
    // Alignment skips frames that were never used: they join the free stack.
    for (let m = this.highWater; m < first; m++) {
      this.release(m);
      this.free--; // release() counted it; it was already free
    }
    this.highWater = first + n;
    return first;
  }

  /** Slow path for a multi-frame extent once the never-used region is exhausted. */
  private scanForRun(n: number): number {
    for (let first = 0; first + n <= this.highWater; first += n) {
      let i = 0;
      while (i < n && this.ownerPlus1[first + i] === NO_OWNER) i++;
      if (i === n) return first;
    }
    return -1;
  }
}
