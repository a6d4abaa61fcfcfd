import { describe, expect, it } from 'vitest';
import {
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTMAP_contains_pte,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_bad_copy_arg,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_bad_page,
  GNTST_general_error,
  GNTST_no_space,
  GNTST_okay,
  GNTST_permission_denied,
  GNTTABOP_copy,
  GNTTABOP_get_version,
  GNTTABOP_map_grant_ref,
  GNTTABOP_query_size,
  GNTTABOP_set_version,
  GNTTABOP_setup_table,
  GNTTABOP_unmap_grant_ref,
  GTF_permit_access,
  type gnttab_copy,
  type gnttab_map_grant_ref,
} from '../../hypercalls/grant-table.js';
import { writeGrantEntryV1 } from '../../hypercalls/io/grant-entry.js';
import {
  XEN_EACCES,
  XEN_EFAULT,
  XEN_EINVAL,
  XEN_ENOSYS,
  XEN_EPERM,
  XEN_ESRCH,
} from '../../hypercalls/errno.js';
import { DOMID_SELF } from '../../hypercalls/xen.js';
import { World, type Dom } from './world.js';

const HA = 0x10000;

function map(
  d: Dom,
  dom: number,
  ref: number,
  flags = GNTMAP_host_map,
  hostAddr = HA,
): gnttab_map_grant_ref {
  const op: gnttab_map_grant_ref = { host_addr: hostAddr, flags, ref, dom };
  expect(d.op(GNTTABOP_map_grant_ref, [op], 1)).toBe(0);
  return op;
}

function setup(): { w: World; a: Dom; b: Dom; c: Dom } {
  const w = new World();
  return { w, a: w.domain(1), b: w.domain(2), c: w.domain(3) };
}

