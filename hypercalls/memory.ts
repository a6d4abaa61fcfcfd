// Memory ABI: XENMEM_* sub-ops and xen_memory_reservation (xen/include/public/memory.h), the
// log-dirty part of XEN_DOMCTL_shadow_op (public/domctl.h), and the interfaces through which a guest
// kernel touches its own memory and the toolstack maps foreign frames (Linux's privcmd).

import type { XenResult } from './errno.js';

export const XENMEM_increase_reservation = 0;
export const XENMEM_decrease_reservation = 1;
export const XENMEM_maximum_ram_page = 2;
export const XENMEM_current_reservation = 3;
export const XENMEM_maximum_reservation = 4;
export const XENMEM_machphys_mfn_list = 5;
export const XENMEM_populate_physmap = 6;
export const XENMEM_add_to_physmap = 7;
export const XENMEM_memory_map = 9;
export const XENMEM_machine_memory_map = 10;
export const XENMEM_exchange = 11;
export const XENMEM_machphys_mapping = 12;
export const XENMEM_set_memory_map = 13;
export const XENMEM_maximum_gpfn = 14;
export const XENMEM_remove_from_physmap = 15;
export const XENMEM_set_pod_target = 16;
export const XENMEM_get_pod_target = 17;
export const XENMEM_claim_pages = 24;
export const XENMEM_acquire_resource = 28;

/** Low 8 bits of mem_flags: the maximum machine address width of the new frames (0 = any). */
export const XENMEMF_address_bits_mask = 0xff;
export const XENMEMF_populate_on_demand = 1 << 16;
export const XENMEMF_exact_node_request = 1 << 17;

/** The largest extent_order Xen accepts at all (MAX_ORDER on x86), and per caller kind (CONFIG_*_MAX_ORDER). */
export const MAX_ORDER = 18;
export const DOMU_MAX_ORDER = 9;
export const CTLDOM_MAX_ORDER = 12;

/**
 * struct xen_memory_reservation. `extent_start` is the guest's array of frame numbers: IN for
 * decrease_reservation (GMFNs to free) and populate_physmap (GPFNs to fill), OUT for
 * increase_reservation and populate_physmap (the MFNs Xen picked). May be null for increase_reservation.
 */
export interface xen_memory_reservation {
  extent_start: number[] | null;
  nr_extents: number;
  extent_order: number;
  mem_flags: number;
  domid: number;
}

// XEN_DOMCTL_shadow_op sub-ops (the log-dirty ones; the others are HVM/shadow-paging only).
export const XEN_DOMCTL_SHADOW_OP_OFF = 0;
export const XEN_DOMCTL_SHADOW_OP_ENABLE = 32;
export const XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY = 2;
export const XEN_DOMCTL_SHADOW_OP_CLEAN = 11;
export const XEN_DOMCTL_SHADOW_OP_PEEK = 12;
export const XEN_DOMCTL_SHADOW_OP_GET_ALLOCATION = 30;
export const XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION = 31;

/**
 * struct xen_domctl_shadow_op. For CLEAN/PEEK `dirty_bitmap` is the caller's buffer (bit i = pfn i,
 * little-endian bytes, as libxc's bitmap), `pages` IN is how many pfns it covers and OUT how many were
 * reported; `stats` is OUT.
 */
export interface xen_domctl_shadow_op {
  op: number;
  mode?: number;
  mb?: number;
  dirty_bitmap?: Uint8Array | null;
  pages?: number;
  stats?: { fault_count: number; dirty_count: number };
}

/**
 * What a PV guest kernel uses to touch its own memory (its page tables and P2M list in a real kernel).
 * Every write marks the page in the domain's dirty log while log-dirty mode is on. Frames are named by
 * pfn; a PV guest hands MFNs (from `pfnToMfn`) to Xen in grant entries and decrease_reservation.
 * Returns are 0 or a positive errno; nothing throws on a bad pfn or range.
 */
