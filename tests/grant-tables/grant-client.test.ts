import { describe, expect, it } from 'vitest';
import { seedReservedGrants } from '../../hypercalls/grant-client.js';
import {
  GNTST_okay,
  GNTTABOP_setup_table,
  GTF_permit_access,
  GNTTAB_NR_RESERVED_ENTRIES,
} from '../../hypercalls/grant-table.js';
import { asDomId } from '../../hypercalls/types.js';
import { World, caller } from './world.js';

describe('guest-side grant helper (Linux drivers/xen/grant-table.c)', () => {
  it('hands out refs from 8 up, grows the table through setup_table, and stops at the maximum', () => {
    const w = new World();
    const a = w.domain(1, 4, 2);
    w.domain(2);
    const first = a.client.grantAccess(2, a.mem.pfnToMfn(0), true);
    expect(first).toBeGreaterThanOrEqual(GNTTAB_NR_RESERVED_ENTRIES);
    expect(a.client.nrFrames).toBe(1);
    const refs = [first];
    for (let i = 0; i < 512 * 2 - GNTTAB_NR_RESERVED_ENTRIES - 1; i++) {
      refs.push(a.client.grantAccess(2, a.mem.pfnToMfn(0), true));
    }
    expect(a.client.nrFrames).toBe(2);
    expect(new Set(refs).size).toBe(refs.length);
    expect(refs.every((r) => r >= GNTTAB_NR_RESERVED_ENTRIES && r < 1024)).toBe(true);
    expect(a.client.grantAccess(2, a.mem.pfnToMfn(0), true)).toBeLessThan(0);
    expect(a.client.endAccess(refs[5] as number)).toBe(true);
    expect(a.client.grantAccess(2, a.mem.pfnToMfn(0), true)).toBe(refs[5]);
    // The reserved refs are never ended by the helper.
    expect(a.client.endAccess(1)).toBe(false);
  });

  it('ending a ref that was never granted (or twice) is refused, so no ref is ever handed out twice', () => {
    // Found by grant.prop.test.ts (seed 351261374): ending an unused ref put it on the free list a
    // second time, and a later grant overwrote a live, mapped entry with fresh flags.
    const w = new World();
    const a = w.domain(1, 4, 2);
    w.domain(2);
    const unused = GNTTAB_NR_RESERVED_ENTRIES + 1;
    a.client.grantAccess(2, a.mem.pfnToMfn(0), true); // sets the table up
    expect(a.client.endAccess(unused + 100)).toBe(false);
    const r = a.client.grantAccess(2, a.mem.pfnToMfn(0), false);
    expect(a.client.endAccess(r)).toBe(true);
    expect(a.client.endAccess(r)).toBe(false);
    const refs = Array.from({ length: 50 }, () => a.client.grantAccess(2, a.mem.pfnToMfn(0), true));
    expect(new Set(refs).size).toBe(refs.length);
  });

  it('the builder seeds refs 0 and 1 through privileged setup_table and a foreign map; dom0 then maps them', () => {
    const w = new World();
    const d0 = w.domain(0);
    const u = w.domain(5);
    const consoleMfn = u.mem.pfnToMfn(6);
    const storeMfn = u.mem.pfnToMfn(7);
    u.mem.write(7, 0, new TextEncoder().encode('xenstore ring'));
    const st = { dom: 5, nr_frames: 1, frame_list: [0], status: 1 };
    expect(d0.op(GNTTABOP_setup_table, [st], 1)).toBe(0);
    expect(st.status).toBe(GNTST_okay);
    const fm = w.mm.foreign(caller(0)).mapForeignMfns(5, st.frame_list, true);
    if (!fm.ok) throw new Error('foreign map failed');
    const bytes = fm.value.view(0) as Uint8Array;
    seedReservedGrants(new DataView(bytes.buffer, bytes.byteOffset, 4096), 0, consoleMfn, storeMfn);
    expect(w.mm.foreign(caller(0)).unmapForeign(fm.value)).toBe(0);
    expect(u.client.entry(1)).toEqual({ flags: GTF_permit_access, frame: storeMfn });
    const m = d0.client.map(5, 1, false);
    expect(m.status).toBe(GNTST_okay);
    const out = new Uint8Array(8);
    d0.mem.readMapped(m.hostAddr, 0, out);
    expect(new TextDecoder().decode(out)).toBe('xenstore');
    expect(d0.client.unmap(m.hostAddr, m.handle)).toBe(GNTST_okay);
    // An unprivileged domain cannot set up another domain's table.
    const bad = { dom: 0, nr_frames: 1, frame_list: [0], status: 1 };
    u.op(GNTTABOP_setup_table, [bad], 1);
    expect(bad.status).toBe(-8);
    expect(w.mm.totPages(asDomId(5))).toBe(8);
  });
});
