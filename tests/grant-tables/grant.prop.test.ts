import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GNTCOPY_source_gref,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_okay,
  GNTTABOP_copy,
  GNTTABOP_map_grant_ref,
  GNTTABOP_unmap_grant_ref,
  GTF_permit_access,
  GTF_reading,
  GTF_readonly,
  GTF_type_mask,
  GTF_writing,
  type gnttab_copy,
  type gnttab_map_grant_ref,
} from '../../hypercalls/grant-table.js';
import { writeGrantEntryV1 } from '../../hypercalls/io/grant-entry.js';
import { DOMID_SELF } from '../../hypercalls/xen.js';
import { memoryInvariantViolations } from '../../hypervisor/memory/invariants.js';
import { World, type Dom } from './world.js';

const DOMS = [1, 2, 3];
const PAGES = 4;

type Op =
  | { k: 'grant'; by: number; to: number; pfn: number; ro: boolean }
  | { k: 'raw'; by: number; ref: number; to: number; frameOf: number; pfn: number; flags: number }
  | { k: 'map'; by: number; from: number; ref: number; ro: boolean; addr: number }
  | { k: 'unmap'; pick: number; garbage: number | null; wrongAddr: boolean }
  | {
      k: 'copy';
      by: number;
      from: number;
      ref: number;
      pfn: number;
      soff: number;
      doff: number;
      len: number;
    }
  | { k: 'end'; by: number; ref: number }
  | { k: 'write'; pick: number; byte: number };

const dom = fc.constantFrom(...DOMS);
const ref = fc.integer({ min: 6, max: 14 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    k: fc.constant('grant' as const),
    by: dom,
    to: dom,
    pfn: fc.nat(PAGES - 1),
    ro: fc.boolean(),
  }),
  fc.record({
    k: fc.constant('raw' as const),
    by: dom,
    ref,
    to: dom,
    frameOf: dom,
    pfn: fc.nat(PAGES - 1),
    flags: fc.integer({ min: 0, max: 0x1f }),
  }),
  fc.record({
    k: fc.constant('map' as const),
    by: dom,
    from: dom,
    ref,
    ro: fc.boolean(),
    addr: fc.integer({ min: 1, max: 6 }),
  }),
  fc.record({
    k: fc.constant('unmap' as const),
    pick: fc.nat(10),
    garbage: fc.option(fc.integer({ min: -2, max: 600 })),
    wrongAddr: fc.boolean(),
  }),
  fc.record({
    k: fc.constant('copy' as const),
    by: dom,
    from: dom,
    ref,
    pfn: fc.nat(PAGES - 1),
    soff: fc.integer({ min: 0, max: 4096 }),
    doff: fc.integer({ min: 0, max: 4096 }),
    len: fc.integer({ min: 0, max: 4096 }),
  }),
  fc.record({ k: fc.constant('end' as const), by: dom, ref }),
  fc.record({
    k: fc.constant('write' as const),
    pick: fc.nat(10),
    byte: fc.integer({ min: 1, max: 255 }),
  }),
);

interface Mapping {
  mapper: number;
  granter: number;
  ref: number;
  mfn: number;
  handle: number;
  hostAddr: number;
  writable: boolean;
}

/** The entry's flags, domid and frame, read from the granter's table bytes. */
function entryOf(d: Dom, r: number): { flags: number; domid: number; frame: number } {
  const v = tableView(d);
  const off = (r & 511) * 8;
  return {
    flags: v.getUint16(off, true),
    domid: v.getUint16(off + 2, true),
    frame: v.getUint32(off + 4, true),
  };
}

function tableView(d: Dom): DataView {
  const op = { dom: DOMID_SELF, nr_frames: 1, frame_list: [0], status: 1 };
  d.op(2, [op], 1);
  const bytes = d.mem.ownFrame(op.frame_list[0] as number) as Uint8Array;
  return new DataView(bytes.buffer, bytes.byteOffset, 4096);
}

function checkGlobal(
  w: World,
  doms: Map<number, Dom>,
  maps: Mapping[],
  clobbered: Set<string>,
): void {
  expect(memoryInvariantViolations(w.mm)).toEqual([]);
  // Every page reference is accounted for by a live mapping: none negative, none leaked.
  const expected = new Map<number, number>();
  for (const m of maps) expected.set(m.mfn, (expected.get(m.mfn) ?? 0) + 1);
  const wrong: string[] = [];
  for (let mfn = 0; mfn < w.mm.nrFrames; mfn++) {
    const r = w.mm.table.refs[mfn] as number;
    if (r !== (expected.get(mfn) ?? 0)) wrong.push(`mfn ${mfn}: ${r} refs`);
  }
  expect(wrong).toEqual([]);
  for (const m of maps) {
    expect(w.mm.table.owner(m.mfn)).toBe(m.granter);
    // A granter may scribble over its own entry's flags; Xen trusts only its active entry then.
    if (clobbered.has(`${m.granter}:${m.ref}`)) continue;
    const g = doms.get(m.granter) as Dom;
    const f = g.client.entry(m.ref)?.flags ?? 0;
    expect(f & GTF_reading).toBe(GTF_reading);
    if (maps.some((o) => o.granter === m.granter && o.ref === m.ref && o.writable)) {
      expect(f & GTF_writing).toBe(GTF_writing);
    }
  }
}

