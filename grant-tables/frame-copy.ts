// The byte move of GNTTABOP_copy (xen/common/grant_table.c gnttab_copy_buf's memcpy between two
// mapped frames): whole pages and long runs with Uint8Array.set, short runs (packet headers, small
// packets) as 32-bit words through one cached Int32Array per frame-store buffer, which allocates
// nothing per op (a subarray for `set` costs more than copying 100 bytes).

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
  /** Per frame: 1 + its first word's index in its slot's view, or UNSEEN / UNALIGNED. */
  readonly placed: Int32Array;

  constructor(nrFrames: number) {
    this.slots = new Array<Int32Array | undefined>((nrFrames >>> SLOT_SHIFT) + 1).fill(undefined);
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
      // Frames placed in the old view must be placed again.
      const end = Math.min(this.placed.length, (k + 1) << SLOT_SHIFT);
      this.placed.fill(UNSEEN, k << SLOT_SHIFT, end);
    }
    this.placed[mfn] = (v.byteOffset >>> 2) + 1;
    return (v.byteOffset >>> 2) + 1;
  }
}

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

/** Copies `len` bytes from frame `smfn` at `soff` to frame `dmfn` at `doff` (both checked in range). */
export function copyFrameBytes(
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
  if (len > WORD_COPY_MAX_BYTES || ((soff | doff) & 3) !== 0) {
    dv.set(sv.subarray(soff, soff + len), doff);
    return;
  }
  const store = storeWords(frames);
  const sp = store.place(smfn, sv);
  const dp = store.place(dmfn, dv);
  // (Placing the second frame could only displace the first in a store laid out unlike chunks.)
  if (sp === UNALIGNED || dp === UNALIGNED || store.placed[smfn] !== sp) {
    dv.set(sv.subarray(soff, soff + len), doff);
    return;
  }
  // place() put both frames' views in their slots.
  const sw = store.slots[smfn >>> SLOT_SHIFT] as Int32Array;
  const dw = store.slots[dmfn >>> SLOT_SHIFT] as Int32Array;
  const words = len >>> 2;
  const si = sp - 1 + (soff >>> 2);
  const di = dp - 1 + (doff >>> 2);
  let i = 0;
  // Four words a step: fewer loop checks than one at a time.
  for (; i + 4 <= words; i += 4) {
    dw[di + i] = sw[si + i] as number;
    dw[di + i + 1] = sw[si + i + 1] as number;
    dw[di + i + 2] = sw[si + i + 2] as number;
    dw[di + i + 3] = sw[si + i + 3] as number;
  }
  for (; i < words; i++) dw[di + i] = sw[si + i] as number;
  for (let k = words << 2; k < len; k++) dv[doff + k] = sv[soff + k] as number;
}
