// The guest's physical page allocator (Linux mm/page_alloc.c reduced to single pages): which pfns
// hold the kernel, which are free, which are in use by drivers and programs, and which the balloon
// has handed back to Xen (no frame behind them).

export const PFN_FREE = 0;
export const PFN_USED = 1;
export const PFN_RESERVED = 2;
export const PFN_BALLOONED = 3;

export class PageAllocator {
  /** State of each pfn below `limit`. */
  private state: Uint8Array;
  private freeCount = 0;
  private ballooned = 0;
  /** Search hint: frees happen anywhere, allocations scan down from the top like a highmem zone. */
  private hint: number;

  /** `nrPages` backed pfns; pfns up to `maxPfn` start ballooned (memory above the boot allocation). */
  constructor(nrPages: number, maxPfn = nrPages) {
    const limit = Math.max(nrPages, maxPfn);
    this.state = new Uint8Array(limit);
    this.state.fill(PFN_BALLOONED, nrPages);
    this.freeCount = nrPages;
    this.ballooned = limit - nrPages;
    this.hint = nrPages - 1;
  }

  get limit(): number {
    return this.state.length;
  }

  get free(): number {
    return this.freeCount;
  }

  get balloonedCount(): number {
    return this.ballooned;
  }

  /** Pages with a frame behind them (free, used or reserved). */
  get populated(): number {
    return this.state.length - this.ballooned;
  }

  stateOf(pfn: number): number {
    return this.state[pfn] ?? PFN_BALLOONED;
  }

  /** Marks a free pfn as the kernel's (start_info, xenstore and console pages, the kernel image). */
  reserve(pfn: number): boolean {
    if (this.state[pfn] !== PFN_FREE) return false;
    this.state[pfn] = PFN_RESERVED;
    this.freeCount--;
    return true;
  }

  /** One free page, highest first; -1 when none is left. */
  alloc(): number {
    if (this.freeCount === 0) return -1;
    const n = this.state.length;
    for (let k = 0; k < n; k++) {
      const pfn = (this.hint - k + n) % n;
      if (this.state[pfn] === PFN_FREE) {
        this.state[pfn] = PFN_USED;
        this.freeCount--;
        this.hint = pfn;
        return pfn;
      }
    }
    return -1;
  }

  /** `count` pages, or none (and -1 in the result) when that many are not free. */
  allocMany(count: number): number[] {
    if (count > this.freeCount) return [];
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(this.alloc());
    return out;
  }

  release(pfn: number): boolean {
    if (this.state[pfn] !== PFN_USED) return false;
    this.state[pfn] = PFN_FREE;
    this.freeCount++;
    return true;
  }

  /** The balloon took a used page back to Xen: no frame behind it any more. */
  markBallooned(pfn: number): void {
    if (this.state[pfn] === PFN_BALLOONED) return;
    if (this.state[pfn] === PFN_FREE) this.freeCount--;
    this.state[pfn] = PFN_BALLOONED;
    this.ballooned++;
  }

  /** Up to `count` ballooned pfns, lowest first (the balloon refills from the bottom). */
  balloonedPfns(count: number): number[] {
    const out: number[] = [];
    for (let pfn = 0; pfn < this.state.length && out.length < count; pfn++) {
      if (this.state[pfn] === PFN_BALLOONED) out.push(pfn);
    }
    return out;
  }

  /** A ballooned pfn got a frame again (populate_physmap): it becomes free. */
  markPopulated(pfn: number): void {
    if (this.state[pfn] !== PFN_BALLOONED) return;
    this.state[pfn] = PFN_FREE;
    this.ballooned--;
    this.freeCount++;
  }
}
