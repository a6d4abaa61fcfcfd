// Machine memory of one host: frame bytes, the frame table, each domain's P2M and accounting, page
// references and the release of a dead domain's frames (xen/common/page_alloc.c, memory.c, domain.c).

import { PAGE_SIZE, type DomId } from '../../hypercalls/types.js';
import { err, ok, XEN_EINVAL, XEN_ESRCH, type XenResult } from '../../hypercalls/errno.js';
import type { ForeignMemory, GuestMemory } from '../../hypercalls/memory.js';
import type { CallerContext, MemorySubsystem } from '../subsystems.js';
import { DomainMemory } from './domain-memory.js';
import { FrameStore } from './frame-store.js';
import { FrameTable, PGC_allocated, PGC_xen_heap } from './frame-table.js';
import { GuestMemoryAccess } from './guest-memory.js';
import { PrivcmdForeignMemory } from './foreign-memory.js';
import { doMemoryOp } from './memory-op.js';
import { doShadowOp } from './log-dirty.js';

export interface MachineMemoryOptions {
  /** Host RAM in bytes (rounded down to whole frames); e.g. 16 GiB. */
  memoryBytes: number;
}

export class MachineMemory implements MemorySubsystem {
  readonly frames: FrameStore;
  readonly table: FrameTable;
  private readonly doms = new Map<number, DomainMemory>();
  private readonly guests = new Map<number, GuestMemoryAccess>();
  /** How many domains are in log-dirty mode. */
  private logDirtyDomains = 0;
  /** Xen-heap frames per domain (not in tot_pages). */
  private readonly xenPages = new Map<number, number>();

  constructor(opts: MachineMemoryOptions) {
    const nr = Math.floor(opts.memoryBytes / PAGE_SIZE);
    if (!(nr > 0 && nr <= 0x7fffffff)) throw new Error(`bad host memory size ${opts.memoryBytes}`);
    this.frames = new FrameStore(nr);
    this.table = new FrameTable(nr);
  }

  get nrFrames(): number {
    return this.table.nrFrames;
  }

  // ---- MemorySubsystem --------------------------------------------------------------------------

  createDomain(domid: DomId, maxPages: number): void {
    if (this.doms.has(domid)) throw new Error(`memory: domain ${domid} already exists`);
    this.doms.set(domid, new DomainMemory(domid, maxPages));
  }

  destroyDomain(domid: DomId, onReleased: (domid: DomId) => void): boolean {
    const d = this.doms.get(domid);
    if (!d || d.dying) return d !== undefined;
    d.dying = true;
    this.guests.delete(domid);
    d.hostMappings.clear();
    d.logDirty = false;
    this.recountLogDirty();
    // Xen-heap frames (grant-table frames) go back through the grant-table subsystem, which may still
    // need them while other domains hold this domain's grants mapped.
    this.table.forEachOwned(domid, (mfn) => {
      if (((this.table.flags[mfn] as number) & PGC_xen_heap) === 0) this.relinquish(mfn);
    });
    d.p2m = new Int32Array(0);
    if (this.maybeFinish(d)) return false; // everything freed now: no callback
    // A zombie: frames referenced from elsewhere keep it until their last reference goes.
    d.onReleased = onReleased as (domid: number) => void;
    return true;
  }

  setMaxPages(domid: DomId, maxPages: number): void {
    const d = this.doms.get(domid);
    if (d) d.maxPages = maxPages;
  }

  totPages(domid: DomId): number {
    return this.doms.get(domid)?.totPages ?? 0;
  }

  maxPages(domid: DomId): number {
    return this.doms.get(domid)?.maxPages ?? 0;
  }

  memoryOp(caller: CallerContext, cmd: number, arg: unknown): XenResult<number> {
    return doMemoryOp(this, caller, cmd, arg);
  }

  shadowOp(domid: DomId, arg: unknown): XenResult<number> {
    const d = this.live(domid);
    if (!d) return err(XEN_ESRCH);
    const r = doShadowOp(d, arg);
    this.recountLogDirty();
    return r;
  }

  // ---- Domain access ----------------------------------------------------------------------------

  /** The domain's memory state, dying ones included; undefined once fully released. */
  domain(domid: number): DomainMemory | undefined {
    return this.doms.get(domid);
  }

  /** A live (not dying) domain's memory state. */
  live(domid: number): DomainMemory | undefined {
    const d = this.doms.get(domid);
    return d && !d.dying ? d : undefined;
  }

  /** Domids with memory state (live, dying and zombies), ascending. */
  domids(): number[] {
    return [...this.doms.keys()].sort((a, b) => a - b);
  }

