import { describe, expect, it } from 'vitest';
import {
  XEN_DOMCTL_SHADOW_OP_CLEAN,
  XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY,
  type ForeignMapping,
} from '../../hypercalls/memory.js';
import { XEN_EINVAL, XEN_EPERM } from '../../hypercalls/errno.js';
import { isZero } from '../../hypervisor/memory/frame-store.js';
import { caller, guestOf, makeDomain, makeMemory } from './world.js';

function mapAll(mm: ReturnType<typeof makeMemory>, pages: number, writable = true): ForeignMapping {
  const r = mm.foreign(caller(0)).mapForeignPfns(
    1,
    Array.from({ length: pages }, (_, i) => i),
    writable,
  );
  if (!r.ok) throw new Error(`map failed: ${r.errno}`);
  return r.value;
}

describe('ForeignMapping.write: the receiver filling a guest page by page', () => {
  it('zero pages into never-written frames materialize nothing', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 256, 256);
    const m = mapAll(mm, 256);
    const before = mm.frames.materializedFrames;
    const zero = new Uint8Array(4096);
    for (let i = 0; i < 256; i++) expect(m.write(i, zero)).toBe(0);
    expect(mm.frames.materializedFrames).toBe(before);
    const back = new Uint8Array(4096).fill(9);
    m.read(17, back);
    expect(isZero(back)).toBe(true);
  });

  it('non-zero pages land byte for byte, one frame each', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 64, 64);
    const m = mapAll(mm, 64);
    const before = mm.frames.materializedFrames;
    const page = new Uint8Array(4096);
    for (let i = 0; i < 4096; i++) page[i] = (i * 31 + 7) & 0xff;
    expect(m.write(5, page)).toBe(0);
    const last = new Uint8Array(4096);
    last[4095] = 1; // only the very last byte is set
    expect(m.write(6, last)).toBe(0);
    expect(mm.frames.materializedFrames).toBe(before + 2);
    const g = guestOf(mm, 1);
    const out = new Uint8Array(4096);
    g.read(5, 0, out);
    expect(out).toEqual(page);
    g.read(6, 0, out);
    expect(out).toEqual(last);
  });

  it('zeros over a frame that holds data overwrite it', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 8, 8);
    const m = mapAll(mm, 8);
    m.write(2, new Uint8Array(4096).fill(0xaa));
    expect(m.write(2, new Uint8Array(4096))).toBe(0);
    const out = new Uint8Array(4096).fill(1);
    guestOf(mm, 1).read(2, 0, out);
    expect(isZero(out)).toBe(true);
  });

  it('log-dirty sees every write, a zero page into a fresh frame included', () => {
    const mm = makeMemory();
    const d = makeDomain(mm, 1, 64, 64);
    const m = mapAll(mm, 64);
    mm.shadowOp(d, { op: XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY });
    m.write(3, new Uint8Array(4096));
    m.write(9, new Uint8Array(4096).fill(1));
    const bm = new Uint8Array(8);
    expect(mm.shadowOp(d, { op: XEN_DOMCTL_SHADOW_OP_CLEAN, dirty_bitmap: bm, pages: 64 }).ok).toBe(
      true,
    );
    expect(bm[0]).toBe(1 << 3);
    expect(bm[1]).toBe(1 << 1);
  });

  it('refuses a read-only mapping (EPERM) and a page outside the mapping (EINVAL)', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 8, 8);
    const ro = mapAll(mm, 8, false);
    expect(ro.write(0, new Uint8Array(4096).fill(1))).toBe(XEN_EPERM);
    const rw = mapAll(mm, 8);
    expect(rw.write(8, new Uint8Array(4096))).toBe(XEN_EINVAL);
    expect(mm.foreign(caller(0)).unmapForeign(rw)).toBe(0);
    expect(rw.write(0, new Uint8Array(4096))).toBe(XEN_EINVAL);
  });

  it('isZero checks unaligned views and the tail bytes too', () => {
    const buf = new Uint8Array(4099);
    expect(isZero(buf.subarray(1, 4098))).toBe(true);
    buf[4097] = 1;
    expect(isZero(buf.subarray(1, 4098))).toBe(false);
    expect(isZero(buf.subarray(0, 4097))).toBe(true);
    const b2 = new Uint8Array(4096);
    b2[4093] = 2;
    expect(isZero(b2)).toBe(false);
    // A word past the last group of eight, and a byte past the last whole word.
    const b3 = new Uint8Array(4100);
    expect(isZero(b3)).toBe(true);
    b3[4098] = 1;
    expect(isZero(b3)).toBe(false);
    const b4 = new Uint8Array(4103);
    b4[4102] = 1;
    expect(isZero(b4)).toBe(false);
  });
});

describe('privcmd batch copies (copyFromPfns / copyToPfns): the migration stream path', () => {
  it('copies a batch both ways byte for byte, zero pages materialize nothing', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 64, 64);
    const f = mm.foreign(caller(0));
    const pfns = [3, 9, 10];
    const src = new Uint8Array(3 * 4096);
    for (let i = 4096; i < 2 * 4096; i++) src[i] = (i * 13) & 0xff; // page 9 only
    const before = mm.frames.materializedFrames;
    expect(f.copyToPfns?.(1, pfns, src)).toBe(0);
    expect(mm.frames.materializedFrames).toBe(before + 1);
    const back = new Uint8Array(3 * 4096);
    expect(f.copyFromPfns?.(1, pfns, back, true)).toBe(0);
    expect(back).toEqual(src);
  });

  it('refuses an unprivileged caller, a hole, and a buffer too small for the batch', () => {
    const mm = makeMemory();
    makeDomain(mm, 1, 16, 16);
    const buf = new Uint8Array(4096);
    expect(mm.foreign(caller(1)).copyFromPfns?.(1, [0], buf)).toBe(XEN_EPERM);
    const f = mm.foreign(caller(0));
    expect(f.copyFromPfns?.(1, [4000], buf)).toBe(XEN_EINVAL);
    expect(f.copyToPfns?.(1, [0, 1], buf)).toBe(XEN_EINVAL);
  });
});