describe('GNTTABOP_map_grant_ref status precedence (grant_table.c map_grant_ref)', () => {
  it('GNTST_okay: a permitted map returns a handle and the frame address', () => {
    const { a, b } = setup();
    const ref = a.client.grantAccess(2, a.mem.pfnToMfn(0), false);
    const op = map(b, 1, ref);
    expect(op.status).toBe(GNTST_okay);
    expect(op.handle).toBe(0);
    expect(op.dev_bus_addr).toBe(a.mem.pfnToMfn(0) * 4096);
  });

  it('GNTST_bad_gntref: no host/device flag comes before everything, even a missing domain', () => {
    const { b } = setup();
    expect(map(b, 99, 5, GNTMAP_readonly).status).toBe(GNTST_bad_gntref);
    expect(map(b, 99, 5, 'x' as never).status).toBe(GNTST_bad_gntref);
  });

  it('GNTST_bad_domain: the granting domain does not exist', () => {
    const { b } = setup();
    expect(map(b, 77, 8).status).toBe(GNTST_bad_domain);
    expect(map(b, DOMID_SELF, 8).status).toBe(GNTST_bad_domain);
    expect(map(b, -1, 8).status).toBe(GNTST_bad_domain);
  });

  it('GNTST_bad_gntref: ref beyond the table', () => {
    const { b } = setup();
    expect(map(b, 1, 512).status).toBe(GNTST_bad_gntref);
    expect(map(b, 1, -3).status).toBe(GNTST_bad_gntref);
    expect(map(b, 1, 2 ** 40).status).toBe(GNTST_bad_gntref);
  });

  it('GNTST_general_error, not permission_denied: wrong domid, non-permit entry, writable map of a read-only grant', () => {
    const { a, b, c } = setup();
    const refForC = a.client.grantAccess(3, a.mem.pfnToMfn(0), false);
    expect(map(b, 1, refForC).status).toBe(GNTST_general_error);
    expect(map(b, 1, 200).status).toBe(GNTST_general_error); // never granted: GTF_invalid
    const ro = a.client.grantAccess(2, a.mem.pfnToMfn(1), true);
    expect(map(b, 1, ro).status).toBe(GNTST_general_error);
    expect(map(b, 1, ro, GNTMAP_host_map | GNTMAP_readonly).status).toBe(GNTST_okay);
    // The grantee itself maps fine, and may map one grant twice (the pins add up).
    expect(map(c, 1, refForC).status).toBe(GNTST_okay);
    const shared = a.client.grantAccess(2, a.mem.pfnToMfn(2), false);
    expect(map(b, 1, shared, GNTMAP_host_map, 0x20000).status).toBe(GNTST_okay);
    expect(map(b, 1, shared, GNTMAP_host_map, 0x21000).status).toBe(GNTST_okay);
  });

  it('GNTST_general_error: bad host address, address already mapped, PTE-address maps', () => {
    const { a, b } = setup();
    const ref = a.client.grantAccess(2, a.mem.pfnToMfn(0), false);
    expect(map(b, 1, ref, GNTMAP_host_map, 0).status).toBe(GNTST_general_error);
    expect(map(b, 1, ref, GNTMAP_host_map, 123).status).toBe(GNTST_general_error);
    expect(map(b, 1, ref, GNTMAP_host_map | GNTMAP_contains_pte).status).toBe(GNTST_general_error);
    expect(map(b, 1, ref).status).toBe(GNTST_okay);
    expect(map(b, 1, ref).status).toBe(GNTST_general_error); // HA is taken
    expect(a.client.entry(ref)?.flags).toBe(GTF_permit_access | 0x18);
  });

  it("GNTST_bad_page: the granted frame is not the granter's", () => {
    const { a, b } = setup();
    const ref = a.client.grantAccess(2, b.mem.pfnToMfn(0), false);
    expect(map(b, 1, ref).status).toBe(GNTST_bad_page);
    // The failed map leaves no GTF_reading/GTF_writing behind.
    expect(a.client.entry(ref)?.flags).toBe(GTF_permit_access);
  });

  it("GNTST_no_space: the mapper's maptrack is full", () => {
    const w = new World(32 << 20, { maxMaptrackFrames: 1 });
    const a = w.domain(1, 8);
    const b = w.domain(2, 8);
    const ref = a.client.grantAccess(2, a.mem.pfnToMfn(0), true);
    const ops: gnttab_map_grant_ref[] = [];
    for (let i = 0; i < 513; i++) {
      ops.push({
        host_addr: (i + 1) * 4096,
        flags: GNTMAP_host_map | GNTMAP_readonly,
        ref,
        dom: 1,
      });
    }
    // 128 read-only host maps of one ref overflow its pin counter: general_error after that.
    expect(b.op(GNTTABOP_map_grant_ref, ops, 513)).toBe(0);
    expect(ops.filter((o) => o.status === GNTST_okay).length).toBe(128);
    const many: gnttab_map_grant_ref[] = [];
    for (let i = 0; i < 400; i++) {
      const r = a.client.grantAccess(2, a.mem.pfnToMfn(i % 8), true);
      many.push({
        host_addr: 0x1000000 + i * 4096,
        flags: GNTMAP_host_map | GNTMAP_readonly,
        ref: r,
        dom: 1,
      });
    }
    expect(b.op(GNTTABOP_map_grant_ref, many, 400)).toBe(0);
    expect(many.filter((o) => o.status === GNTST_okay).length).toBe(512 - 128);
    expect(many.at(-1)?.status).toBe(GNTST_no_space);
  });
});

describe('GNTTABOP_unmap_grant_ref', () => {
  it('GNTST_bad_handle: out of range, never used, or already unmapped', () => {
    const { a, b } = setup();
    const ref = a.client.grantAccess(2, a.mem.pfnToMfn(0), false);
    const h = map(b, 1, ref).handle as number;
    const un = (handle: unknown): number | undefined => {
      const op = { host_addr: HA, dev_bus_addr: 0, handle } as never as { status?: number };
      expect(b.op(GNTTABOP_unmap_grant_ref, [op], 1)).toBe(0);
      return op.status;
    };
    expect(un(9999)).toBe(GNTST_bad_handle);
    expect(un(h + 1)).toBe(GNTST_bad_handle);
    expect(un('h')).toBe(GNTST_bad_handle);
    expect(un(h)).toBe(GNTST_okay);
    expect(un(h)).toBe(GNTST_bad_handle);
  });

  it('GNTST_general_error: host address or bus address that does not match the mapping', () => {
    const { a, b } = setup();
    const ref = a.client.grantAccess(2, a.mem.pfnToMfn(0), false);
    const h = map(b, 1, ref).handle as number;
    const op1 = { host_addr: HA + 4096, dev_bus_addr: 0, handle: h, status: 99 };
    b.op(GNTTABOP_unmap_grant_ref, [op1], 1);
    expect(op1.status).toBe(GNTST_general_error);
    // DEVIATION(xen): another mapping's address of the same frame is refused too.
    const h2 = map(b, 1, ref, GNTMAP_host_map, HA + 8192).handle as number;
    const op3 = { host_addr: HA + 8192, dev_bus_addr: 0, handle: h, status: 99 };
    b.op(GNTTABOP_unmap_grant_ref, [op3], 1);
    expect(op3.status).toBe(GNTST_general_error);
    expect(h2).not.toBe(h);
    const op2 = {
      host_addr: HA,
      dev_bus_addr: (a.mem.pfnToMfn(0) + 100) * 4096,
      handle: h,
      status: 99,
    };
    b.op(GNTTABOP_unmap_grant_ref, [op2], 1);
    expect(op2.status).toBe(GNTST_general_error);
  });
});

