// Test fixture: a host's machine memory with plain domids, dom0 privileged.

import { MachineMemory } from '../../hypervisor/memory/machine-memory.js';
import type { CallerContext } from '../../hypervisor/subsystems.js';
import { asDomId, type DomId } from '../../hypercalls/types.js';
import type { GuestMemory } from '../../hypercalls/memory.js';
import { XENMEM_populate_physmap } from '../../hypercalls/memory.js';
import { DOMID_SELF } from '../../hypercalls/xen.js';

export const MiB = 1 << 20;

export const caller = (domid: number): CallerContext => ({
  domid: asDomId(domid),
  privileged: domid === 0,
});

export function makeMemory(memoryBytes = 64 * MiB): MachineMemory {
  return new MachineMemory({ memoryBytes });
}

/** Creates `domid` with max_pages and populates pfns [0, pages) as the builder would. */
export function makeDomain(mm: MachineMemory, domid: number, maxPages: number, pages = 0): DomId {
  const id = asDomId(domid);
  mm.createDomain(id, maxPages);
  if (pages > 0) {
    const extents = Array.from({ length: pages }, (_, i) => i);
    const r = mm.memoryOp(caller(0), XENMEM_populate_physmap, {
      extent_start: extents,
      nr_extents: pages,
      extent_order: 0,
      mem_flags: 0,
      domid,
    });
    if (!r.ok || r.value !== pages) throw new Error(`populate of d${domid} failed`);
  }
  return id;
}

export function guestOf(mm: MachineMemory, domid: number): GuestMemory {
  const g = mm.guest(asDomId(domid));
  if (!g.ok) throw new Error(`no guest memory for d${domid}`);
  return g.value;
}

export const reservation = (
  extents: number[] | null,
  nr: number,
  domid = DOMID_SELF,
  order = 0,
): Record<string, unknown> => ({
  extent_start: extents,
  nr_extents: nr,
  extent_order: order,
  mem_flags: 0,
  domid,
});
