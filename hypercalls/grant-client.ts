// The guest-kernel side of grant tables, for dom0 and domU alike (Linux drivers/xen/grant-table.c):
// a free-ref allocator over the guest's own table frames, publishing and revoking v1 entries in the
// guest's order, deferred end-of-access while a peer still maps the page, and thin wrappers for
// map/unmap/copy. It reaches Xen only through the hypercall function and memory access it is given.

import {
  DEFAULT_MAX_GRANT_FRAMES,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_okay,
  GNTTAB_NR_RESERVED_ENTRIES,
  GNTTABOP_copy,
  GNTTABOP_map_grant_ref,
  GNTTABOP_query_size,
  GNTTABOP_setup_table,
  GNTTABOP_unmap_grant_ref,
  GRANT_ENTRIES_PER_FRAME_V1,
  GTF_accept_transfer,
  GTF_permit_access,
  GTF_reading,
  GTF_readonly,
  GTF_writing,
  type gnttab_copy,
  type gnttab_map_grant_ref,
  type gnttab_query_size,
  type gnttab_setup_table,
  type gnttab_unmap_grant_ref,
} from './grant-table.js';
import {
  grantEntryOffset,
  readGrantFlags,
  writeGrantEntryV1,
  writeGrantFlags,
} from './io/grant-entry.js';
import { DOMID_SELF } from './xen.js';

export interface GrantClientOptions {
  /** HYPERVISOR_grant_table_op: 0 or a negative errno. */
  gnttabOp(cmd: number, uops: unknown[], count: number): number;
  /** The bytes of a frame the guest owns (its table frames from setup_table): GuestMemory.ownFrame. */
  ownFrame(mfn: number): Uint8Array | undefined;
  /** Called when an end-of-access was deferred, so the kernel can arm a retry timer (Linux: 1 s). */
  onDeferred?: () => void;
}

/** First host address the client hands out for its own grant maps (a vmalloc-like region). */
const HOST_ADDR_BASE = 0x6000_0000_0000;

export class GrantClient {
  private readonly opts: GrantClientOptions;
  private views: DataView[] = [];
  private maxFrames = DEFAULT_MAX_GRANT_FRAMES;
  private readonly freeRefs: number[] = [];
  /** Refs handed out and not yet ended: ending any other ref must not put it on the free list twice. */
  private inUse = new Uint8Array(0); // 1 per ref handed out (a bitmap: no allocation per grant)
  private readonly deferred: number[] = [];
  private nextHostAddr = HOST_ADDR_BASE;
  private readonly freeHostAddrs: number[] = [];

  constructor(opts: GrantClientOptions) {
    this.opts = opts;
  }

  /** gnttab_init: learns the table size and maps the current frames. 0 or a negative errno/status. */
  init(): number {
    const q: gnttab_query_size = { dom: DOMID_SELF };
    const rc = this.opts.gnttabOp(GNTTABOP_query_size, [q], 1);
    if (rc !== 0) return rc;
    if (q.status !== GNTST_okay) return q.status ?? -1;
    this.maxFrames = q.max_nr_frames ?? DEFAULT_MAX_GRANT_FRAMES;
    return this.setup(q.nr_frames ?? 1);
  }

  get nrFrames(): number {
    return this.views.length;
  }

  /** Refs waiting for a peer to unmap before their entry can be cleared. */
  get deferredCount(): number {
    return this.deferred.length;
  }

  /** gnttab_grant_foreign_access: a ref granting `domid` the frame `mfn`; a negative status if none is free. */
  grantAccess(domid: number, mfn: number, readonly: boolean): number {
    const ref = this.allocRef();
    if (ref < 0) return ref;
    const flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
    writeGrantEntryV1(this.viewOf(ref), grantEntryOffset(ref), { domid, frame: mfn, flags });
    return ref;
  }

  /** gnttab_grant_foreign_transfer: a ref on which `domid` may transfer a frame to us. */
  grantTransfer(domid: number): number {
    const ref = this.allocRef();
    if (ref < 0) return ref;
    writeGrantEntryV1(this.viewOf(ref), grantEntryOffset(ref), {
      domid,
      frame: 0,
      flags: GTF_accept_transfer,
    });
    return ref;
  }

  /** The entry's current flags (e.g. to see GTF_transfer_completed) and frame. */
  entry(ref: number): { flags: number; frame: number } | undefined {
    const v = this.views[ref >>> 9];
    if (!v || ref < 0) return undefined;
    const off = grantEntryOffset(ref);
    return { flags: readGrantFlags(v, off), frame: v.getUint32(off + 4, true) };
  }

  /**
   * gnttab_end_foreign_access_ref: clears the entry only if no peer has it mapped (the cmpxchg of
   * grant_table.h's revocation rule) and frees the ref. False while it is still in use.
   */
  endAccess(ref: number): boolean {
    const v = this.views[ref >>> 9];
    if (!v || ref < GNTTAB_NR_RESERVED_ENTRIES) return false;
    // A ref this client never handed out (or already ended) is not ours to free: freeing it would
    // let two grants share one entry, the second overwriting a live, possibly mapped, grant.
    if (this.inUse[ref] !== 1) return false;
    const off = grantEntryOffset(ref);
    if (readGrantFlags(v, off) & (GTF_reading | GTF_writing)) return false;
    writeGrantFlags(v, off, 0);
    this.inUse[ref] = 0;
    this.freeRefs.push(ref);
    return true;
  }

