// The toolstack's privileged mapping of another domain's frames, as Linux's privcmd
// (IOCTL_PRIVCMD_MMAPBATCH_V2) does through mmu_update with a foreign domain (xen/arch/x86/mm.c,
// XSM_TARGET): each mapped page holds a reference, so a dead domain stays a zombie until unmapped.

import {
  err,
  ok,
  XEN_EINVAL,
  XEN_EPERM,
  XEN_ESRCH,
  type XenResult,
} from '../../hypercalls/errno.js';
import type { ForeignMapping, ForeignMemory, ForeignPage } from '../../hypercalls/memory.js';
import { DOMID_SELF } from '../../hypercalls/xen.js';
import type { CallerContext } from '../subsystems.js';
import type { MachineMemory } from './machine-memory.js';
import type { DomainMemory } from './domain-memory.js';
import { PAGE_SIZE } from '../../hypercalls/types.js';
import { isZeroRange, ZERO_CHECK_PAGES } from './frame-store.js';

/** Most pages one call maps (a guard against a runaway caller; privcmd batches are far smaller). */
const MAX_BATCH = 1 << 20;

class PrivcmdMapping implements ForeignMapping {
  readonly domid: number;
  readonly writable: boolean;
  readonly pages: readonly ForeignPage[];
  unmapped = false;
  private readonly mm: MachineMemory;

  constructor(mm: MachineMemory, domid: number, writable: boolean, pages: ForeignPage[]) {
    this.mm = mm;
    this.domid = domid;
    this.writable = writable;
    this.pages = pages;
  }

  view(i: number): Uint8Array | undefined {
    const p = this.pages[i];
    return this.unmapped || !p || p.errno !== 0 ? undefined : this.mm.frameView(p.mfn);
  }

  read(i: number, dst: Uint8Array, dstZeroed = false): number {
    const p = this.pages[i];
    if (this.unmapped || !p) return XEN_EINVAL;
    if (p.errno !== 0) return p.errno;
    // A fresh buffer left untouched stays unfaulted host memory: the cheapest zero page there is.
    if (dstZeroed && !this.mm.frames.isMaterialized(p.mfn)) return 0;
    this.mm.frames.read(p.mfn, 0, dst.length > 4096 ? dst.subarray(0, 4096) : dst);
    return 0;
  }

  write(i: number, src: Uint8Array): number {
    const p = this.pages[i];
    if (this.unmapped || !p) return XEN_EINVAL;
    if (p.errno !== 0) return p.errno;
    if (!this.writable) return XEN_EPERM;
    this.mm.frames.writePage(p.mfn, src);
    // A write by the toolstack is a write: log-dirty sees it, zeros into a fresh frame included.
    this.mm.markDirtyMfn(p.mfn);
    return 0;
  }
}

export class PrivcmdForeignMemory implements ForeignMemory {
  private readonly mm: MachineMemory;
  private readonly caller: CallerContext;

  constructor(mm: MachineMemory, caller: CallerContext) {
    this.mm = mm;
    this.caller = caller;
  }

  mapForeignPfns(
    domid: number,
    pfns: readonly number[],
    writable: boolean,
  ): XenResult<ForeignMapping> {
    return this.map(domid, pfns, writable, true);
  }

  mapForeignMfns(
    domid: number,
    mfns: readonly number[],
    writable: boolean,
  ): XenResult<ForeignMapping> {
    return this.map(domid, mfns, writable, false);
  }

  setPaging(domid: number, pfns: readonly number[], pager: (pfn: number) => number): number {
    if (!this.caller.privileged) return XEN_EPERM;
    return this.mm.setPaging(domid, pfns, pager);
  }

  isPagedOut(domid: number, pfn: number): boolean {
    return this.caller.privileged && this.mm.isPagedOut(domid, pfn);
  }

  pageLoaded(domid: number, pfn: number): void {
    if (this.caller.privileged) this.mm.pageLoaded(domid, pfn);
  }