export interface GuestMemory {
  readonly domid: number;
  /** The P2M lookup (Linux's pfn_to_mfn): the MFN, or -1 for a hole. */
  pfnToMfn(pfn: number): number;
  /** The M2P lookup, for frames this domain owns: the pfn, or -1. */
  mfnToPfn(mfn: number): number;
  /** Copies `dst.length` bytes from page `pfn` at `offset` into `dst`. */
  read(pfn: number, offset: number, dst: Uint8Array): number;
  /** Copies `src` into page `pfn` at `offset` (and marks the page dirty). */
  write(pfn: number, offset: number, src: Uint8Array): number;
  /** A view of the page for reading (do not write through it: the write would escape log-dirty). */
  view(pfn: number): Uint8Array | undefined;
  /**
   * A view for writing: marks the page dirty now. Like a writable PTE that a log-dirty CLEAN revokes,
   * it must not be kept across a yield; take it again after.
   */
  writableView(pfn: number): Uint8Array | undefined;
  /** A view of a frame the domain owns but that may have no pfn (a grant-table frame from setup_table). */
  ownFrame(mfn: number): Uint8Array | undefined;
  /** A foreign page grant-mapped at `hostAddr` with GNTMAP_host_map; only a writable map gives a view. */
  mappedView(hostAddr: number): Uint8Array | undefined;
  /** Reads from a page grant-mapped at `hostAddr` (read-only or writable map). */
  readMapped(hostAddr: number, offset: number, dst: Uint8Array): number;
  /** Writes to a page grant-mapped at `hostAddr`: XEN_EFAULT on a read-only map, as a PTE without RW faults. */
  writeMapped(hostAddr: number, offset: number, src: Uint8Array): number;
}

/** One page of a privileged foreign mapping, or the errno for that page (privcmd mmapbatch_v2's err[]). */
export interface ForeignPage {
  readonly mfn: number;
  readonly errno: number;
}

/** A batch of another domain's frames mapped by the toolstack (IOCTL_PRIVCMD_MMAPBATCH_V2). */
export interface ForeignMapping {
  readonly domid: number;
  readonly writable: boolean;
  readonly pages: readonly ForeignPage[];
  /** A view of page i (undefined where that page failed to map, or after unmap). */
  view(i: number): Uint8Array | undefined;
  /**
   * Copies page i's bytes into `dst` without materializing a never-written frame. `dstZeroed`: the
   * caller's buffer is known to be zeros (fresh), so a never-written frame needs no copy at all.
   */
  read(i: number, dst: Uint8Array, dstZeroed?: boolean): number;
  /**
   * Copies `src` (at most 4096 bytes) to the start of page i: 0, or a positive errno (EPERM on a
   * read-only mapping). An all-zero page written over a never-written frame leaves it unmaterialized
   * (it reads as zeros anyway); log-dirty mode still sees the write.
   */
  write(i: number, src: Uint8Array): number;
}

/** The privcmd-like interface of dom0's toolstack; an unprivileged caller gets XEN_EPERM. */
export interface ForeignMemory {
  /** Maps frames of `domid` named by its pfns (the hypervisor-kept P2M translates them). */
  mapForeignPfns(
    domid: number,
    pfns: readonly number[],
    writable: boolean,
  ): XenResult<ForeignMapping>;
  /** Maps frames of `domid` named by MFN (what a PV toolstack passes); each must be owned by `domid`. */
  mapForeignMfns(
    domid: number,
    mfns: readonly number[],
    writable: boolean,
  ): XenResult<ForeignMapping>;
  /** Drops the mapping's page references (a frame of a dead domain is freed with its last reference). */
  unmapForeign(mapping: ForeignMapping): number;
  /**
   * DEVIATION(xen): mem_paging for post-copy migration in one call (Xen: XENMEM_paging_op and a
   * vm_event ring): `pfns` of `domid` are paged out, and a guest access to one first calls
   * `pager(pfn)`, which loads the page (a writable foreign map) and returns the ns the vCPU waits.
   * 0 or an errno (EPERM unprivileged).
   */
  setPaging?(domid: number, pfns: readonly number[], pager: (pfn: number) => number): number;
  /**
   * Copies pages of `domid` (by pfn) out into `dst` (page i at i * 4096) in one call, as privcmd
   * mmapbatch + memcpy + munmap would, without a mapping object per page. `dstZeroed`: true when
   * `dst` is fresh (all zeros), so never-written frames need no copy; or one byte per page of `dst`,
   * 1 where that page is known to hold zeros already (a buffer reused from an earlier batch),
   * updated to what `dst` holds on return. 0, or the errno of the first pfn that failed.
   */
  copyFromPfns?(
    domid: number,
    pfns: readonly number[],
    dst: Uint8Array,
    dstZeroed?: boolean | Uint8Array,
  ): number;
  /** The reverse: pages of `src` into `domid`'s pfns (log-dirty sees the writes). */
  copyToPfns?(domid: number, pfns: readonly number[], src: Uint8Array): number;
  /** True while `pfn` of `domid` is still paged out. */
  isPagedOut?(domid: number, pfn: number): boolean;
  /** The pager loaded `pfn` on its own (a background push): guest accesses no longer fault. */
  pageLoaded?(domid: number, pfn: number): void;
}
