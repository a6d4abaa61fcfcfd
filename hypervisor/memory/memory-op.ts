// HYPERVISOR_memory_op: reservations and the reservation queries (xen/common/memory.c). Reservation
// ops return the number of extents completed; like Xen, an argument it cannot use (bad domid, no
// permission, bad order, unreadable struct) completes 0 extents rather than returning an errno.

import {
  err,
  ok,
  XEN_EFAULT,
  XEN_ENOSYS,
  XEN_EPERM,
  XEN_ESRCH,
  type XenResult,
} from '../../hypercalls/errno.js';
import {
  CTLDOM_MAX_ORDER,
  DOMU_MAX_ORDER,
  MAX_ORDER,
  XENMEM_current_reservation,
  XENMEM_decrease_reservation,
  XENMEM_increase_reservation,
  XENMEMF_populate_on_demand,
  XENMEM_maximum_gpfn,
  XENMEM_maximum_ram_page,
  XENMEM_maximum_reservation,
  XENMEM_populate_physmap,
} from '../../hypercalls/memory.js';
import { DOMID_FIRST_RESERVED, DOMID_SELF } from '../../hypercalls/xen.js';
import type { CallerContext } from '../subsystems.js';
import type { DomainMemory } from './domain-memory.js';
import { PGC_allocated, PGC_xen_heap } from './frame-table.js';
import type { MachineMemory } from './machine-memory.js';

/** nr_extents must fit a continuation encoding: UINT_MAX >> MEMOP_EXTENT_SHIFT (6). */
const MAX_NR_EXTENTS = 0xffffffff >>> 6;
/** Largest pfn xensim accepts in a P2M (keeps the P2M array bounded). */
const MAX_PFN = 1 << 28;

const isUint = (x: unknown, max: number): x is number =>
  typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= max;

export function doMemoryOp(
  mm: MachineMemory,
  caller: CallerContext,
  cmd: number,
  arg: unknown,
): XenResult<number> {
  switch (cmd) {
    case XENMEM_increase_reservation:
    case XENMEM_decrease_reservation:
    case XENMEM_populate_physmap:
      return ok(reservation(mm, caller, cmd, arg));
    case XENMEM_maximum_ram_page:
      return ok(mm.nrFrames);
    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation:
    case XENMEM_maximum_gpfn: {
      // arg is a pointer to a domid_t.
      if (!isUint(arg, 0xffff)) return err(XEN_EFAULT);
      const d = target(mm, caller, arg);
      if (d === undefined) return err(XEN_ESRCH);
      if (d === null) return err(XEN_EPERM);
      if (cmd === XENMEM_current_reservation) return ok(d.totPages);
      if (cmd === XENMEM_maximum_reservation) return ok(d.maxPages);
      return ok(Math.max(d.maxGpfn, 0));
    }
    default:
      return err(XEN_ENOSYS);
  }
}

/** rcu_lock_domain_by_any_id + XSM_TARGET: the domain, undefined if missing, null if not permitted. */
function target(
  mm: MachineMemory,
  caller: CallerContext,
  domid: number,
): DomainMemory | null | undefined {
  const id = domid === DOMID_SELF ? caller.domid : domid;
  if (id >= DOMID_FIRST_RESERVED) return undefined;
  const d = mm.live(id);
  if (!d) return undefined;
  return id === caller.domid || caller.privileged ? d : null;
}

interface Reservation {
  extents: unknown[] | null;
  nr: number;
  order: number;
  d: DomainMemory;
}

function parseReservation(
  mm: MachineMemory,
  caller: CallerContext,
  cmd: number,
  arg: unknown,
): Reservation | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const r = arg as Record<string, unknown>;
  const { nr_extents: nr, extent_order: order, mem_flags: flags, domid } = r;
  if (!isUint(nr, MAX_NR_EXTENTS) || !isUint(order, MAX_ORDER) || !isUint(flags, 0xffffffff)) {
    return undefined;
  }
  if (!isUint(domid, 0xffff)) return undefined;
  // multipage_allocation_permitted: larger extents need a more trusted caller.
  if (order > (caller.privileged ? CTLDOM_MAX_ORDER : DOMU_MAX_ORDER)) return undefined;
  // Populate-on-demand is an HVM feature; a PV domain gets nothing.
  if (flags & XENMEMF_populate_on_demand) return undefined;
  const ext = r.extent_start;
  if (ext !== null && ext !== undefined && !Array.isArray(ext)) return undefined;
  if ((ext === null || ext === undefined) && cmd !== XENMEM_increase_reservation && nr > 0) {
    return undefined;
  }
  // guest_handle_subrange_okay: the whole array must be there before any extent is done.
  if (Array.isArray(ext) && ext.length < nr) return undefined;
  const d = target(mm, caller, domid);
  if (!d) return undefined;
  return { extents: (ext as unknown[] | null | undefined) ?? null, nr, order, d };
}

function reservation(mm: MachineMemory, caller: CallerContext, cmd: number, arg: unknown): number {
  const r = parseReservation(mm, caller, cmd, arg);
  if (!r) return 0;
  if (cmd === XENMEM_increase_reservation) return increase(mm, r);
  if (cmd === XENMEM_decrease_reservation) return decrease(mm, r);
  return populate(mm, r);
}

/** New extents owned by the domain, not in its P2M; their MFNs go back in extent_start. */
function increase(mm: MachineMemory, r: Reservation): number {
  for (let i = 0; i < r.nr; i++) {
    const mfn = mm.allocFor(r.d, r.order);
    if (mfn < 0) return i;
    if (r.extents) r.extents[i] = mfn;
  }
  return r.nr;
}

/** Extents at the given GPFNs; for a PV guest the MFNs are written back over the GPFNs. */
function populate(mm: MachineMemory, r: Reservation): number {
  const ext = r.extents as unknown[];
  const n = 1 << r.order;
  for (let i = 0; i < r.nr; i++) {
    const gpfn = ext[i];
    if (!isUint(gpfn, MAX_PFN - n) || gpfn % n !== 0) return i;
    // DEVIATION(xen): Xen leaves a PV guest's P2M to the guest and would orphan the old frame; the
    // hypervisor-kept P2M refuses to populate over a populated pfn.
    for (let j = 0; j < n; j++) if (r.d.mfnOf(gpfn + j) >= 0) return i;
    const mfn = mm.allocFor(r.d, r.order);
    if (mfn < 0) return i;
    for (let j = 0; j < n; j++) {
      r.d.setP2m(gpfn + j, mfn + j);
      mm.table.setM2p(mfn + j, gpfn + j);
    }
    ext[i] = mfn;
  }
  return r.nr;
}

/** Frees extents named by GMFN (= MFN for a PV guest); stops at the first frame the domain cannot give back. */
function decrease(mm: MachineMemory, r: Reservation): number {
  const ext = r.extents as unknown[];
  const n = 1 << r.order;
  const t = mm.table;
  for (let i = 0; i < r.nr; i++) {
    const gmfn = ext[i];
    if (!isUint(gmfn, t.nrFrames - 1)) return i;
    for (let j = 0; j < n; j++) {
      const mfn = gmfn + j;
      // guest_remove_page: the frame must be the domain's own, allocated, ordinary page.
      const f = mfn < t.nrFrames ? (t.flags[mfn] as number) : 0;
      if (t.owner(mfn) !== r.d.domid || !(f & PGC_allocated) || f & PGC_xen_heap) return i;
      mm.relinquish(mfn);
    }
  }
  return r.nr;
}
