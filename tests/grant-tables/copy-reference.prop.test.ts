// GNTTABOP_copy against a plain restatement of xen/common/grant_table.c's rules (gnttab_copy_one:
// gnttab_copy_lock_domain, acquire_grant_for_copy, the gmfn check, gnttab_copy_buf's bounds), op
// by op, for every kind of side: grants read-only, writable, revoked, of a third domain, pinned by
// the copier or by another domain, re-flagged after a writable map, pointing at a foreign frame,
// and frames owned, foreign, free, out of range or never written. The statuses and every byte must
// match, whatever the engine's shortcuts (cached domain lookups, word and whole-page copies).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTMAP_device_map,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_bad_copy_arg,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_page,
  GNTST_general_error,
  GNTST_okay,
  GNTST_permission_denied,
  GNTTABOP_copy,
  GNTTABOP_map_grant_ref,
  GTF_permit_access,
  GTF_readonly,
  GTF_type_mask,
  type gnttab_copy,
} from '../../hypercalls/grant-table.js';
import { writeGrantEntryV1 } from '../../hypercalls/io/grant-entry.js';
import { PAGE_SIZE } from '../../hypercalls/types.js';
import { DOMID_SELF } from '../../hypercalls/xen.js';
import { World, type Dom } from './world.js';

/** A's grants to B (the copier) and others, C's grants to B, B's own frames. */
function world() {
  const w = new World(32 << 20);
  const a = w.domain(1, 16);
  const b = w.domain(2, 16);
  const c = w.domain(3, 16);
  // Pages 10 and 11 of A, page 4 of B and pages 2.. of C are never written (they read as zeros).
  for (const [d, pfns] of [
    [a, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
    [b, [0, 1, 2, 3]],
    [c, [0, 1]],
  ] as [Dom, number[]][]) {
    for (const pfn of pfns) {
      const page = d.mem.writableView(pfn) as Uint8Array;
      for (let i = 0; i < PAGE_SIZE; i++) page[i] = (i * 31 + pfn * 7 + d.id * 101) & 0xff;
    }
  }
  const mfnA = (pfn: number) => a.mem.pfnToMfn(pfn);
  const grant = (to: number, pfn: number, ro: boolean) => a.client.grantAccess(to, mfnA(pfn), ro);
  const mapBy = (d: Dom, ref: number, flags: number, addr: number) => {
    const op = { host_addr: addr, flags, ref, dom: 1 };
    expect(d.op(GNTTABOP_map_grant_ref, [op], 1)).toBe(0);
    expect((op as { status?: number }).status).toBe(GNTST_okay);
  };
  const aRefs = [
    grant(2, 0, false), // writable
    grant(2, 1, true), // read-only
    grant(3, 2, false), // granted to C, not B
    grant(2, 3, false), // revoked below
    a.client.grantAccess(2, b.mem.pfnToMfn(0), false), // a frame A does not own
    a.client.grantTransfer(2), // not a permit_access entry
    grant(2, 6, false), // mapped writable by B, then re-flagged read-only
    grant(2, 7, false), // mapped read-only by B
    grant(2, 8, true), // read-only, mapped read-only by B
    grant(3, 9, false), // mapped by C
    grant(2, 10, false), // never written
    grant(2, 5, false), // mapped writable for device access by B, then re-flagged read-only
  ];
  expect(a.client.endAccess(aRefs[3] as number)).toBe(true);
  mapBy(b, aRefs[6] as number, GNTMAP_host_map, 0x10000);
  mapBy(b, aRefs[7] as number, GNTMAP_host_map | GNTMAP_readonly, 0x11000);
  mapBy(b, aRefs[8] as number, GNTMAP_host_map | GNTMAP_readonly, 0x12000);
  mapBy(c, aRefs[9] as number, GNTMAP_host_map, 0x10000);
  mapBy(b, aRefs[11] as number, GNTMAP_device_map, 0);
  const t = w.gt.table(1);
  if (!t) throw new Error('no table');
  for (const [i, pfn] of [
    [6, 6],
    [11, 5],
  ]) {
    const r = aRefs[i as number] as number;
    writeGrantEntryV1(t.frameViews[r >>> 9] as DataView, (r & 511) * 8, {
      domid: 2,
      frame: mfnA(pfn as number),
      flags: GTF_permit_access | GTF_readonly,
    });
  }
  const cRefs = [
    c.client.grantAccess(2, c.mem.pfnToMfn(0), false),
    c.client.grantAccess(2, c.mem.pfnToMfn(1), true),
    c.client.grantAccess(2, c.mem.pfnToMfn(2), false), // never written
  ];
  const bOwn = [0, 1, 2, 3, 4].map((pfn) => b.mem.pfnToMfn(pfn));
  const nr = w.mm.table.nrFrames;
  let free = nr - 1;
  while (w.mm.table.owner(free) !== -1) free--;
  const wildGmfns = [mfnA(0), c.mem.pfnToMfn(0), free, nr, nr + 9, -1, 1.5];
  return { w, a, b, c, aRefs, cRefs, bOwn, wildGmfns };
}

type World3 = ReturnType<typeof world>;

/** The status Xen gives the op, by the rules restated plainly; and the two frames when okay. */
function expectedStatus(
  x: World3,
  op: gnttab_copy,
): { status: number; smfn?: number; dmfn?: number } {
  const { w } = x;
  const ld = 2;
  const u16 = (v: unknown) =>
    typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff ? v : -1;
  const u32 = (v: unknown) =>
    typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : -1;
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const flags = u32(op.flags);
  const sides = [op.source as unknown, op.dest as unknown];
  if (flags < 0 || !isObj(sides[0]) || !isObj(sides[1])) return { status: GNTST_general_error };
  const isGref = [(flags & GNTCOPY_source_gref) !== 0, (flags & GNTCOPY_dest_gref) !== 0];
  // gnttab_copy_lock_domain for both sides first.
  const tables = [];
  for (let s = 0; s < 2; s++) {
    const domid = u16((sides[s] as Record<string, unknown>).domid);
    if (domid !== DOMID_SELF && !isGref[s]) return { status: GNTST_permission_denied };
    const t =
      domid === DOMID_SELF ? w.gt.liveTable(ld) : domid < 0 ? undefined : w.gt.liveTable(domid);
    if (!t) return { status: GNTST_bad_domain };
    tables.push(t);
  }
  const mfns: number[] = [];
  for (let s = 0; s < 2; s++) {
    const u = (sides[s] as Record<string, unknown>).u;
    const t = tables[s] as NonNullable<(typeof tables)[number]>;
    const owned = (m: number, by: number) =>
      Number.isInteger(m) && m >= 0 && m < w.mm.table.nrFrames && w.mm.table.owner(m) === by;
    if (!isGref[s]) {
      const gmfn = isObj(u) ? u32(u.gmfn) : -1;
      if (!owned(gmfn, ld) || ((w.mm.table.flags[gmfn] as number) & 1) === 0) {
        return { status: GNTST_bad_page };
      }
      mfns.push(gmfn);
      continue;
    }
    const ref = isObj(u) ? u32(u.ref) : -1;
    if (ref < 0 || ref >= t.nrEntries) return { status: GNTST_bad_gntref };
    const pin = t.actPin[ref] as number;
    if (pin !== 0 && t.actDomid[ref] !== ld) return { status: GNTST_general_error };
    const v = t.frameViews[ref >>> 9] as DataView;
    const off = (ref & 511) * 8;
    const writable = s === 1;
    const writePinned = (pin & 0xff00ff00) !== 0;
    if (pin === 0 || (writable && !writePinned)) {
      const ef = v.getUint16(off, true);
      if ((ef & GTF_type_mask) !== GTF_permit_access || v.getUint16(off + 2, true) !== ld) {
        return { status: GNTST_general_error };
      }
      if (writable && ef & GTF_readonly) return { status: GNTST_general_error };
    }
    const mfn = pin !== 0 ? (t.actMfn[ref] as number) : v.getUint32(off + 4, true);
    if (!owned(mfn, t.domid)) return { status: GNTST_bad_page };
    mfns.push(mfn);
  }
  const soff = u16(op.source.offset);
  const doff = u16(op.dest.offset);
  const len = u16(op.len);
  if (soff < 0 || doff < 0 || len < 0 || soff + len > PAGE_SIZE || doff + len > PAGE_SIZE) {
    return { status: GNTST_bad_copy_arg };
  }
  return { status: GNTST_okay, smfn: mfns[0] as number, dmfn: mfns[1] as number };
}

describe('GNTTABOP_copy against the plain rules', () => {
  it('gives the same status and the same bytes as grant_table.c for any mix of sides', () => {
    const x = world();
    const { w, b, aRefs, cRefs, bOwn, wildGmfns } = x;
    const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
    const wildDomid = pick<unknown>([2, 0, 99, -1, 0x10000, 2.5, '1', undefined]);
    const wildRef = pick<unknown>([0, 7, 4096, 1 << 20, -1, 3.5, null]);
    const offset = fc.oneof(
      { weight: 6, arbitrary: pick([0, 0, 4, 86, 128]) },
      { weight: 3, arbitrary: fc.integer({ min: 0, max: PAGE_SIZE }) },
      { weight: 1, arbitrary: pick<unknown>([-4, 4097, 0x10000, 1.5]) },
    );
    // A side and whether it names a grant (its GNTCOPY_*_gref bit): mostly what a backend sends
    // (A's or C's grant by ref, B's own frame by gmfn), sometimes anything at all.
    const side = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .record({ ref: pick(aRefs), offset })
          .map(({ ref, offset }) => ({ p: { u: { ref, gmfn: 0 }, domid: 1, offset }, gref: true })),
      },
      {
        weight: 2,
        arbitrary: fc
          .record({ ref: pick(cRefs), offset })
          .map(({ ref, offset }) => ({ p: { u: { ref, gmfn: 0 }, domid: 3, offset }, gref: true })),
      },
      {
        weight: 4,
        arbitrary: fc.record({ gmfn: pick(bOwn), offset }).map(({ gmfn, offset }) => ({
          p: { u: { ref: 0, gmfn }, domid: DOMID_SELF, offset },
          gref: false,
        })),
      },
      {
        weight: 3,
        arbitrary: fc
          .record({
            u: fc.oneof(
              fc.record({
                ref: fc.oneof(pick([...aRefs, ...cRefs]), wildRef),
                gmfn: pick(wildGmfns),
              }),
              pick<unknown>([null, 3]),
            ),
            domid: fc.oneof(pick([1, 3, DOMID_SELF]), wildDomid),
            offset,
            gref: fc.boolean(),
          })
          .map(({ gref, ...p }) => ({ p, gref })),
      },
      { weight: 1, arbitrary: pick<unknown>([null, 7, [1]]).map((p) => ({ p, gref: true })) },
    );
    const len = fc.oneof(
      { weight: 5, arbitrary: pick([PAGE_SIZE, 8, 42, 780, 4010]) },
      { weight: 3, arbitrary: fc.integer({ min: 0, max: PAGE_SIZE }) },
      { weight: 1, arbitrary: pick<unknown>([-1, 4097, 2.5, '8']) },
    );
    const wildFlags = fc.option(pick<unknown>([0, 1, 2, 3, 4, 7, -1, 1.5]), { freq: 8 });
    const op = fc.record({ s: side, d: side, len, wildFlags }).map(({ s, d, len, wildFlags }) => ({
      source: s.p,
      dest: d.p,
      len,
      flags: wildFlags ?? (s.gref ? GNTCOPY_source_gref : 0) | (d.gref ? GNTCOPY_dest_gref : 0),
    }));
    /** Ops seen per status, and okay ops per kind of copy (flags 0..3), to show the mix covers all. */
    const seen = new Map<number, number>();
    const okByFlags = new Int32Array(4);

    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 16 }), (specs) => {
        const ops = specs as unknown as gnttab_copy[];
        // The model: the bytes of every frame, copied op by op (an op may read an earlier one's bytes).
        const model = new Map<number, Uint8Array>();
        const bytesOf = (mfn: number): Uint8Array => {
          let m = model.get(mfn);
          if (!m) {
            m = new Uint8Array(PAGE_SIZE);
            const v = w.mm.frames.peek(mfn);
            if (v) m.set(v);
            model.set(mfn, m);
          }
          return m;
        };
        // Frames whose bytes C leaves undefined: gnttab_copy_buf's memcpy between overlapping runs
        // of one frame, and whatever is copied out of such a frame afterwards.
        const undefinedBytes = new Set<number>();
        const want = ops.map((o) => {
          const e = expectedStatus(x, o);
          if (e.status === GNTST_okay) {
            const smfn = e.smfn as number;
            const dmfn = e.dmfn as number;
            const so = o.source.offset;
            const dof = o.dest.offset;
            const overlap = smfn === dmfn && so !== dof && so < dof + o.len && dof < so + o.len;
            if (overlap || undefinedBytes.has(smfn)) undefinedBytes.add(dmfn);
            bytesOf(dmfn).set(bytesOf(smfn).slice(so, so + o.len), dof);
          }
          return e.status;
        });
        expect(b.op(GNTTABOP_copy, ops, ops.length)).toBe(0);
        expect(ops.map((o) => o.status)).toEqual(want);
        for (const [i, st] of want.entries()) {
          seen.set(st, (seen.get(st) ?? 0) + 1);
          const kind = (ops[i] as gnttab_copy).flags & 3;
          if (st === GNTST_okay) okByFlags[kind] = (okByFlags[kind] ?? 0) + 1;
        }
        for (const [mfn, m] of model) {
          if (undefinedBytes.has(mfn)) continue;
          const v = w.mm.frames.peek(mfn);
          expect(Buffer.from(v ?? new Uint8Array(PAGE_SIZE)).equals(Buffer.from(m))).toBe(true);
        }
      }),
      { numRuns: 1000, seed: 17 },
    );
    for (const st of [
      GNTST_okay,
      GNTST_general_error,
      GNTST_bad_domain,
      GNTST_bad_gntref,
      GNTST_permission_denied,
      GNTST_bad_page,
      GNTST_bad_copy_arg,
    ]) {
      expect(seen.get(st) ?? 0, `status ${st}`).toBeGreaterThan(20);
    }
    for (const [f, n] of okByFlags.entries()) expect(n, `okay with flags ${f}`).toBeGreaterThan(20);
  });
});
