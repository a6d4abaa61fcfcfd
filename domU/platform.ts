// The seam between the PV guest kernel model and the machine it boots on (Linux arch/x86/xen/
// enlighten_pv.c's view of a PV domain): the hypercall page, shared_info and start_info from
// GuestEnv, and access to the kernel's own pages by pfn (its page tables and P2M in a real kernel).

import type { GuestEnv } from '../hypercalls/guest-interface.js';
import type { GuestMemory } from '../hypercalls/memory.js';

/**
 * Everything the kernel touches. `env` is what the hypervisor hands the guest at boot; `memory` is
 * hypercalls/memory.ts GuestMemory for the same domain. The kernel uses, of GuestMemory:
 * `pfnToMfn`, `mfnToPfn` (start_info names the store and console pages by MFN), `view` (read its
 * pages; never written through), `writableView` (write; never kept across a yield), `ownFrame`
 * (grant-table frames, via GrantClient).
 */
export interface KernelPlatform {
  readonly env: GuestEnv;
  readonly memory: GuestMemory;
}

/** How the composition root gives a booting kernel its platform: called once per boot on vCPU 0. */
export type PlatformResolver = (env: GuestEnv) => KernelPlatform;

/** The pfn of the machine frame `mfn` in this guest, or -1 (start_info's store_mfn/console_mfn). */
export function pfnOfMfn(memory: GuestMemory, mfn: number): number {
  return memory.mfnToPfn(mfn);
}

/** One page of the guest's own: `read` for looking, `write` for changing (never kept across a yield). */
export interface GuestPage {
  read(): Uint8Array | undefined;
  write(): Uint8Array | undefined;
}

/** The page at `pfn`, through GuestMemory so log-dirty mode sees every write. */
export function guestPage(memory: GuestMemory, pfn: number): GuestPage {
  return { read: () => memory.view(pfn), write: () => memory.writableView(pfn) };
}
