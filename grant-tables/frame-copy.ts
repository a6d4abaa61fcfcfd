// The byte move of GNTTABOP_copy (xen/common/grant_table.c gnttab_copy_buf's memcpy between two
// mapped frames): whole pages and long runs with Uint8Array.set, short runs (packet headers, small
// packets) as 64-bit and 32-bit words through one cached Float64Array and Int32Array per
// frame-store buffer, which allocates nothing per op (a subarray for `set` costs more than copying
// 100 bytes). A Float64Array element moved straight from a load to a store keeps its bits in V8
// (NaNs are canonicalized when stored into JS arrays of doubles, not into typed arrays);
// tests/grant-tables/frame-copy.prop.test.ts pins this for every class of NaN, before and after
// the loop is optimized. Half the steps of 32-bit words: the loop of a 106-byte frame takes ~2/3
// of the time. Overlapping runs in one frame come out as a forward byte copy, as before: no step
// reads bytes that the same step writes (8-byte steps only when both runs start 8-aligned).

import { PAGE_SIZE } from '../hypercalls/types.js';
import type { FrameStore } from '../hypervisor/memory/frame-store.js';

/** Up to this length a word loop beats `subarray` + `set`. */
const WORD_COPY_MAX_BYTES = 128;
/** Frames that share one cache slot (the frame store's chunks are at least this large). */
const SLOT_SHIFT = 8;

/** StoreWords.placed: not looked at yet (0, so a fresh array needs no fill); not word-aligned. */
const UNSEEN = 0;
const UNALIGNED = -1;

/**
 * Word views of one frame store. A frame's view, once materialized, never changes (frame-store.ts
 * keeps one view per frame in a chunk that is never freed; tests/grant-tables pins this), so where
 * a frame starts in its slot's word view is found once (reading `buffer` and `byteOffset` costs
 * more than a 100-byte copy) and stays valid until that slot's view is replaced.
 */
class StoreWords {
  readonly slots: (Int32Array | undefined)[];
  /** The same buffers as `slots`, as 64-bit words (for runs that start 8-byte aligned). */
  readonly slots64: (Float64Array | undefined)[];
  /** Per frame: 1 + its first word's index in its slot's view, or UNSEEN / UNALIGNED. */
  readonly placed: Int32Array;

  constructor(nrFrames: number) {
    this.slots = new Array<Int32Array | undefined>((nrFrames >>> SLOT_SHIFT) + 1).fill(undefined);
    this.slots64 = new Array<Float64Array | undefined>((nrFrames >>> SLOT_SHIFT) + 1).fill(
      undefined,
    );
    this.placed = new Int32Array(nrFrames);
  }

  /** 1 + the frame's first word index in slots[mfn >> SLOT_SHIFT], or UNALIGNED. */
  place(mfn: number, v: Uint8Array): number {
    const p = this.placed[mfn] as number;
    if (p !== UNSEEN) return p;
    if ((v.byteOffset & 3) !== 0) {
      this.placed[mfn] = UNALIGNED;
      return UNALIGNED;
    }
    const k = mfn >>> SLOT_SHIFT;
    let w = this.slots[k];
    if (w === undefined || w.buffer !== v.buffer) {
      w = new Int32Array(v.buffer, 0, v.buffer.byteLength >>> 2);
      this.slots[k] = w;
      this.slots64[k] = new Float64Array(v.buffer, 0, v.buffer.byteLength >>> 3);
      // Frames placed in the old view must be placed again.
      const end = Math.min(this.placed.length, (k + 1) << SLOT_SHIFT);
      this.placed.fill(UNSEEN, k << SLOT_SHIFT, end);
    }
    this.placed[mfn] = (v.byteOffset >>> 2) + 1;
    return (v.byteOffset >>> 2) + 1;
  }
}

/**
 * TAIL_MASK[t]: the bits of an Int32Array element that hold its first t bytes in memory (found
 * through a byte view, so right for either byte order).
 */
const TAIL_MASK = ((): Int32Array => {
  const m = new Int32Array(4);
  const b = new Uint8Array(m.buffer);
  for (let t = 1; t < 4; t++) b.fill(0xff, t * 4, t * 4 + t);
  return m;
})();

const stores = new WeakMap<FrameStore, StoreWords>();
/** The store of the last copy (one per host: the WeakMap is rarely consulted). */
let lastStore: FrameStore | null = null;
let lastWords: StoreWords | null = null;

