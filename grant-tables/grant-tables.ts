// The grant-table subsystem: every domain's table, HYPERVISOR_grant_table_op's batch loop and the
// teardown of a dying domain's mappings and grants (xen/common/grant_table.c: do_grant_table_op,
// gnttab_release_mappings, grant_table_destroy).

import {
  err,
  ok,
  XEN_EFAULT,
  XEN_EINVAL,
  XEN_ENOSYS,
  XEN_ESRCH,
  type XenResult,
} from '../hypercalls/errno.js';
import {
  DEFAULT_MAX_MAPTRACK_FRAMES,
  GNTMAP_device_map,
  GNTTABOP_copy,
  GNTTABOP_get_version,
  GNTTABOP_map_grant_ref,
  GNTTABOP_query_size,
  GNTTABOP_set_version,
  GNTTABOP_setup_table,
  GNTTABOP_transfer,
  GNTTABOP_unmap_grant_ref,
  INITIAL_NR_GRANT_FRAMES,
} from '../hypercalls/grant-table.js';
import { PAGE_SIZE, type DomId } from '../hypercalls/types.js';
import type { MachineMemory } from '../hypervisor/memory/machine-memory.js';
import type { CallerContext, GrantTableSubsystem } from '../hypervisor/subsystems.js';
import { grantCopyBatch } from './copy.js';
import { GrantTable } from './grant-table.js';
import { mapGrantRef, unmapGrantRef, unmapHandle, type GrantContext } from './map-unmap.js';
import { getVersion, growTable, querySize, setupTable, setVersion } from './table-ops.js';
import { grantTransfer } from './transfer.js';
import { isStruct } from './validate.js';

export interface GrantTablesOptions {
  /** gnttab_max_maptrack_frames (default 1024): how many maps one domain may hold, in frames of 512. */
  maxMaptrackFrames?: number;
}

type BatchOp = (ctx: GrantContext, lgt: GrantTable, op: Record<string, unknown>) => void;

export class GrantTables implements GrantTableSubsystem, GrantContext {
  readonly mm: MachineMemory;
  private readonly maxMaptrackFrames: number;
  private readonly tables = new Map<number, GrantTable>();

  constructor(mm: MachineMemory, opts: GrantTablesOptions = {}) {
    this.mm = mm;
    this.maxMaptrackFrames = opts.maxMaptrackFrames ?? DEFAULT_MAX_MAPTRACK_FRAMES;
  }

  /** Creates the table with its first frame; the domain's memory must exist already. */
  createDomain(domid: DomId, maxFrames: number): void {
    if (this.tables.has(domid)) throw new Error(`grant table of domain ${domid} exists`);
    const t = new GrantTable(domid, maxFrames, this.maxMaptrackFrames);
    this.tables.set(domid, t);
    growTable(this, t, Math.min(INITIAL_NR_GRANT_FRAMES, maxFrames));
  }

  /**
   * Unmaps every grant the domain holds mapped, then retires its table: at once if none of its grants
   * is mapped elsewhere, else when the last such mapping goes (the domain is a zombie meanwhile).
   */
  destroyDomain(domid: DomId): void {
    const t = this.tables.get(domid);
    if (!t || t.dying) return;
    for (let h = 0; h < t.maptrackLimit; h++) {
      const flags = t.mtFlags[h] as number;
      if (flags === 0) continue;
      const rgt = this.tables.get(t.mtDom[h] as number) as GrantTable;
      const mfn = rgt.actMfn[t.mtRef[h] as number] as number;
      const dev = flags & GNTMAP_device_map ? mfn * PAGE_SIZE : 0;
      unmapHandle(this, t, h, t.mtHostAddr[h], dev, true);
    }
    t.dying = true;
    this.maybeFinish(t);
  }

  grantTableOp(
    caller: CallerContext,
    cmd: number,
    uops: unknown,
    count: number,
  ): XenResult<number> {
    if (!Number.isInteger(count) || count < 0 || count > 0x7fffffff) return err(XEN_EINVAL);
    const lgt = this.liveTable(caller.domid);
    if (!lgt) return err(XEN_ESRCH);
    switch (cmd) {
      case GNTTABOP_map_grant_ref:
        return this.batch(lgt, uops, count, mapGrantRef);
      case GNTTABOP_unmap_grant_ref:
        return this.batch(lgt, uops, count, unmapGrantRef);
      case GNTTABOP_copy:
        return grantCopyBatch(this, lgt, uops, count);
      case GNTTABOP_transfer:
        return this.batch(lgt, uops, count, grantTransfer);
      case GNTTABOP_setup_table:
      case GNTTABOP_query_size:
      case GNTTABOP_get_version:
      case GNTTABOP_set_version:
        return this.single(caller, lgt, cmd, uops, count);
      default:
        // dump_table, unmap_and_replace, get_status_frames (v2), swap_grant_ref, cache_flush: not modelled.
        return err(XEN_ENOSYS);
    }
  }

  // ---- GrantContext -------------------------------------------------------------------------------

  liveTable(domid: number): GrantTable | undefined {
    const t = this.tables.get(domid);
    return t && !t.dying ? t : undefined;
  }

  table(domid: number): GrantTable | undefined {
    return this.tables.get(domid);
  }

  maybeFinish(t: GrantTable): void {
    if (!t.dying || t.activeCount > 0 || this.tables.get(t.domid) !== t) return;
    this.tables.delete(t.domid);
    for (const mfn of t.frameMfns) this.mm.freeXenFrame(mfn);
  }

  // ---- Inspection (tests, xl debug-keys style dumps) ----------------------------------------------

  /** Domids with a table (live or dying), ascending. */
  domids(): number[] {
    return [...this.tables.keys()].sort((a, b) => a - b);
  }

  private batch(lgt: GrantTable, uops: unknown, count: number, fn: BatchOp): XenResult<number> {
    if (count === 0) return ok(0);
    if (!Array.isArray(uops) || uops.length < count) return err(XEN_EFAULT);
    for (let i = 0; i < count; i++) {
      const op: unknown = uops[i];
      // A struct that cannot be read stops the batch with -EFAULT; earlier ops keep their status.
      if (!isStruct(op)) return err(XEN_EFAULT);
      fn(this, lgt, op);
    }
    return ok(0);
  }

  private single(
    caller: CallerContext,
    lgt: GrantTable,
    cmd: number,
    uops: unknown,
    count: number,
  ): XenResult<number> {
    if (count !== 1) return err(XEN_EINVAL);
    const op: unknown = Array.isArray(uops) ? uops[0] : uops;
    if (!isStruct(op)) return err(XEN_EFAULT);
    let rc: number;
    if (cmd === GNTTABOP_setup_table) rc = setupTable(this, caller, op);
    else if (cmd === GNTTABOP_query_size) rc = querySize(this, caller, op);
    else if (cmd === GNTTABOP_get_version) rc = getVersion(this, caller, op);
    else rc = setVersion(lgt, op);
    return rc === 0 ? ok(0) : err(rc);
  }
}