  /** gnttab_end_foreign_access: ends access now, or defers it and retries later ("still in use"). */
  endAccessDeferred(ref: number): boolean {
    if (this.endAccess(ref)) return true;
    if (!this.deferred.includes(ref)) this.deferred.push(ref);
    this.opts.onDeferred?.();
    return false;
  }

  /** gnttab_handle_deferred: retries every deferred ref; returns how many remain. */
  retryDeferred(): number {
    const pending = this.deferred.splice(0);
    for (const ref of pending) if (!this.endAccess(ref)) this.deferred.push(ref);
    return this.deferred.length;
  }

  /** Maps `ref` of domain `dom` at a fresh host address: { status, handle, hostAddr }. */
  map(
    dom: number,
    ref: number,
    readonly: boolean,
  ): { status: number; handle: number; hostAddr: number } {
    const hostAddr = this.freeHostAddrs.pop() ?? (this.nextHostAddr += 4096);
    const op: gnttab_map_grant_ref = {
      host_addr: hostAddr,
      flags: GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0),
      ref,
      dom,
    };
    const rc = this.opts.gnttabOp(GNTTABOP_map_grant_ref, [op], 1);
    const status = rc !== 0 ? rc : (op.status ?? -1);
    if (status !== GNTST_okay) this.freeHostAddrs.push(hostAddr);
    return { status, handle: op.handle ?? -1, hostAddr };
  }

  /** Unmaps a mapping made by `map`; returns its status. */
  unmap(hostAddr: number, handle: number): number {
    const op: gnttab_unmap_grant_ref = { host_addr: hostAddr, dev_bus_addr: 0, handle };
    const rc = this.opts.gnttabOp(GNTTABOP_unmap_grant_ref, [op], 1);
    const status = rc !== 0 ? rc : (op.status ?? -1);
    if (status === GNTST_okay) this.freeHostAddrs.push(hostAddr);
    return status;
  }

  /** GNTTABOP_copy of a batch; returns the hypercall's rc (each op carries its status). */
  copy(ops: gnttab_copy[]): number {
    return this.opts.gnttabOp(GNTTABOP_copy, ops, ops.length);
  }

  private viewOf(ref: number): DataView {
    return this.views[ref >>> 9] as DataView;
  }

  private allocRef(): number {
    if (this.freeRefs.length === 0) {
      const rc = this.setup(this.views.length + 1);
      if (rc !== 0) return rc;
    }
    const ref = this.freeRefs.pop();
    if (ref === undefined) return -1;
    this.inUse[ref] = 1;
    return ref;
  }

  /** setup_table to `nr` frames; new frames' refs join the free list (refs < 8 stay reserved). */
  private setup(nr: number): number {
    if (nr > this.maxFrames) return -1;
    const op: gnttab_setup_table = {
      dom: DOMID_SELF,
      nr_frames: nr,
      frame_list: new Array<number>(nr).fill(0),
    };
    const rc = this.opts.gnttabOp(GNTTABOP_setup_table, [op], 1);
    if (rc !== 0) return rc;
    if (op.status !== GNTST_okay) return op.status ?? -1;
    const views: DataView[] = [];
    for (const mfn of op.frame_list ?? []) {
      const bytes = this.opts.ownFrame(mfn);
      if (!bytes) return -1;
      views.push(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
    const old = this.views.length;
    this.views = views;
    if (this.inUse.length < views.length * GRANT_ENTRIES_PER_FRAME_V1) {
      const grown = new Uint8Array(views.length * GRANT_ENTRIES_PER_FRAME_V1);
      grown.set(this.inUse);
      this.inUse = grown;
    }
    for (let f = views.length - 1; f >= old; f--) {
      for (let i = GRANT_ENTRIES_PER_FRAME_V1 - 1; i >= 0; i--) {
        const ref = f * GRANT_ENTRIES_PER_FRAME_V1 + i;
        if (ref >= GNTTAB_NR_RESERVED_ENTRIES) this.freeRefs.push(ref);
      }
    }
    return 0;
  }
}

/**
 * The domain builder's seeding of the reserved refs (libxc xc_dom_gnttab_seed) into a table frame the
 * toolstack mapped: ref 0 grants the console page, ref 1 the xenstore page, both to `backendDomid`.
 */
export function seedReservedGrants(
  tableFrame: DataView,
  backendDomid: number,
  consoleMfn: number,
  xenstoreMfn: number,
): void {
  writeGrantEntryV1(tableFrame, grantEntryOffset(0), {
    domid: backendDomid,
    frame: consoleMfn,
    flags: GTF_permit_access,
  });
  writeGrantEntryV1(tableFrame, grantEntryOffset(1), {
    domid: backendDomid,
    frame: xenstoreMfn,
    flags: GTF_permit_access,
  });
}