function storeWords(frames: FrameStore): StoreWords {
  if (frames === lastStore && lastWords !== null) return lastWords;
  let w = stores.get(frames);
  if (w === undefined) {
    w = new StoreWords(frames.nrFrames);
    stores.set(frames, w);
  }
  lastStore = frames;
  lastWords = w;
  return w;
}

/**
 * Copies `len` bytes from frame `smfn` at `soff` to frame `dmfn` at `doff` (both checked in range).
 * A short word-aligned copy between two frames placed before goes straight to the word views: a
 * placed frame is materialized and lies where it was placed (StoreWords), so neither frame's view
 * is looked up again.
 */
export function copyFrameBytes(
  frames: FrameStore,
  dmfn: number,
  doff: number,
  smfn: number,
  soff: number,
  len: number,
): void {
  if (len > WORD_COPY_MAX_BYTES || ((soff | doff) & 3) !== 0) {
    copyBySet(frames, dmfn, doff, smfn, soff, len);
    return;
  }
  const store = frames === lastStore ? (lastWords as StoreWords) : storeWords(frames);
  let sp = store.placed[smfn] as number;
  let dp = store.placed[dmfn] as number;
  if (sp <= 0 || dp <= 0) {
    if (!placeBoth(frames, store, dmfn, smfn)) {
      copyBySet(frames, dmfn, doff, smfn, soff, len);
      return;
    }
    sp = store.placed[smfn] as number;
    dp = store.placed[dmfn] as number;
  }
  const sw = store.slots[smfn >>> SLOT_SHIFT] as Int32Array;
  const dw = store.slots[dmfn >>> SLOT_SHIFT] as Int32Array;
  const words = len >>> 2;
  const si = sp - 1 + (soff >>> 2);
  const di = dp - 1 + (doff >>> 2);
  let i = 0;
  if (((si | di) & 1) === 0) {
    // Both runs start 8-byte aligned: 64-bit words, four a step (fewer loop checks).
    const sd = store.slots64[smfn >>> SLOT_SHIFT] as Float64Array;
    const dd = store.slots64[dmfn >>> SLOT_SHIFT] as Float64Array;
    const s8 = si >>> 1;
    const d8 = di >>> 1;
    const n8 = words >>> 1;
    let j = 0;
    for (; j + 4 <= n8; j += 4) {
      dd[d8 + j] = sd[s8 + j] as number;
      dd[d8 + j + 1] = sd[s8 + j + 1] as number;
      dd[d8 + j + 2] = sd[s8 + j + 2] as number;
      dd[d8 + j + 3] = sd[s8 + j + 3] as number;
    }
    for (; j < n8; j++) dd[d8 + j] = sd[s8 + j] as number;
    i = n8 << 1;
  }
  // Four words a step: fewer loop checks than one at a time.
  for (; i + 4 <= words; i += 4) {
    dw[di + i] = sw[si + i] as number;
    dw[di + i + 1] = sw[si + i + 1] as number;
    dw[di + i + 2] = sw[si + i + 2] as number;
    dw[di + i + 3] = sw[si + i + 3] as number;
  }
  for (; i < words; i++) dw[di + i] = sw[si + i] as number;
  const t = len & 3;
  if (t === 0) return;
  // The last 1-3 bytes: their part of the last word, the rest of that destination word kept.
  const m = TAIL_MASK[t] as number;
  dw[di + words] = ((dw[di + words] as number) & ~m) | ((sw[si + words] as number) & m);
}

/**
 * Places both frames (materializing the destination); false when the word views cannot be used:
 * the source was never written (it reads as zeros), a frame is not word-aligned, or placing the
 * second displaced the first (only in a store laid out unlike chunks).
 */
function placeBoth(frames: FrameStore, store: StoreWords, dmfn: number, smfn: number): boolean {
  const dv = frames.view(dmfn);
  const sv = frames.peek(smfn);
  if (sv === undefined) return false;
  const sp = store.place(smfn, sv);
  const dp = store.place(dmfn, dv);
  return sp !== UNALIGNED && dp !== UNALIGNED && store.placed[smfn] === sp;
}

/** The copy with `set` (and zeros from a never-written source). */
function copyBySet(
  frames: FrameStore,
  dmfn: number,
  doff: number,
  smfn: number,
  soff: number,
  len: number,
): void {
  const dv = frames.view(dmfn);
  const sv = frames.peek(smfn);
  if (sv === undefined) {
    // A never-written frame reads as zeros.
    dv.fill(0, doff, doff + len);
    return;
  }
  if (len === PAGE_SIZE) {
    dv.set(sv);
    return;
  }
  dv.set(sv.subarray(soff, soff + len), doff);
}
