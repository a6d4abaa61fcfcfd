// GNTTABOP_copy batches (xen/common/grant_table.c gnttab_copy): every op gets its own status in
// order, whatever the ops before it named, and the bytes land exactly (gnttab_copy_buf), for any
// offsets and lengths, aligned or not, short (word copies) or long.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTST_bad_copy_arg,
  GNTST_bad_domain,
  GNTST_general_error,
  GNTST_okay,
  GNTST_permission_denied,
  GNTTABOP_copy,
  type gnttab_copy,
} from '../../hypercalls/grant-table.js';
import { XEN_EFAULT } from '../../hypercalls/errno.js';
import { PAGE_SIZE } from '../../hypercalls/types.js';
import { DOMID_SELF } from '../../hypercalls/xen.js';
import { World } from './world.js';

function world() {
  const w = new World(32 << 20);
  const a = w.domain(1, 16);
  const b = w.domain(2, 16);
  const c = w.domain(3, 16);
  for (let pfn = 0; pfn < 16; pfn++) {
    const page = a.mem.writableView(pfn) as Uint8Array;
    for (let i = 0; i < PAGE_SIZE; i++) page[i] = (i * 7 + pfn * 13 + 1) & 0xff;
  }
  // A's pages 0..7 granted read-only to B, C's page 0 granted writable to B.
  const ro = Array.from({ length: 8 }, (_, i) => a.client.grantAccess(2, a.mem.pfnToMfn(i), true));
  const cw = c.client.grantAccess(2, c.mem.pfnToMfn(0), false);
  return { w, a, b, c, ro, cw };
}

describe('GNTTABOP_copy batch', () => {
  it('gives each op its own status in order, across domains that change from op to op', () => {
    const { a, b, c, ro, cw } = world();
    const own = b.mem.pfnToMfn(0);
    const fromA = (ref: number, domid = 1): gnttab_copy => ({
      source: { u: { ref }, domid, offset: 0 },
      dest: { u: { gmfn: own }, domid: DOMID_SELF, offset: 0 },
      len: 8,
      flags: GNTCOPY_source_gref,
    });
    const ops: gnttab_copy[] = [
      fromA(ro[0] as number),
      fromA(ro[1] as number, 55), // no such domain
      fromA(ro[2] as number), // A again after a bad domain
      { ...fromA(ro[3] as number), flags: 0 }, // a foreign frame named without a gref
      {
        source: { u: { ref: ro[4] as number }, domid: 1, offset: 0 },
        dest: { u: { ref: cw }, domid: 3, offset: 8 },
        len: 8,
        flags: GNTCOPY_source_gref | GNTCOPY_dest_gref,
      },
      {
        source: { u: { ref: ro[5] as number }, domid: 1, offset: 0 },
        dest: { u: { ref: ro[6] as number }, domid: 1, offset: 0 }, // writing a read-only grant
        len: 8,
        flags: GNTCOPY_source_gref | GNTCOPY_dest_gref,
      },
      { ...fromA(ro[7] as number), len: PAGE_SIZE + 1 },
      fromA(ro[0] as number),
    ];
    expect(b.op(GNTTABOP_copy, ops, ops.length)).toBe(0);
    expect(ops.map((o) => o.status)).toEqual([
      GNTST_okay,
      GNTST_bad_domain,
      GNTST_okay,
      GNTST_permission_denied,
      GNTST_okay,
      GNTST_general_error,
      GNTST_bad_copy_arg,
      GNTST_okay,
    ]);
    // The cross-domain op moved A's bytes into C's granted page at offset 8.
    expect(Array.from((c.mem.view(0) as Uint8Array).subarray(8, 16))).toEqual(
      Array.from((a.mem.view(4) as Uint8Array).subarray(0, 8)),
    );
  });

  it('stops with -EFAULT at an op that cannot be read; earlier ops keep their status and bytes', () => {
    const { b, ro } = world();
    const own = b.mem.pfnToMfn(1);
    const ok: gnttab_copy = {
      source: { u: { ref: ro[0] as number }, domid: 1, offset: 0 },
      dest: { u: { gmfn: own }, domid: DOMID_SELF, offset: 0 },
      len: 4,
      flags: GNTCOPY_source_gref,
    };
    const after = { ...ok, status: 77 };
    expect(b.op(GNTTABOP_copy, [ok, 5, after], 3)).toBe(-XEN_EFAULT);
    expect(ok.status).toBe(GNTST_okay);
    expect(after.status).toBe(77);
    expect((b.mem.view(1) as Uint8Array)[0]).toBe(1);
  });

  it('moves exactly the bytes asked for, at any offsets and lengths', () => {
    const { a, b, ro } = world();
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            page: fc.integer({ min: 0, max: 7 }),
            // Word-aligned offsets often: both aligned is when the word copy runs.
            soff: fc.oneof(
              fc.integer({ min: 0, max: PAGE_SIZE }),
              fc.integer({ min: 0, max: PAGE_SIZE / 4 }).map((x) => x * 4),
            ),
            doff: fc.oneof(
              fc.integer({ min: 0, max: PAGE_SIZE }),
              fc.integer({ min: 0, max: PAGE_SIZE / 4 }).map((x) => x * 4),
            ),
            len: fc.oneof(fc.integer({ min: 0, max: 140 }), fc.integer({ min: 0, max: PAGE_SIZE })),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        (specs) => {
          // The expected destination page, op by op (later ops may overwrite earlier ones).
          const dst = b.mem.writableView(2) as Uint8Array;
          dst.fill(0xee);
          const expected = new Uint8Array(dst);
          const ops: gnttab_copy[] = specs.map((s) => ({
            source: { u: { ref: ro[s.page] as number }, domid: 1, offset: s.soff },
            dest: { u: { gmfn: b.mem.pfnToMfn(2) }, domid: DOMID_SELF, offset: s.doff },
            len: s.len,
            flags: GNTCOPY_source_gref,
          }));
          expect(b.op(GNTTABOP_copy, ops, ops.length)).toBe(0);
          specs.forEach((s, i) => {
            const fits = s.soff + s.len <= PAGE_SIZE && s.doff + s.len <= PAGE_SIZE;
            expect(ops[i]?.status).toBe(fits ? GNTST_okay : GNTST_bad_copy_arg);
            if (!fits) return;
            const src = a.mem.view(s.page) as Uint8Array;
            expected.set(src.subarray(s.soff, s.soff + s.len), s.doff);
          });
          expect(Buffer.from(b.mem.view(2) as Uint8Array).equals(Buffer.from(expected))).toBe(true);
        },
      ),
      { numRuns: 200, seed: 9 },
    );
  });
});

describe("the frame store's views, which the grant copy caches word views of", () => {
  it('give one view object per frame for good: the same after writes, scrubs and other frames', () => {
    const { w, a } = world();
    const frames = w.mm.frames;
    const mfn = a.mem.pfnToMfn(3);
    const v = frames.view(mfn);
    v.fill(9);
    frames.view(a.mem.pfnToMfn(9)).fill(1);
    frames.scrub(mfn);
    expect(frames.view(mfn)).toBe(v);
    expect(frames.peek(mfn)).toBe(v);
    expect(v.byteOffset % 4).toBe(0);
  });
});