describe('GNTTABOP_copy statuses (gnttab_copy_one)', () => {
  const cp = (d: Dom, c: gnttab_copy): number | undefined => {
    expect(d.op(GNTTABOP_copy, [c], 1)).toBe(0);
    return c.status;
  };

  it('okay, permission_denied, bad_domain, bad_gntref, bad_page, general_error, bad_copy_arg', () => {
    const { a, b } = setup();
    const ro = a.client.grantAccess(2, a.mem.pfnToMfn(0), true);
    const own = b.mem.pfnToMfn(0);
    const copy = (over: Partial<gnttab_copy>): gnttab_copy => ({
      source: { u: { ref: ro }, domid: 1, offset: 0 },
      dest: { u: { gmfn: own }, domid: DOMID_SELF, offset: 0 },
      len: 16,
      flags: GNTCOPY_source_gref,
      ...over,
    });
    expect(cp(b, copy({}))).toBe(GNTST_okay);
    expect(cp(b, copy({ dest: { u: { gmfn: own }, domid: 2, offset: 0 } }))).toBe(
      GNTST_permission_denied,
    );
    expect(cp(b, copy({ source: { u: { ref: ro }, domid: 55, offset: 0 } }))).toBe(
      GNTST_bad_domain,
    );
    expect(cp(b, copy({ source: { u: { ref: 4096 }, domid: 1, offset: 0 } }))).toBe(
      GNTST_bad_gntref,
    );
    expect(
      cp(b, copy({ dest: { u: { gmfn: a.mem.pfnToMfn(1) }, domid: DOMID_SELF, offset: 0 } })),
    ).toBe(GNTST_bad_page);
    // Writing into a read-only grant.
    expect(
      cp(
        b,
        copy({
          dest: { u: { ref: ro }, domid: 1, offset: 0 },
          flags: GNTCOPY_source_gref | GNTCOPY_dest_gref,
        }),
      ),
    ).toBe(GNTST_general_error);
    expect(cp(b, copy({ len: 4000, source: { u: { ref: ro }, domid: 1, offset: 100 } }))).toBe(
      GNTST_bad_copy_arg,
    );
    expect(cp(b, copy({ len: 4097 }))).toBe(GNTST_bad_copy_arg);
    expect(cp(b, copy({ len: -1 }))).toBe(GNTST_bad_copy_arg);
    expect(cp(b, { source: null, dest: null, len: 1, flags: 0 } as never)).toBe(
      GNTST_general_error,
    );
  });
});

