// A domain's memory accounting and P2M (struct domain's tot_pages/max_pages in xen/include/xen/sched.h,
// the PV guest's pfn -> mfn list) and its log-dirty bitmap (xen/arch/x86/mm/paging.c).

import { PAGE_SIZE } from '../../hypercalls/types.js';
import { HostMapTable } from './host-map-table.js';

export class DomainMemory {
  readonly domid: number;
  maxPages: number;
  /** Frames owned and allocated, Xen-heap pages excluded (d->tot_pages). */
  totPages = 0;
  /** mfn + 1 per pfn, 0 = hole. Grows with the highest pfn populated. */
  p2m: Int32Array = new Int32Array(0);
  /** Highest pfn ever populated, -1 if none (XENMEM_maximum_gpfn). */
  maxGpfn = -1;
  dying = false;
  onReleased: ((domid: number) => void) | undefined;

  /**
   * Post-copy paging (mem_paging): 1 per pfn whose contents are still on another host; a guest
   * access to one calls `pager` first, which loads it and returns how long the vCPU waited (ns).
   */
  pagedOut: Uint8Array | null = null;
  pagedOutLeft = 0;
  pager: ((pfn: number) => number) | null = null;

  logDirty = false;
  /** One bit per pfn while log-dirty is on. */
  dirty: Uint8Array = new Uint8Array(0);
  dirtyCount = 0;
  faultCount = 0;

  /**
   * Grant maps installed at this domain's host addresses (its PTEs pointing at foreign frames), each
   * packed as mfn * 2 + writable to keep the map/unmap path free of allocation.
   */
  readonly hostMappings = new HostMapTable();

  constructor(domid: number, maxPages: number) {
    this.domid = domid;
    this.maxPages = maxPages;
  }

  /** The mfn behind `pfn`, or -1 for a hole or a pfn out of range. */
  mfnOf(pfn: number): number {
    return pfn >= 0 && pfn < this.p2m.length ? (this.p2m[pfn] as number) - 1 : -1;
  }

  setP2m(pfn: number, mfn: number): void {
    if (pfn >= this.p2m.length) {
      const bigger = new Int32Array(Math.max(pfn + 1, this.p2m.length * 2, 256));
      bigger.set(this.p2m);
      this.p2m = bigger;
    }
    this.p2m[pfn] = mfn + 1;
    if (pfn > this.maxGpfn) this.maxGpfn = pfn;
  }

  clearP2m(pfn: number): void {
    if (pfn >= 0 && pfn < this.p2m.length) this.p2m[pfn] = 0;
  }

  /** Installs `mfn` at `hostAddr`; false if the address already maps a page or the domain is dying. */
  mapHost(hostAddr: number, mfn: number, writable: boolean): boolean {
    return (
      !this.dying && this.hostMappings.insert(hostAddr / PAGE_SIZE, mfn * 2 + (writable ? 1 : 0))
    );
  }

  /** The mapping at `hostAddr` packed as mfn * 2 + writable, or -1. */
  hostMapping(hostAddr: number): number {
    return this.hostMappings.get(hostAddr / PAGE_SIZE);
  }

  /** Removes the mapping of `mfn` at `hostAddr`; false if that address does not map that frame. */
  unmapHost(hostAddr: number, mfn: number): boolean {
    const m = this.hostMappings.get(hostAddr / PAGE_SIZE);
    if (m < 0 || Math.floor(m / 2) !== mfn) return false;
    return this.hostMappings.remove(hostAddr / PAGE_SIZE);
  }

  /** paging_mark_dirty: sets the pfn's bit once per clean interval. */
  markDirty(pfn: number): void {
    if (!this.logDirty || pfn < 0) return;
    const byte = pfn >>> 3;
    if (byte >= this.dirty.length) {
      const bigger = new Uint8Array(Math.max(byte + 1, this.dirty.length * 2, 64));
      bigger.set(this.dirty);
      this.dirty = bigger;
    }
    const bit = 1 << (pfn & 7);
    const b = this.dirty[byte] as number;
    if ((b & bit) === 0) {
      this.dirty[byte] = b | bit;
      this.dirtyCount++;
    }
    this.faultCount++;
  }

  isDirty(pfn: number): boolean {
    return ((this.dirty[pfn >>> 3] ?? 0) & (1 << (pfn & 7))) !== 0;
  }
}
