// GNTTABOP_map_grant_ref and GNTTABOP_unmap_grant_ref, with Xen's check order and status codes
// (xen/common/grant_table.c: map_grant_ref, unmap_common, unmap_common_complete).

import {
  GNTMAP_application_map,
  GNTMAP_contains_pte,
  GNTMAP_device_map,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_bad_page,
  GNTST_general_error,
  GNTST_no_space,
  GNTST_okay,
  GTF_permit_access,
  GTF_reading,
  GTF_readonly,
  GTF_type_mask,
  GTF_writing,
} from '../hypercalls/grant-table.js';
import { PAGE_SIZE } from '../hypercalls/types.js';
import type { MachineMemory } from '../hypervisor/memory/machine-memory.js';
import {
  GNTPIN_devr_inc,
  GNTPIN_devw_inc,
  GNTPIN_devw_mask,
  GNTPIN_hstr_inc,
  GNTPIN_hstw_inc,
  GNTPIN_hstw_mask,
  pinOverflowMask,
  type GrantTable,
} from './grant-table.js';
import { u16, u32 } from './validate.js';

/** What map/unmap need from the subsystem. */
export interface GrantContext {
  readonly mm: MachineMemory;
  /** A live domain's table (a dying granter's table cannot be newly mapped). */
  liveTable(domid: number): GrantTable | undefined;
  /** Any table still held, dying ones included. */
  table(domid: number): GrantTable | undefined;
  /** Called when a dying table's last pin goes. */
  maybeFinish(rgt: GrantTable): void;
}

/** Host addresses are page-aligned user/kernel virtual addresses below 2^47, not 0. */
const MAX_HOST_ADDR = 2 ** 47;
const validHostAddr = (a: number): boolean =>
  Number.isInteger(a) && a > 0 && a < MAX_HOST_ADDR && a % PAGE_SIZE === 0;

/** Kinds a map op holds (host/device) and their pin increments. */
function pinIncr(flags: number): number {
  const ro = flags & GNTMAP_readonly;
  let incr = 0;
  if (flags & GNTMAP_device_map) incr += ro ? GNTPIN_devr_inc : GNTPIN_devw_inc;
  if (flags & GNTMAP_host_map) incr += ro ? GNTPIN_hstr_inc : GNTPIN_hstw_inc;
  return incr;
}

/** v1 _set_status: the entry must permit `ld` access, writably if asked; sets GTF_reading/writing. */
function setStatus(rgt: GrantTable, ref: number, ld: number, readonly: boolean): number {
  const v = rgt.frameViews[ref >>> 9] as DataView;
  const off = (ref & 511) << 3;
  const flags = v.getUint16(off, true);
  if ((flags & GTF_type_mask) !== GTF_permit_access || v.getUint16(off + 2, true) !== ld) {
    return GNTST_general_error;
  }
  if (!readonly && flags & GTF_readonly) return GNTST_general_error;
  v.setUint16(off, flags | GTF_reading | (readonly ? 0 : GTF_writing), true);
  return GNTST_okay;
}

/** gnttab_clear_flags on the entry's flags word. */
export function clearFlags(rgt: GrantTable, ref: number, clear: number): void {
  const v = rgt.frameViews[ref >>> 9] as DataView;
  const off = (ref & 511) << 3;
  v.setUint16(off, v.getUint16(off, true) & ~clear, true);
}

export function mapGrantRef(ctx: GrantContext, lgt: GrantTable, op: Record<string, unknown>): void {
  const flags = u32(op.flags);
  const incr = flags < 0 ? 0 : pinIncr(flags);
  if (incr === 0) return void (op.status = GNTST_bad_gntref);
  // DEVIATION(xen): xensim has no guest page tables, so PTE-address and application mappings fail.
  if (flags & (GNTMAP_contains_pte | GNTMAP_application_map)) {
    return void (op.status = GNTST_general_error);
  }
  const dom = u16(op.dom);
  const rgt = dom < 0 ? undefined : ctx.liveTable(dom);
  if (!rgt) return void (op.status = GNTST_bad_domain);
  const handle = lgt.getHandle();
  if (handle < 0) return void (op.status = GNTST_no_space);
  const rc = mapWithHandle(ctx, lgt, rgt, op, flags, incr, handle);
  if (rc !== GNTST_okay) lgt.putHandle(handle);
  op.status = rc;
}

