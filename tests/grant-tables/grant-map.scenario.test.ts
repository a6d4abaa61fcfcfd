import { describe, expect, it } from 'vitest';
import {
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTMAP_device_map,
  GNTMAP_host_map,
  GNTST_bad_page,
  GNTST_general_error,
  GNTST_okay,
  GNTTABOP_map_grant_ref,
  GNTTABOP_transfer,
  GNTTABOP_unmap_grant_ref,
  GTF_accept_transfer,
  GTF_permit_access,
  GTF_reading,
  GTF_readonly,
  GTF_transfer_committed,
  GTF_transfer_completed,
  GTF_writing,
  type gnttab_copy,
} from '../../hypercalls/grant-table.js';
import {
  XEN_DOMCTL_SHADOW_OP_CLEAN,
  XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY,
} from '../../hypercalls/memory.js';
import { XEN_EFAULT } from '../../hypercalls/errno.js';
import { asDomId } from '../../hypercalls/types.js';
import { DOMID_SELF } from '../../hypercalls/xen.js';
import { memoryInvariantViolations } from '../../hypervisor/memory/invariants.js';
import { World } from './world.js';

describe('grant map data integrity', () => {
  it("a writable map is a view of the granter's real bytes, both ways", () => {
    const w = new World();
    const a = w.domain(1);
    const b = w.domain(2);
    a.mem.write(3, 0, new TextEncoder().encode('hello'));
    const ref = a.client.grantAccess(2, a.mem.pfnToMfn(3), false);
    const m = b.client.map(1, ref, false);
    expect(m.status).toBe(GNTST_okay);
    const view = b.mem.mappedView(m.hostAddr) as Uint8Array;
    expect(new TextDecoder().decode(view.subarray(0, 5))).toBe('hello');
    expect(b.mem.writeMapped(m.hostAddr, 100, new Uint8Array([1, 2, 3]))).toBe(0);
    const out = new Uint8Array(3);
    a.mem.read(3, 100, out);
    expect([...out]).toEqual([1, 2, 3]);
    a.mem.write(3, 200, new Uint8Array([42]));
    expect(view[200]).toBe(42);
  });

  it('a read-only map can be read but not written', () => {
    const w = new World();
    const a = w.domain(1);
    const b = w.domain(2);
    a.mem.write(0, 0, new Uint8Array([7]));
    const ref = a.client.grantAccess(2, a.mem.pfnToMfn(0), true);
    const m = b.client.map(1, ref, true);
    expect(m.status).toBe(GNTST_okay);
    expect(b.mem.mappedView(m.hostAddr)).toBeUndefined();
    expect(b.mem.writeMapped(m.hostAddr, 0, new Uint8Array([9]))).toBe(XEN_EFAULT);
    const out = new Uint8Array(1);
    expect(b.mem.readMapped(m.hostAddr, 0, out)).toBe(0);
    expect(out[0]).toBe(7);
    expect(a.client.entry(ref)?.flags).toBe(GTF_permit_access | GTF_readonly | GTF_reading);
  });

  it('after unmap the mapper reaches nothing at that address', () => {
    const w = new World();
    const a = w.domain(1);
    const b = w.domain(2);
    const ref = a.client.grantAccess(2, a.mem.pfnToMfn(0), false);
    const m = b.client.map(1, ref, false);
    expect(b.client.unmap(m.hostAddr, m.handle)).toBe(GNTST_okay);
    expect(b.mem.readMapped(m.hostAddr, 0, new Uint8Array(1))).toBe(XEN_EFAULT);
    expect(b.mem.mappedView(m.hostAddr)).toBeUndefined();
  });
});