describe('table ops and the batch', () => {
  it('setup_table: okay, bad_domain, permission_denied, general_error above the maximum', () => {
    const { a } = setup();
    const st = (caller: Dom, dom: number, nr: number): number | undefined => {
      const op = { dom, nr_frames: nr, frame_list: new Array<number>(Math.max(nr, 0)).fill(0) } as {
        status?: number;
        frame_list: number[];
      };
      expect(caller.op(GNTTABOP_setup_table, [op], 1)).toBe(0);
      return op.status;
    };
    expect(st(a, DOMID_SELF, 3)).toBe(GNTST_okay);
    expect(st(a, 66, 1)).toBe(GNTST_bad_domain);
    expect(st(a, 2, 1)).toBe(GNTST_permission_denied);
    expect(st(a, DOMID_SELF, 5)).toBe(GNTST_general_error);
    expect(
      a.op(GNTTABOP_setup_table, [{ dom: DOMID_SELF, nr_frames: 2, frame_list: [0] }], 1),
    ).toBe(-XEN_EFAULT);
    const q = { dom: DOMID_SELF } as {
      dom: number;
      nr_frames?: number;
      max_nr_frames?: number;
      status?: number;
    };
    expect(a.op(GNTTABOP_query_size, [q], 1)).toBe(0);
    expect(q).toMatchObject({ nr_frames: 3, max_nr_frames: 4, status: GNTST_okay });
  });

  it('query_size of another domain unprivileged is permission_denied; dom0 may', () => {
    const w = new World();
    const d0 = w.domain(0);
    const a = w.domain(1);
    const q = { dom: 0, status: 1 };
    a.op(GNTTABOP_query_size, [q], 1);
    expect(q.status).toBe(GNTST_permission_denied);
    const q0 = { dom: 1, status: 1 };
    d0.op(GNTTABOP_query_size, [q0], 1);
    expect(q0.status).toBe(GNTST_okay);
  });

  it('get_version/set_version: version 1 only; 2 is -EACCES (max_grant_version=1), others -EINVAL', () => {
    const { a } = setup();
    const g = { dom: DOMID_SELF, version: 0 };
    expect(a.op(GNTTABOP_get_version, [g], 1)).toBe(0);
    expect(g.version).toBe(1);
    expect(a.op(GNTTABOP_get_version, [{ dom: 2 }], 1)).toBe(-XEN_EPERM);
    expect(a.op(GNTTABOP_get_version, [{ dom: 50 }], 1)).toBe(-XEN_ESRCH);
    const s = { version: 2 };
    expect(a.op(GNTTABOP_set_version, [s], 1)).toBe(-XEN_EACCES);
    expect(s.version).toBe(1);
    expect(a.op(GNTTABOP_set_version, [{ version: 1 }], 1)).toBe(0);
    expect(a.op(GNTTABOP_set_version, [{ version: 3 }], 1)).toBe(-XEN_EINVAL);
    expect(a.op(GNTTABOP_set_version, [{ version: 1 }], 2)).toBe(-XEN_EINVAL);
  });

  it('the batch: bad count is -EINVAL, a short array -EFAULT, an unreadable op stops it, unknown cmd -ENOSYS', () => {
    const { a, b } = setup();
    const ref = a.client.grantAccess(2, a.mem.pfnToMfn(0), true);
    expect(b.op(GNTTABOP_map_grant_ref, [], -1)).toBe(-XEN_EINVAL);
    expect(b.op(GNTTABOP_map_grant_ref, [], 1.5)).toBe(-XEN_EINVAL);
    expect(b.op(GNTTABOP_map_grant_ref, [], 3)).toBe(-XEN_EFAULT);
    expect(b.op(GNTTABOP_map_grant_ref, 'x', 1)).toBe(-XEN_EFAULT);
    const good = {
      host_addr: HA,
      flags: GNTMAP_host_map | GNTMAP_readonly,
      ref,
      dom: 1,
    } as gnttab_map_grant_ref;
    const bad = { host_addr: HA, flags: 0, ref, dom: 1 } as gnttab_map_grant_ref;
    const after = {
      host_addr: HA + 4096,
      flags: GNTMAP_host_map | GNTMAP_readonly,
      ref,
      dom: 1,
    } as gnttab_map_grant_ref;
    expect(b.op(GNTTABOP_map_grant_ref, [good, bad, 7, after], 4)).toBe(-XEN_EFAULT);
    expect(good.status).toBe(GNTST_okay);
    expect(bad.status).toBe(GNTST_bad_gntref);
    expect(after.status).toBeUndefined();
    expect(b.op(3, [{}], 1)).toBe(-XEN_ENOSYS);
    expect(b.op(GNTTABOP_map_grant_ref, [], 0)).toBe(0);
  });

  it('writes to a raw entry are honoured exactly as the guest laid out the bytes', () => {
    const { a, b } = setup();
    const table = a.mem.ownFrame(
      (() => {
        const op = { dom: DOMID_SELF, nr_frames: 1, frame_list: [0] };
        a.op(GNTTABOP_setup_table, [op], 1);
        return op.frame_list[0] as number;
      })(),
    ) as Uint8Array;
    writeGrantEntryV1(new DataView(table.buffer, table.byteOffset, 4096), 300 * 8, {
      domid: 2,
      frame: a.mem.pfnToMfn(3),
      flags: GTF_permit_access,
    });
    expect(map(b, 1, 300).status).toBe(GNTST_okay);
    expect(table[300 * 8]).toBe(GTF_permit_access | 0x18);
  });
});