function mapWithHandle(
  ctx: GrantContext,
  lgt: GrantTable,
  rgt: GrantTable,
  op: Record<string, unknown>,
  flags: number,
  incr: number,
  handle: number,
): number {
  const ref = u32(op.ref);
  if (ref < 0 || ref >= rgt.nrEntries) return GNTST_bad_gntref;
  const ld = lgt.domid;
  const readonly = (flags & GNTMAP_readonly) !== 0;
  const hostMap = (flags & GNTMAP_host_map) !== 0;
  const hostAddr = op.host_addr as number;
  const pin = rgt.actPin[ref] as number;
  if (pin !== 0 && (rgt.actDomid[ref] !== ld || (pin & pinOverflowMask(incr)) !== 0)) {
    return GNTST_general_error;
  }
  let setFlags = false;
  if (pin === 0 || (!readonly && (pin & (GNTPIN_hstw_mask | GNTPIN_devw_mask)) === 0)) {
    const rc = setStatus(rgt, ref, ld, readonly);
    if (rc !== GNTST_okay) return rc;
    setFlags = true;
    if (pin === 0) {
      // PV: the entry's frame is an MFN that must belong to the granter (get_paged_frame).
      const v = rgt.frameViews[ref >>> 9] as DataView;
      const frame = v.getUint32(((ref & 511) << 3) + 4, true);
      if (!ctx.mm.table.valid(frame) || ctx.mm.table.owner(frame) !== rgt.domid) {
        undoFlags(rgt, ref, readonly, 0);
        return GNTST_bad_page;
      }
      rgt.actDomid[ref] = ld;
      rgt.actMfn[ref] = frame;
    }
  }
  const mfn = rgt.actMfn[ref] as number;
  // Page references: one per kind held, plus a writable type reference per writable kind.
  const kinds = (flags & GNTMAP_device_map ? 1 : 0) + (hostMap ? 1 : 0);
  const ok = takeRefs(ctx, rgt.domid, mfn, kinds, readonly);
  const mapped =
    ok &&
    (!hostMap ||
      (validHostAddr(hostAddr) && ctx.mm.installHostMapping(ld, hostAddr, mfn, !readonly)));
  if (!mapped) {
    if (ok) dropRefs(ctx, mfn, kinds, readonly);
    if (setFlags) undoFlags(rgt, ref, readonly, pin);
    return GNTST_general_error;
  }
  if (pin === 0) rgt.activeCount++;
  rgt.actPin[ref] = pin + incr;
  lgt.mtFlags[handle] = flags & (GNTMAP_device_map | GNTMAP_host_map | GNTMAP_readonly);
  lgt.mtDom[handle] = rgt.domid;
  lgt.mtRef[handle] = ref;
  lgt.mtHostAddr[handle] = hostMap ? hostAddr : 0;
  op.handle = handle;
  op.dev_bus_addr = mfn * PAGE_SIZE;
  return GNTST_okay;
}

/** Clears what setStatus set when the map fails after it (unlock_out_clear). */
function undoFlags(rgt: GrantTable, ref: number, readonly: boolean, pin: number): void {
  let clear = 0;
  if (!readonly && (pin & (GNTPIN_hstw_mask | GNTPIN_devw_mask)) === 0) clear |= GTF_writing;
  if (pin === 0) clear |= GTF_reading;
  if (clear) clearFlags(rgt, ref, clear);
}

export function unmapGrantRef(
  ctx: GrantContext,
  lgt: GrantTable,
  op: Record<string, unknown>,
): void {
  const handle = u32(op.handle);
  if (handle < 0 || handle >= lgt.maptrackLimit) return void (op.status = GNTST_bad_handle);
  const mflags = lgt.mtFlags[handle] as number;
  if (mflags === 0) return void (op.status = GNTST_bad_handle);
  op.status = unmapHandle(ctx, lgt, handle, op.host_addr, op.dev_bus_addr);
}

/**
 * unmap_common + unmap_common_complete for one handle; 0 host/dev address means "not that kind".
 * `teardown` (gnttab_release_mappings of a dying mapper) releases the grant even if the mapper's own
 * page tables are already gone.
 */