describe('flags, pins and revocation (grant_table.h, grant_table.c)', () => {
  it('GTF_reading/GTF_writing are set while mapped and cleared by the last unmap; the page is pinned', () => {
    const w = new World();
    const a = w.domain(1);
    const b = w.domain(2);
    const mfn = a.mem.pfnToMfn(0);
    const ref = a.client.grantAccess(2, mfn, false);
    const m1 = b.client.map(1, ref, false);
    const m2 = b.client.map(1, ref, true);
    expect(a.client.entry(ref)?.flags).toBe(GTF_permit_access | GTF_reading | GTF_writing);
    expect(w.mm.table.refs[mfn]).toBe(2);
    b.client.unmap(m1.hostAddr, m1.handle);
    expect(a.client.entry(ref)?.flags).toBe(GTF_permit_access | GTF_reading);
    b.client.unmap(m2.hostAddr, m2.handle);
    expect(a.client.entry(ref)?.flags).toBe(GTF_permit_access);
    expect(w.mm.table.refs[mfn]).toBe(0);
  });

  it('end access fails while mapped; the deferred helper retries until the peer unmaps', () => {
    const w = new World();
    const a = w.domain(1);
    const b = w.domain(2);
    let deferrals = 0;
    const ref = a.client.grantAccess(2, a.mem.pfnToMfn(0), false);
    const m = b.client.map(1, ref, false);
    expect(a.client.endAccess(ref)).toBe(false);
    (a.client as unknown as { opts: { onDeferred: () => void } }).opts.onDeferred = () =>
      deferrals++;
    expect(a.client.endAccessDeferred(ref)).toBe(false);
    expect(deferrals).toBe(1);
    expect(a.client.retryDeferred()).toBe(1);
    expect(a.client.entry(ref)?.flags).toBe(GTF_permit_access | GTF_reading | GTF_writing);
    b.client.unmap(m.hostAddr, m.handle);
    expect(a.client.retryDeferred()).toBe(0);
    expect(a.client.entry(ref)?.flags).toBe(0);
    // The ref is free again and a new map of it fails: the entry is invalid.
    expect(b.client.map(1, ref, false).status).toBe(GNTST_general_error);
  });

  it('a device map holds the page until its own unmap (host and device kinds are separate)', () => {
    const w = new World();
    const a = w.domain(1);
    const b = w.domain(2);
    const mfn = a.mem.pfnToMfn(0);
    const ref = a.client.grantAccess(2, mfn, false);
    const op = {
      host_addr: 0x5000,
      flags: GNTMAP_host_map | GNTMAP_device_map,
      ref,
      dom: 1,
    } as Record<string, number>;
    b.op(GNTTABOP_map_grant_ref, [op], 1);
    expect(op.status).toBe(GNTST_okay);
    expect(w.mm.table.refs[mfn]).toBe(2);
    const u1 = { host_addr: 0x5000, dev_bus_addr: 0, handle: op.handle, status: 1 };
    b.op(GNTTABOP_unmap_grant_ref, [u1], 1);
    expect(w.mm.table.refs[mfn]).toBe(1);
    expect(a.client.entry(ref)?.flags).toBe(GTF_permit_access | GTF_reading | GTF_writing);
    const u2 = { host_addr: 0, dev_bus_addr: mfn * 4096, handle: op.handle, status: 1 };
    b.op(GNTTABOP_unmap_grant_ref, [u2], 1);
    expect(u2.status).toBe(GNTST_okay);
    expect(w.mm.table.refs[mfn]).toBe(0);
    expect(a.client.entry(ref)?.flags).toBe(GTF_permit_access);
  });

  it('a granter destroyed while its page is mapped stays a zombie until the mapper unmaps', () => {
    const w = new World();
    const a = w.domain(1);
    const b = w.domain(2);
    a.mem.write(0, 0, new Uint8Array([0x5a]));
    const ref = a.client.grantAccess(2, a.mem.pfnToMfn(0), false);
    const m = b.client.map(1, ref, false);
    const released: number[] = [];
    expect(w.destroy(1, (id) => released.push(id))).toBe(true);
    expect(w.mm.domain(1)?.dying).toBe(true);
    // The mapper still sees the bytes it mapped; nobody else got the frame.
    const out = new Uint8Array(1);
    b.mem.readMapped(m.hostAddr, 0, out);
    expect(out[0]).toBe(0x5a);
    expect(b.client.map(1, ref, false).status).not.toBe(GNTST_okay);
    expect(b.client.unmap(m.hostAddr, m.handle)).toBe(GNTST_okay);
    expect(released).toEqual([1]);
    expect(w.mm.domain(1)).toBeUndefined();
    expect(w.gt.domids()).toEqual([2]);
    expect(memoryInvariantViolations(w.mm)).toEqual([]);
  });

  it('a mapper destroyed with grants mapped releases them: flags cleared, pins gone', () => {
    const w = new World();
    const a = w.domain(1);
    w.domain(2);
    const b = w.gt;
    const mfn = a.mem.pfnToMfn(0);
    const ref = a.client.grantAccess(2, mfn, false);
    const op = { host_addr: 0x7000, flags: GNTMAP_host_map, ref, dom: 1 } as Record<string, number>;
    b.grantTableOp({ domid: asDomId(2), privileged: false }, GNTTABOP_map_grant_ref, [op], 1);
    expect(op.status).toBe(GNTST_okay);
    expect(w.destroy(2)).toBe(false);
    expect(a.client.entry(ref)?.flags).toBe(GTF_permit_access);
    expect(w.mm.table.refs[mfn]).toBe(0);
    expect(a.client.endAccess(ref)).toBe(true);
  });

  it('unmapping a writable map marks the granter page dirty in log-dirty mode', () => {
    const w = new World();
    const a = w.domain(1);
    const b = w.domain(2);
    w.mm.shadowOp(asDomId(1), { op: XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY });
    const ref = a.client.grantAccess(2, a.mem.pfnToMfn(5), false);
    const m = b.client.map(1, ref, false);
    b.client.unmap(m.hostAddr, m.handle);
    const bm = new Uint8Array(2);
    w.mm.shadowOp(asDomId(1), { op: XEN_DOMCTL_SHADOW_OP_CLEAN, dirty_bitmap: bm, pages: 16 });
    expect(bm[0]).toBe(1 << 5);
  });
});

