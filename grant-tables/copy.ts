// GNTTABOP_copy: copies bytes between a granted page and the caller's own page, or between two
// granted pages, with the checks of xen/common/grant_table.c (gnttab_copy_lock_domain,
// acquire_grant_for_copy, gnttab_copy_buf). Source and destination are validated before any byte moves.

import {
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTST_bad_copy_arg,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_page,
  GNTST_general_error,
  GNTST_okay,
  GNTST_permission_denied,
  GTF_permit_access,
  GTF_readonly,
  GTF_type_mask,
} from '../hypercalls/grant-table.js';
import { PAGE_SIZE } from '../hypercalls/types.js';
import { DOMID_SELF } from '../hypercalls/xen.js';
import { PGC_allocated } from '../hypervisor/memory/frame-table.js';
import { GNTPIN_devw_mask, GNTPIN_hstw_mask, type GrantTable } from './grant-table.js';
import type { GrantContext } from './map-unmap.js';
import { isStruct, u16, u32 } from './validate.js';

/** Below this length a byte loop is cheaper than `subarray` + `set`. */
const SMALL_COPY_BYTES = 128;

/** gnttab_copy_lock_domain: only DOMID_SELF may name a frame directly; returns a table or a status. */
function lockDomain(
  ctx: GrantContext,
  lgt: GrantTable,
  domid: number,
  isGref: boolean,
): GrantTable | number {
  if (domid !== DOMID_SELF && !isGref) return GNTST_permission_denied;
  const t = domid === DOMID_SELF ? lgt : domid < 0 ? undefined : ctx.liveTable(domid);
  return t ?? GNTST_bad_domain;
}

/**
 * Resolves one side to an MFN (>= 0) or a status (< 0). By grant: acquire_grant_for_copy's checks; by
 * gmfn: the frame must be the caller's own ordinary page. No flag is left changed: the copy is atomic here.
 */
function claim(
  ctx: GrantContext,
  ld: number,
  t: GrantTable,
  ptr: Record<string, unknown>,
  isGref: boolean,
  readonly: boolean,
): number {
  const u = ptr.u;
  const table = ctx.mm.table;
  if (!isGref) {
    const gmfn = isStruct(u) ? u32(u.gmfn) : -1;
    if (!table.valid(gmfn) || table.owner(gmfn) !== ld) return GNTST_bad_page;
    return (table.flags[gmfn] as number) & PGC_allocated ? gmfn : GNTST_bad_page;
  }
  const ref = isStruct(u) ? u32(u.ref) : -1;
  if (ref < 0 || ref >= t.nrEntries) return GNTST_bad_gntref;
  const pin = t.actPin[ref] as number;
  if (pin !== 0 && t.actDomid[ref] !== ld) return GNTST_general_error;
  const v = t.frameViews[ref >>> 9] as DataView;
  const off = (ref & 511) << 3;
  if (pin === 0 || (!readonly && (pin & (GNTPIN_hstw_mask | GNTPIN_devw_mask)) === 0)) {
    const flags = v.getUint16(off, true);
    if ((flags & GTF_type_mask) !== GTF_permit_access || v.getUint16(off + 2, true) !== ld) {
      return GNTST_general_error;
    }
    if (!readonly && flags & GTF_readonly) return GNTST_general_error;
  }
  const mfn = pin !== 0 ? (t.actMfn[ref] as number) : v.getUint32(off + 4, true);
  if (!table.valid(mfn) || table.owner(mfn) !== t.domid) return GNTST_bad_page;
  return mfn;
}

export function grantCopy(ctx: GrantContext, lgt: GrantTable, op: Record<string, unknown>): void {
  op.status = copyOne(ctx, lgt, op);
}

function copyOne(ctx: GrantContext, lgt: GrantTable, op: Record<string, unknown>): number {
  const src = op.source;
  const dst = op.dest;
  const flags = u32(op.flags);
  if (!isStruct(src) || !isStruct(dst) || flags < 0) return GNTST_general_error;
  const srcGref = (flags & GNTCOPY_source_gref) !== 0;
  const dstGref = (flags & GNTCOPY_dest_gref) !== 0;
  const st = lockDomain(ctx, lgt, u16(src.domid), srcGref);
  if (typeof st === 'number') return st;
  const dt = lockDomain(ctx, lgt, u16(dst.domid), dstGref);
  if (typeof dt === 'number') return dt;
  const smfn = claim(ctx, lgt.domid, st, src, srcGref, true);
  if (smfn < 0) return smfn;
  const dmfn = claim(ctx, lgt.domid, dt, dst, dstGref, false);
  if (dmfn < 0) return dmfn;
  const soff = u16(src.offset);
  const doff = u16(dst.offset);
  const len = u16(op.len);
  if (soff < 0 || doff < 0 || len < 0 || soff + len > PAGE_SIZE || doff + len > PAGE_SIZE) {
    return GNTST_bad_copy_arg;
  }
  const frames = ctx.mm.frames;
  const dv = frames.view(dmfn);
  const sv = frames.peek(smfn);
  if (sv === undefined) dv.fill(0, doff, doff + len);
  else if (len === PAGE_SIZE) dv.set(sv);
  else if (len > SMALL_COPY_BYTES) dv.set(sv.subarray(soff, soff + len), doff);
  // Small copies (packet headers): a byte loop beats creating a subarray.
  else for (let i = 0; i < len; i++) dv[doff + i] = sv[soff + i] as number;
  ctx.mm.markDirtyMfn(dmfn);
  return GNTST_okay;
}
