// GNTTABOP_transfer (PV only): gives one of the caller's frames to a domain that posted a
// GTF_accept_transfer entry (xen/common/grant_table.c: gnttab_transfer, gnttab_prepare_for_transfer).
// Once the frame is stolen it is lost to the caller even if the transfer then fails.

import {
  GNTST_bad_domain,
  GNTST_bad_page,
  GNTST_general_error,
  GNTST_okay,
  GTF_accept_transfer,
  GTF_transfer_committed,
  GTF_transfer_completed,
} from '../hypercalls/grant-table.js';
import type { GrantTable } from './grant-table.js';
import type { GrantContext } from './map-unmap.js';
import { u16, u32 } from './validate.js';

export function grantTransfer(
  ctx: GrantContext,
  lgt: GrantTable,
  op: Record<string, unknown>,
): void {
  op.status = transferOne(ctx, lgt, op);
}

function transferOne(ctx: GrantContext, lgt: GrantTable, op: Record<string, unknown>): number {
  const mm = ctx.mm;
  const mfn = u32(op.mfn);
  // steal_page: an ordinary frame of the caller that nothing else references.
  if (!mm.stealable(mfn, lgt.domid)) return GNTST_bad_page;
  const from = mm.live(lgt.domid);
  const domid = u16(op.domid);
  const et = domid < 0 ? undefined : ctx.liveTable(domid);
  const to = domid < 0 ? undefined : mm.live(domid);
  if (!from || !et || !to) {
    mm.relinquish(mfn);
    return GNTST_bad_domain;
  }
  const ref = u32(op.ref);
  if (to.totPages + 1 > to.maxPages || ref < 0 || ref >= et.nrEntries) {
    mm.relinquish(mfn);
    return GNTST_general_error;
  }
  // gnttab_prepare_for_transfer: exactly GTF_accept_transfer, for this sender.
  const v = et.frameViews[ref >>> 9] as DataView;
  const off = (ref & 511) << 3;
  if (v.getUint16(off, true) !== GTF_accept_transfer || v.getUint16(off + 2, true) !== lgt.domid) {
    mm.relinquish(mfn);
    return GNTST_general_error;
  }
  v.setUint16(off, GTF_accept_transfer | GTF_transfer_committed, true);
  if (!mm.transferFrame(mfn, from, to)) {
    mm.relinquish(mfn);
    return GNTST_general_error;
  }
  // PV: the frame field receives the MFN, then the completed flag.
  v.setUint32(off + 4, mfn, true);
  v.setUint16(off, GTF_accept_transfer | GTF_transfer_committed | GTF_transfer_completed, true);
  return GNTST_okay;
}