describe('GNTTABOP_copy and GNTTABOP_transfer', () => {
  it("copy moves bytes between a grant and the caller's own frame, in both directions", () => {
    const w = new World();
    const a = w.domain(1);
    const b = w.domain(2);
    a.mem.write(1, 10, new Uint8Array([1, 2, 3, 4]));
    const src = a.client.grantAccess(2, a.mem.pfnToMfn(1), true);
    const dst = a.client.grantAccess(2, a.mem.pfnToMfn(2), false);
    const ops: gnttab_copy[] = [
      {
        source: { u: { ref: src }, domid: 1, offset: 10 },
        dest: { u: { gmfn: b.mem.pfnToMfn(0) }, domid: DOMID_SELF, offset: 0 },
        len: 4,
        flags: GNTCOPY_source_gref,
      },
      {
        source: { u: { ref: src }, domid: 1, offset: 10 },
        dest: { u: { ref: dst }, domid: 1, offset: 4092 },
        len: 4,
        flags: GNTCOPY_source_gref | GNTCOPY_dest_gref,
      },
    ];
    expect(b.client.copy(ops)).toBe(0);
    expect(ops.map((o) => o.status)).toEqual([GNTST_okay, GNTST_okay]);
    const out = new Uint8Array(4);
    b.mem.read(0, 0, out);
    expect([...out]).toEqual([1, 2, 3, 4]);
    a.mem.read(2, 4092, out);
    expect([...out]).toEqual([1, 2, 3, 4]);
    // Copies leave no flag behind.
    expect(a.client.entry(src)?.flags).toBe(GTF_permit_access | GTF_readonly);
  });

  it('transfer gives a frame to a domain that posted accept_transfer', () => {
    const w = new World();
    const a = w.domain(1);
    const b = w.domain(2);
    const ref = a.client.grantTransfer(2);
    const mfn = b.mem.pfnToMfn(4);
    b.mem.write(4, 0, new Uint8Array([0x77]));
    const op = { mfn, domid: 1, ref, status: 1 };
    expect(b.op(GNTTABOP_transfer, [op], 1)).toBe(0);
    expect(op.status).toBe(GNTST_okay);
    expect(b.mem.pfnToMfn(4)).toBe(-1);
    expect(w.mm.table.owner(mfn)).toBe(1);
    expect(a.client.entry(ref)).toEqual({
      flags: GTF_accept_transfer | GTF_transfer_committed | GTF_transfer_completed,
      frame: mfn,
    });
    expect(a.mem.ownFrame(mfn)?.[0]).toBe(0x77);
    // A frame not owned by the caller is bad_page and stays put.
    const again = { mfn, domid: 1, ref, status: 1 };
    b.op(GNTTABOP_transfer, [again], 1);
    expect(again.status).toBe(GNTST_bad_page);
    // Without an accept entry the transfer fails and the stolen page is lost to the caller.
    const lost = b.mem.pfnToMfn(5);
    const bad = { mfn: lost, domid: 1, ref: 300, status: 1 };
    b.op(GNTTABOP_transfer, [bad], 1);
    expect(bad.status).toBe(GNTST_general_error);
    expect(w.mm.table.owner(lost)).toBe(-1);
    expect(memoryInvariantViolations(w.mm)).toEqual([]);
  });
});

describe('teardown order', () => {
  it("destroying the mapper's memory before its grant table still releases every pin", () => {
    const w = new World();
    const a = w.domain(1);
    const b = w.domain(2);
    const mfn = a.mem.pfnToMfn(0);
    const ref = a.client.grantAccess(2, mfn, false);
    expect(b.client.map(1, ref, false).status).toBe(GNTST_okay);
    expect(w.mm.destroyDomain(asDomId(2), () => undefined)).toBe(true); // its grant frame is still held
    w.gt.destroyDomain(asDomId(2));
    expect(w.mm.table.refs[mfn]).toBe(0);
    expect(a.client.entry(ref)?.flags).toBe(GTF_permit_access);
    expect(w.mm.domain(2)).toBeUndefined();
  });
});