export function unmapHandle(
  ctx: GrantContext,
  lgt: GrantTable,
  handle: number,
  hostAddrIn: unknown,
  devBusAddrIn: unknown,
  teardown = false,
): number {
  const mflags = lgt.mtFlags[handle] as number;
  const rgt = ctx.table(lgt.mtDom[handle] as number) as GrantTable;
  const ref = lgt.mtRef[handle] as number;
  const mfn = rgt.actMfn[ref] as number;
  const hostAddr = typeof hostAddrIn === 'number' ? hostAddrIn : 0;
  const devBusAddr = typeof devBusAddrIn === 'number' ? devBusAddrIn : 0;
  if (devBusAddr !== 0 && devBusAddr !== mfn * PAGE_SIZE) return GNTST_general_error;
  let done = 0;
  if (hostAddr !== 0 && mflags & GNTMAP_host_map) {
    // DEVIATION(xen): Xen only checks that the PTE at host_addr maps the same frame, so one handle
    // could tear down another mapping's PTE of that frame and leave its own PTE behind unpinned. The
    // address must be the one this handle mapped.
    if (hostAddr !== lgt.mtHostAddr[handle] && !teardown) return GNTST_general_error;
    const removed = ctx.mm.removeHostMapping(lgt.domid, hostAddr, mfn);
    if (!removed && !teardown) return GNTST_general_error;
    done |= GNTMAP_host_map;
  }
  if (devBusAddr !== 0 && mflags & GNTMAP_device_map) done |= GNTMAP_device_map;
  if (done === 0) return GNTST_okay;
  const left = mflags & ~done;
  if ((left & (GNTMAP_device_map | GNTMAP_host_map)) === 0) lgt.putHandle(handle);
  else lgt.mtFlags[handle] = left;
  releasePins(ctx, rgt, ref, mfn, done | (mflags & GNTMAP_readonly));
  return GNTST_okay;
}

/** Takes `kinds` page references (and writable type references); all or nothing. */
function takeRefs(
  ctx: GrantContext,
  owner: number,
  mfn: number,
  kinds: number,
  ro: boolean,
): boolean {
  let got = 0;
  let typed = 0;
  let ok = true;
  while (ok && got < kinds) if ((ok = ctx.mm.getPage(mfn, owner))) got++;
  while (ok && !ro && typed < kinds) if ((ok = ctx.mm.table.getWritableType(mfn))) typed++;
  if (ok) return true;
  for (let i = 0; i < typed; i++) ctx.mm.table.putType(mfn);
  for (let i = 0; i < got; i++) ctx.mm.putPage(mfn);
  return false;
}

function dropRefs(ctx: GrantContext, mfn: number, kinds: number, ro: boolean): void {
  for (let i = 0; i < kinds; i++) {
    if (!ro) ctx.mm.table.putType(mfn);
    ctx.mm.putPage(mfn);
  }
}

/** unmap_common_complete: drops the page and pin references of the kinds in `done`. */
function releasePins(
  ctx: GrantContext,
  rgt: GrantTable,
  ref: number,
  mfn: number,
  done: number,
): void {
  const readonly = (done & GNTMAP_readonly) !== 0;
  let pin = rgt.actPin[ref] as number;
  let kinds = 0;
  if (done & GNTMAP_device_map) {
    kinds++;
    pin -= readonly ? GNTPIN_devr_inc : GNTPIN_devw_inc;
  }
  if (done & GNTMAP_host_map) {
    kinds++;
    pin -= readonly ? GNTPIN_hstr_inc : GNTPIN_hstw_inc;
  }
  rgt.actPin[ref] = pin;
  // Mark dirty before the last reference can free the frame of a dying granter.
  if (!readonly) ctx.mm.markDirtyMfn(mfn);
  dropRefs(ctx, mfn, kinds, readonly);
  let clear = 0;
  if ((pin & (GNTPIN_hstw_mask | GNTPIN_devw_mask)) === 0 && !readonly) clear |= GTF_writing;
  if (pin === 0) clear |= GTF_reading;
  if (clear) clearFlags(rgt, ref, clear);
  if (pin === 0) {
    rgt.activeCount--;
    if (rgt.dying) ctx.maybeFinish(rgt);
  }
}