  /** The per-domain access a guest kernel gets through its boot interface. */
  guest(domid: DomId): XenResult<GuestMemory> {
    const d = this.live(domid);
    if (!d) return err(XEN_ESRCH);
    let g = this.guests.get(domid);
    if (!g) this.guests.set(domid, (g = new GuestMemoryAccess(this, d)));
    return ok(g);
  }

  /** The privcmd-like foreign mapping interface for a caller (dom0's toolstack). */
  foreign(caller: CallerContext): ForeignMemory {
    return new PrivcmdForeignMemory(this, caller);
  }

  // ---- Frames: allocation, references, release ---------------------------------------------------

  /** Allocates 2^order frames to `d` if tot_pages stays within max_pages; -1 otherwise. */
  allocFor(d: DomainMemory, order: number): number {
    const n = 1 << order;
    if (d.dying || d.totPages + n > d.maxPages) return -1;
    const mfn = this.table.alloc(d.domid, order);
    if (mfn >= 0) d.totPages += n;
    return mfn;
  }

  /** A Xen-heap frame shared with `domid` (a grant-table frame); -1 if the host is out of memory. */
  allocXenFrame(domid: number): number {
    const d = this.live(domid);
    if (!d) return -1;
    const mfn = this.table.allocXenShared(domid);
    if (mfn >= 0) this.xenPages.set(domid, (this.xenPages.get(domid) ?? 0) + 1);
    return mfn;
  }

  /** Gives a Xen-heap frame back; it is freed once nothing references it. */
  freeXenFrame(mfn: number): void {
    if (this.table.valid(mfn) && (this.table.flags[mfn] as number) & PGC_xen_heap) {
      this.relinquish(mfn);
    }
  }

  /** The owner drops its hold on a frame (decrease_reservation, destroy): it is freed now or with its last reference. */
  relinquish(mfn: number): void {
    const t = this.table;
    const flags = t.flags[mfn] as number;
    if ((flags & PGC_allocated) === 0) return;
    t.flags[mfn] = flags & ~PGC_allocated;
    const owner = this.doms.get(t.owner(mfn));
    const pfn = t.m2p(mfn);
    if (owner && pfn >= 0 && owner.mfnOf(pfn) === mfn) owner.clearP2m(pfn);
    t.setM2p(mfn, -1);
    if ((t.refs[mfn] as number) === 0) this.freeFrame(mfn);
  }

  /** get_page: takes a reference on a frame owned by live `domid`; false if it is not theirs. */
  getPage(mfn: number, domid: number): boolean {
    const t = this.table;
    if (!t.valid(mfn) || t.owner(mfn) !== domid) return false;
    if (((t.flags[mfn] as number) & PGC_allocated) === 0) return false;
    const d = this.doms.get(domid);
    if (!d || d.dying) return false;
    t.refs[mfn] = (t.refs[mfn] as number) + 1;
    return true;
  }

  /** put_page: drops a reference; a relinquished frame is freed with its last one. */
  putPage(mfn: number): void {
    const t = this.table;
    const r = (t.refs[mfn] as number) - 1;
    if (r < 0) throw new Error(`frame ${mfn}: reference count underflow`);
    t.refs[mfn] = r;
    if (r === 0 && ((t.flags[mfn] as number) & PGC_allocated) === 0) this.freeFrame(mfn);
  }

  /**
   * steal_page + assign_pages for GNTTABOP_transfer: moves an unreferenced ordinary frame of `from` to
   * `to`, out of `from`'s P2M and with no pfn at `to`. False if `to` has no headroom or is dying.
   */
  transferFrame(mfn: number, from: DomainMemory, to: DomainMemory): boolean {
    if (to.dying || to.totPages + 1 > to.maxPages) return false;
    const t = this.table;
    const pfn = t.m2p(mfn);
    if (pfn >= 0 && from.mfnOf(pfn) === mfn) from.clearP2m(pfn);
    t.setM2p(mfn, -1);
    t.setOwner(mfn, to.domid);
    from.totPages--;
    to.totPages++;
    if (from.dying) this.maybeFinish(from);
    return true;
  }

  /** True if `mfn` is an ordinary allocated frame of `domid` that nothing else references (steal_page). */
  stealable(mfn: number, domid: number): boolean {
    const t = this.table;
    if (!t.valid(mfn) || t.owner(mfn) !== domid) return false;
    return t.flags[mfn] === PGC_allocated && t.refs[mfn] === 0;
  }