describe('grant tables under random, partly malicious operation sequences', () => {
  it('never give a domain an ungranted frame, never drive a count negative, leave nothing behind', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 70 }), (ops) => {
        const w = new World(2 << 20);
        const doms = new Map(DOMS.map((id) => [id, w.domain(id, PAGES, 2)]));
        const d = (id: number): Dom => doms.get(id) as Dom;
        const maps: Mapping[] = [];
        const refsOf = new Map<number, number[]>(DOMS.map((id) => [id, []]));
        const clobbered = new Set<string>();
        for (const o of ops) {
          switch (o.k) {
            case 'grant': {
              const r = d(o.by).client.grantAccess(o.to, d(o.by).mem.pfnToMfn(o.pfn), o.ro);
              if (r >= 0) refsOf.get(o.by)?.push(r);
              break;
            }
            case 'raw': {
              // A malicious granter writes any bytes it likes into its own table.
              clobbered.add(`${o.by}:${o.ref}`);
              writeGrantEntryV1(tableView(d(o.by)), (o.ref & 511) * 8, {
                domid: o.to,
                frame: d(o.frameOf).mem.pfnToMfn(o.pfn),
                flags: o.flags,
              });
              break;
            }
            case 'map': {
              const before = entryOf(d(o.from), o.ref);
              const hostAddr = o.addr * 0x1000;
              const mop: gnttab_map_grant_ref = {
                host_addr: hostAddr,
                flags: GNTMAP_host_map | (o.ro ? GNTMAP_readonly : 0),
                ref: o.ref,
                dom: o.from,
              };
              expect(d(o.by).op(GNTTABOP_map_grant_ref, [mop], 1)).toBe(0);
              if (mop.status !== GNTST_okay) break;
              const mfn = (mop.dev_bus_addr as number) / 4096;
              const pinned = maps.some((m) => m.granter === o.from && m.ref === o.ref);
              if (!pinned) {
                // Fresh pin: the entry permitted exactly this mapper, this frame, this access.
                expect(before.flags & GTF_type_mask).toBe(GTF_permit_access);
                expect(before.domid).toBe(o.by);
                expect(before.frame).toBe(mfn);
                if (!o.ro) expect(before.flags & GTF_readonly).toBe(0);
              }
              expect(w.mm.table.owner(mfn)).toBe(o.from);
              maps.push({
                mapper: o.by,
                granter: o.from,
                ref: o.ref,
                mfn,
                handle: mop.handle as number,
                hostAddr,
                writable: !o.ro,
              });
              break;
            }
            case 'unmap': {
              const i = o.pick % Math.max(maps.length, 1);
              const m = maps[i];
              if (!m) break;
              const uop = {
                host_addr: o.wrongAddr ? m.hostAddr + 0x100000 : m.hostAddr,
                dev_bus_addr: 0,
                handle: o.garbage ?? m.handle,
                status: 1,
              };
              expect(d(m.mapper).op(GNTTABOP_unmap_grant_ref, [uop], 1)).toBe(0);
              if (uop.status === GNTST_okay && o.garbage === null && !o.wrongAddr)
                maps.splice(i, 1);
              else if (uop.status === GNTST_okay) {
                // A garbage handle that happened to be live unmaps that mapping.
                const hit = maps.findIndex(
                  (x) =>
                    x.mapper === m.mapper &&
                    x.handle === uop.handle &&
                    x.hostAddr === uop.host_addr,
                );
                if (hit >= 0) maps.splice(hit, 1);
              }
              break;
            }
            case 'copy': {
              const own = d(o.by).mem.pfnToMfn(o.pfn);
              const before = new Uint8Array(4096);
              d(o.by).mem.read(o.pfn, 0, before);
              const c: gnttab_copy = {
                source: { u: { ref: o.ref }, domid: o.from, offset: o.soff },
                dest: { u: { gmfn: own }, domid: DOMID_SELF, offset: o.doff },
                len: o.len,
                flags: GNTCOPY_source_gref,
              };
              const e = entryOf(d(o.from), o.ref);
              expect(d(o.by).op(GNTTABOP_copy, [c], 1)).toBe(0);
              if (c.status === GNTST_okay) {
                expect(e.flags & GTF_type_mask).toBe(GTF_permit_access);
                expect(e.domid).toBe(o.by);
                expect(w.mm.table.owner(e.frame)).toBe(o.from);
              } else {
                const after = new Uint8Array(4096);
                d(o.by).mem.read(o.pfn, 0, after);
                expect(after.every((b, i) => b === before[i])).toBe(true);
              }
              break;
            }
            case 'end': {
              const ok = d(o.by).client.endAccess(o.ref);
              if (ok) expect(maps.some((m) => m.granter === o.by && m.ref === o.ref)).toBe(false);
              break;
            }
            case 'write': {
              const m = maps[o.pick % Math.max(maps.length, 1)];
              if (!m) break;
              const rc = d(m.mapper).mem.writeMapped(m.hostAddr, 9, new Uint8Array([o.byte]));
              const pfn = d(m.granter).mem.mfnToPfn(m.mfn);
              const view = d(m.mapper).mem.mappedView(m.hostAddr);
              if (m.writable) {
                expect(rc).toBe(0);
                expect(view?.[9]).toBe(o.byte);
                const out = new Uint8Array(1);
                if (pfn >= 0) d(m.granter).mem.read(pfn, 9, out);
                if (pfn >= 0) expect(out[0]).toBe(o.byte);
              } else {
                expect(rc).not.toBe(0);
                expect(view).toBeUndefined();
              }
              break;
            }
          }
          checkGlobal(w, doms, maps, clobbered);
        }
        // Destroy in a random-ish order: mappings held by the dying go with them; granters may linger.
        for (const id of [2, 1, 3]) w.destroy(id);
        expect(w.gt.domids()).toEqual([]);
        expect(w.mm.domids()).toEqual([]);
        expect(w.mm.table.freeFrames).toBe(w.mm.table.usableFrames);
        expect(w.mm.table.refs.every((r) => r === 0)).toBe(true);
      }),
      { numRuns: 120 },
    );
  });
});
