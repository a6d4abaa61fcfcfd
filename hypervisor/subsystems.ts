// Seams between the hypervisor core and the subsystems it dispatches to (memory in hypervisor/memory/,
// grant tables in grant-tables/). The core owns domains and vCPUs; a subsystem owns its own state per
// domain. The composition root (dom0/host/compose.ts) wires the implementations in.

import type { XenResult } from '../hypercalls/errno.js';
import type { GuestMemory } from '../hypercalls/memory.js';
import type { DomId } from '../hypercalls/types.js';

/** Who is making a hypercall: Xen's `current->domain`, and whether XSM's dummy policy treats it as the control domain. */
export interface CallerContext {
  readonly domid: DomId;
  readonly privileged: boolean;
}

/** Machine memory: frames, P2M/M2P, reservations and log-dirty (xen/common/memory.c, page_alloc.c, paging). */
export interface MemorySubsystem {
  /** Sets up an empty P2M for a new domain with `max_pages`. */
  createDomain(domid: DomId, maxPages: number): void;
  /**
   * Frees the domain's frames. Frames still referenced from elsewhere (grant maps, foreign maps) stay
   * allocated; returns true while any such frame remains, and later calls `onReleased(domid)` once they go.
   */
  destroyDomain(domid: DomId, onReleased: (domid: DomId) => void): boolean;
  setMaxPages(domid: DomId, maxPages: number): void;
  totPages(domid: DomId): number;
  maxPages(domid: DomId): number;
  /** HYPERVISOR_memory_op: the result value, or a positive errno. */
  memoryOp(caller: CallerContext, cmd: number, arg: unknown): XenResult<number>;
  /** The domain's own memory, as its kernel sees it (Xen reads start_info through it). */
  guest(domid: DomId): XenResult<GuestMemory>;
  /** XEN_DOMCTL_shadow_op on `domid` (the toolstack's call; privilege already checked). */
  shadowOp(domid: DomId, arg: unknown): XenResult<number>;
}

/** Grant tables (xen/common/grant_table.c). */
export interface GrantTableSubsystem {
  createDomain(domid: DomId, maxFrames: number): void;
  destroyDomain(domid: DomId): void;
  /** HYPERVISOR_grant_table_op(cmd, uops, count): 0 or a positive errno; per-op status goes in each uop. */
  grantTableOp(caller: CallerContext, cmd: number, uops: unknown, count: number): XenResult<number>;
}
