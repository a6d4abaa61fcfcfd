// GNTTABOP_setup_table, query_size, get_version and set_version (xen/common/grant_table.c:
// gnttab_setup_table, gnttab_query_size, gnttab_get_version, gnttab_set_version).

import { XEN_EACCES, XEN_EFAULT, XEN_EINVAL, XEN_EPERM, XEN_ESRCH } from '../hypercalls/errno.js';
import {
  GNTST_bad_domain,
  GNTST_general_error,
  GNTST_okay,
  GNTST_permission_denied,
} from '../hypercalls/grant-table.js';
import { DOMID_SELF } from '../hypercalls/xen.js';
import type { CallerContext } from '../hypervisor/subsystems.js';
import type { GrantTable } from './grant-table.js';
import type { GrantContext } from './map-unmap.js';
import { u16, u32 } from './validate.js';

/** rcu_lock_domain_by_any_id + XSM_TARGET: a table, or 'missing' / 'denied'. */
function targetTable(
  ctx: GrantContext,
  caller: CallerContext,
  dom: unknown,
): GrantTable | 'missing' | 'denied' {
  const d = u16(dom);
  const id = d === DOMID_SELF ? caller.domid : d;
  const t = id < 0 ? undefined : ctx.liveTable(id);
  if (!t) return 'missing';
  return id === caller.domid || caller.privileged ? t : 'denied';
}

/** Adds table frames up to `nr` (gnttab_grow_table); false when the host has no frame left. */
export function growTable(ctx: GrantContext, t: GrantTable, nr: number): boolean {
  while (t.nrFrames < nr) {
    const mfn = ctx.mm.allocXenFrame(t.domid);
    if (mfn < 0) return false;
    t.addFrame(mfn, ctx.mm.frameView(mfn));
  }
  return true;
}

/** Returns 0 or a positive errno for the hypercall; the op's own outcome goes in op.status. */
export function setupTable(
  ctx: GrantContext,
  caller: CallerContext,
  op: Record<string, unknown>,
): number {
  const nr = u32(op.nr_frames);
  const list = op.frame_list;
  // guest_handle_okay(frame_list, nr_frames)
  if (nr > 0 && (!Array.isArray(list) || list.length < nr)) return XEN_EFAULT;
  const t = targetTable(ctx, caller, op.dom);
  if (typeof t === 'string') {
    op.status = t === 'missing' ? GNTST_bad_domain : GNTST_permission_denied;
    return 0;
  }
  if (nr < 0 || nr > t.maxFrames || !growTable(ctx, t, nr)) {
    op.status = GNTST_general_error;
    return 0;
  }
  for (let i = 0; i < nr; i++) (list as number[])[i] = t.frameMfns[i] as number;
  op.status = GNTST_okay;
  return 0;
}

export function querySize(
  ctx: GrantContext,
  caller: CallerContext,
  op: Record<string, unknown>,
): number {
  const t = targetTable(ctx, caller, op.dom);
  if (t === 'missing') op.status = GNTST_bad_domain;
  else if (t === 'denied') op.status = GNTST_permission_denied;
  else {
    op.nr_frames = t.nrFrames;
    op.max_nr_frames = t.maxFrames;
    op.status = GNTST_okay;
  }
  return 0;
}

export function getVersion(
  ctx: GrantContext,
  caller: CallerContext,
  op: Record<string, unknown>,
): number {
  const t = targetTable(ctx, caller, op.dom);
  if (t === 'missing') return XEN_ESRCH;
  if (t === 'denied') return XEN_EPERM;
  op.version = t.version;
  return 0;
}

/**
 * Only version 1 exists in xensim: asking for 2 fails with -EACCES, as Xen does for a domain whose
 * max_grant_version is 1 (xl.cfg `max_grant_version=1`); any other number is -EINVAL.
 */
export function setVersion(lgt: GrantTable, op: Record<string, unknown>): number {
  const v = op.version;
  if (v !== 1 && v !== 2) return XEN_EINVAL;
  const rc = v === 2 ? XEN_EACCES : 0;
  op.version = lgt.version;
  return rc;
}
