// Global memory invariants, for property and simulation tests: every frame free or owned by exactly
// one domain, P2M and M2P agree, accounting matches the frame table (cf. Xen's own ASSERTs in mm.c).

import { PGC_allocated, PGC_xen_heap, RESERVED_LOW_FRAMES } from './frame-table.js';
import type { MachineMemory } from './machine-memory.js';

/** Returns a description of every broken invariant (empty when all hold). */
export function memoryInvariantViolations(mm: MachineMemory): string[] {
  const out: string[] = [];
  const t = mm.table;
  const owned = new Map<number, number>();
  let free = 0;
  for (let m = RESERVED_LOW_FRAMES; m < t.nrFrames; m++) {
    const o = t.owner(m);
    if (o < 0) {
      free++;
      if (t.refs[m] !== 0 || t.m2p(m) !== -1 || t.flags[m] !== 0)
        out.push(`free frame ${m} has state`);
      continue;
    }
    const d = mm.domain(o);
    if (!d) {
      out.push(`frame ${m} owned by missing d${o}`);
      continue;
    }
    const f = t.flags[m] as number;
    if (!(f & PGC_xen_heap)) owned.set(o, (owned.get(o) ?? 0) + 1);
    if (!(f & PGC_allocated) && t.refs[m] === 0)
      out.push(`frame ${m} unallocated and unreferenced`);
    const pfn = t.m2p(m);
    if (pfn >= 0 && d.mfnOf(pfn) !== m)
      out.push(`M2P of ${m} says d${o} pfn ${pfn}, P2M disagrees`);
  }
  if (free !== t.freeFrames) out.push(`free count ${t.freeFrames} != ${free} free frames`);
  for (const id of mm.domids()) {
    const d = mm.domain(id);
    if (!d) continue;
    if (d.totPages !== (owned.get(id) ?? 0))
      out.push(`d${id} tot_pages ${d.totPages} != ${owned.get(id) ?? 0}`);
    for (let pfn = 0; pfn < d.p2m.length; pfn++) {
      const m = d.mfnOf(pfn);
      if (m < 0) continue;
      if (t.owner(m) !== id) out.push(`d${id} pfn ${pfn} -> mfn ${m} owned by d${t.owner(m)}`);
      if (t.m2p(m) !== pfn) out.push(`d${id} pfn ${pfn} -> mfn ${m} whose M2P is ${t.m2p(m)}`);
    }
  }
  return out;
}