  /** The frame's bytes (materialized on first use). The caller holds a reference or owns the frame. */
  frameView(mfn: number): Uint8Array {
    return this.frames.view(mfn);
  }

  /** Marks the owner's pfn for `mfn` dirty when the owner is in log-dirty mode (paging_mark_dirty). */
  /** Called with the time a vCPU waited for a paged-out page (the composition root charges it). */
  onPagingStall: ((ns: number) => void) | null = null;

  /**
   * DEVIATION(xen): mem_paging for post-copy in one call (Xen: XENMEM_paging_op nominate/evict, a
   * vm_event ring the pager reads, prep/load, then the vCPU resumes): `pfns` of `domid` are paged
   * out; a guest access to one calls `pager(pfn)` synchronously, which must load the page (privcmd
   * write) and returns the ns the vCPU waited. Loaded pages and `pageLoaded` clear the mark.
   */
  setPaging(domid: number, pfns: readonly number[], pager: (pfn: number) => number): number {
    const d = this.live(domid);
    if (!d) return XEN_ESRCH;
    const po = new Uint8Array(Math.max(d.p2m.length, 1));
    let n = 0;
    for (const pfn of pfns) {
      if (!Number.isInteger(pfn) || d.mfnOf(pfn) < 0) return XEN_EINVAL;
      if (po[pfn] === 0) n++;
      po[pfn] = 1;
    }
    d.pagedOut = n > 0 ? po : null;
    d.pagedOutLeft = n;
    d.pager = n > 0 ? pager : null;
    return 0;
  }

  /** True while `pfn` of `domid` is paged out. */
  isPagedOut(domid: number, pfn: number): boolean {
    return this.doms.get(domid)?.pagedOut?.[pfn] === 1;
  }

  /** XENMEM_paging_op_load done by the pager for `pfn`: guest accesses go straight through. */
  pageLoaded(domid: number, pfn: number): void {
    const d = this.doms.get(domid);
    const po = d?.pagedOut;
    if (!d || !po || po[pfn] !== 1) return;
    po[pfn] = 0;
    if (--d.pagedOutLeft === 0) {
      d.pagedOut = null;
      d.pager = null;
    }
  }

  /** A guest touched a paged-out page: the pager loads it; the vCPU is charged the wait. */
  pageIn(d: DomainMemory, pfn: number): void {
    const pager = d.pager;
    this.pageLoaded(d.domid, pfn);
    if (!pager) return;
    const ns = pager(pfn);
    if (ns > 0) this.onPagingStall?.(ns);
  }

  markDirtyMfn(mfn: number): void {
    if (this.logDirtyDomains === 0) return; // the common case: no migration running
    const d = this.doms.get(this.table.owner(mfn));
    if (d?.logDirty) d.markDirty(this.table.m2p(mfn));
  }

  /** Recounts the domains in log-dirty mode (after a shadow_op or a destroy: rare). */
  private recountLogDirty(): void {
    let n = 0;
    for (const d of this.doms.values()) if (d.logDirty) n++;
    this.logDirtyDomains = n;
  }

  // ---- Host mappings (grant maps installed at a mapper's host address) ----------------------------

  /** Installs a foreign frame at `hostAddr` of `domid`; false if that address already maps a page. */
  installHostMapping(domid: number, hostAddr: number, mfn: number, writable: boolean): boolean {
    return this.live(domid)?.mapHost(hostAddr, mfn, writable) ?? false;
  }

  /** Removes the mapping of `mfn` at `hostAddr`; false if that address does not map that frame. */
  removeHostMapping(domid: number, hostAddr: number, mfn: number): boolean {
    return this.doms.get(domid)?.unmapHost(hostAddr, mfn) ?? false;
  }

  private freeFrame(mfn: number): void {
    const t = this.table;
    const domid = t.owner(mfn);
    const d = this.doms.get(domid);
    if (d) {
      if ((t.flags[mfn] as number) & PGC_xen_heap) {
        this.xenPages.set(domid, (this.xenPages.get(domid) ?? 1) - 1);
      } else d.totPages--;
    }
    this.frames.scrub(mfn);
    t.release(mfn);
    if (d?.dying) this.maybeFinish(d);
  }

  /** A dying domain whose last frame went is removed and reported; returns true when that happened. */
  private maybeFinish(d: DomainMemory): boolean {
    if (d.totPages > 0 || (this.xenPages.get(d.domid) ?? 0) > 0) return false;
    if (this.doms.get(d.domid) !== d) return true;
    this.doms.delete(d.domid);
    this.xenPages.delete(d.domid);
    d.onReleased?.(d.domid);
    return true;
  }
}