  copyFromPfns(
    domid: number,
    pfns: readonly number[],
    dst: Uint8Array,
    dstZeroed: boolean | Uint8Array = false,
  ): number {
    const d = this.target(domid, pfns, dst);
    if (typeof d === 'number') return d;
    const frames = this.mm.frames;
    const known = typeof dstZeroed === 'boolean' ? null : dstZeroed;
    if (known !== null && known.length < pfns.length) return XEN_EINVAL;
    const fresh = dstZeroed === true;
    // Never-written frames read as zeros: pages of `dst` not known to hold zeros get them, a run of
    // such pages in one fill.
    let zeroFrom = -1;
    for (let i = 0; i < pfns.length; i++) {
      const mfn = d.mfnOf(pfns[i] as number);
      if (mfn < 0) return XEN_EINVAL; // `known` still tells what each page of `dst` holds
      const v = frames.peek(mfn);
      const zeroHere = v === undefined && (fresh || known?.[i] === 1);
      if (v === undefined && !zeroHere) {
        if (zeroFrom < 0) zeroFrom = i;
        continue;
      }
      if (zeroFrom >= 0) this.zeroPages(dst, known, zeroFrom, i);
      zeroFrom = -1;
      if (v === undefined) continue;
      dst.set(v, i * PAGE_SIZE);
      if (known !== null) known[i] = 0;
    }
    if (zeroFrom >= 0) this.zeroPages(dst, known, zeroFrom, pfns.length);
    return 0;
  }

  /** Zeroes pages [from, to) of `dst` and records that they hold zeros. */
  private zeroPages(dst: Uint8Array, known: Uint8Array | null, from: number, to: number): void {
    dst.fill(0, from * PAGE_SIZE, to * PAGE_SIZE);
    known?.fill(1, from, to);
  }

  copyToPfns(domid: number, pfns: readonly number[], src: Uint8Array): number {
    const d = this.target(domid, pfns, src);
    if (typeof d === 'number') return d;
    const { frames, table } = this.mm;
    const n = pfns.length;
    for (let block = 0; block < n; block += ZERO_CHECK_PAGES) {
      const end = Math.min(n, block + ZERO_CHECK_PAGES);
      // One memcmp for a run of pages: an idle guest's pages are zeros, and zeros are not copied.
      const zeros = isZeroRange(src, block * PAGE_SIZE, end * PAGE_SIZE);
      for (let i = block; i < end; i++) {
        const mfn = d.mfnOf(pfns[i] as number);
        // A frame that may not be mapped writable (a page table) may not be written either.
        if (mfn < 0 || !table.getWritableType(mfn)) return XEN_EINVAL;
        table.putType(mfn);
        // A page of zeros: a never-written frame stays as it is (it reads as zeros).
        if (zeros) frames.scrub(mfn);
        else frames.writePageFrom(mfn, src, i * PAGE_SIZE);
        this.mm.markDirtyMfn(mfn);
      }
    }
    return 0;
  }

  /** The live domain a batch copy names, or the errno (privilege, size, domain). */
  private target(domid: number, pfns: readonly number[], buf: Uint8Array): DomainMemory | number {
    if (!this.caller.privileged) return XEN_EPERM;
    if (!Array.isArray(pfns) || pfns.length > MAX_BATCH || buf.length < pfns.length * PAGE_SIZE)
      return XEN_EINVAL;
    const id = domid === DOMID_SELF ? this.caller.domid : domid;
    const d = Number.isInteger(id) ? this.mm.live(id) : undefined;
    return d ?? XEN_ESRCH;
  }

  unmapForeign(mapping: ForeignMapping): number {
    if (!(mapping instanceof PrivcmdMapping) || mapping.unmapped) return XEN_EINVAL;
    mapping.unmapped = true;
    for (const p of mapping.pages) {
      if (p.errno !== 0) continue;
      if (mapping.writable) this.mm.table.putType(p.mfn);
      this.mm.putPage(p.mfn);
    }
    return 0;
  }

  private map(
    domid: number,
    frames: readonly number[],
    writable: boolean,
    byPfn: boolean,
  ): XenResult<ForeignMapping> {
    if (!this.caller.privileged) return err(XEN_EPERM);
    const list: unknown = frames;
    if (!Array.isArray(list) || list.length > MAX_BATCH) return err(XEN_EINVAL);
    const id = domid === DOMID_SELF ? this.caller.domid : domid;
    const d = Number.isInteger(id) ? this.mm.live(id) : undefined;
    if (!d) return err(XEN_ESRCH);
    const pages: ForeignPage[] = [];
    for (const f of list as unknown[]) {
      const n = typeof f === 'number' && Number.isInteger(f) ? f : -1;
      const mfn = byPfn ? d.mfnOf(n) : n;
      pages.push(this.pin(mfn, d.domid, writable));
    }
    return ok(new PrivcmdMapping(this.mm, d.domid, !!writable, pages));
  }

  private pin(mfn: number, domid: number, writable: boolean): ForeignPage {
    if (!this.mm.getPage(mfn, domid)) return { mfn: -1, errno: XEN_EINVAL };
    if (writable && !this.mm.table.getWritableType(mfn)) {
      this.mm.putPage(mfn);
      return { mfn: -1, errno: XEN_EINVAL };
    }
    return { mfn, errno: 0 };
  }
}
