// What a split-driver frontend's rings need of the guest kernel (Linux xenbus_grant_ring,
// gnttab_grant_foreign_access, gnttab_end_foreign_access, notify_remote_via_irq), and the one way
// blkfront and netfront build it from the kernel.

import type { GrantClient } from '../../hypercalls/grant-client.js';
import type { HypercallInterface } from '../../hypercalls/guest-interface.js';
import type { GuestMemory } from '../../hypercalls/memory.js';

/** The page, grant and event services a frontend's rings use. */
export interface FrontendIo {
  /** A free pfn of the guest's own, or -1. */
  allocPage(): number;
  freePage(pfn: number): void;
  pfnToMfn(pfn: number): number;
  /** A view to write page `pfn` through (marks it dirty); not kept across a yield. */
  writableView(pfn: number): Uint8Array | undefined;
  /** A view to read page `pfn`. */
  view(pfn: number): Uint8Array | undefined;
  /** gnttab_grant_foreign_access to the backend domain: a ref, or negative. */
  grantAccess(mfn: number, readonly: boolean): number;
  /** gnttab_end_foreign_access_ref: false while the backend still maps it. */
  endAccess(ref: number): boolean;
  /** notify_remote_via_irq on the ring's event channel. */
  notify(): void;
}

/** What a frontend driver needs of the guest kernel (PvKernel has all of it). */
export interface FrontendHost {
  /** The hypercall page (EVTCHNOP_alloc_unbound). */
  readonly h: HypercallInterface;
  readonly events: {
    on(port: number, handler: () => void): void;
    unmask(port: number): void;
    notify(port: number): number;
    close(port: number): number;
  };
  readonly pages: { alloc(): number; release(pfn: number): boolean };
  readonly platform: { readonly memory: GuestMemory };
  /** The grant-table client, or null when Xen refused it. */
  grants(): GrantClient | null;
  printk(line: string): void;
}

/**
 * The rings' services for a device served by `backend`: pages from the kernel's allocator, grants
 * to the backend, and events on the port `port()` names once it is allocated (none before). With
 * `deferEnd`, ending access to a page the backend still maps is retried later (the kernel's
 * deferred list; the page stays out of the allocator meanwhile).
 */
export function frontendIo(
  k: FrontendHost,
  g: GrantClient,
  backend: number,
  port: () => number,
  deferEnd: boolean,
): FrontendIo {
  const mem = k.platform.memory;
  return {
    allocPage: () => k.pages.alloc(),
    freePage: (pfn) => void k.pages.release(pfn),
    pfnToMfn: (pfn) => mem.pfnToMfn(pfn),
    writableView: (pfn) => mem.writableView(pfn),
    view: (pfn) => mem.view(pfn),
    grantAccess: (mfn, readonly) => g.grantAccess(backend, mfn, readonly),
    endAccess: deferEnd ? (ref) => g.endAccessDeferred(ref) : (ref) => g.endAccess(ref),
    notify: () => {
      const p = port();
      if (p >= 0) k.events.notify(p);
    },
  };
}
