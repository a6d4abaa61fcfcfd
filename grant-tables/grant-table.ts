// One domain's grant table: its v1 entries in frames it owns, the active entries (pin counts of the
// grants other domains use) and its maptrack (the grants it has mapped) (xen/common/grant_table.c).

import {
  GRANT_ENTRIES_PER_FRAME_V1,
  MAPTRACK_ENTRIES_PER_FRAME,
} from '../hypercalls/grant-table.js';

// Pin counters, packed as Xen's act->pin: one byte per kind.
export const GNTPIN_hstr_inc = 1 << 0;
export const GNTPIN_hstw_inc = 1 << 8;
export const GNTPIN_devr_inc = 1 << 16;
export const GNTPIN_devw_inc = 1 << 24;
export const GNTPIN_hstw_mask = 0xff << 8;
export const GNTPIN_devw_mask = 0xff << 24;
/** The top bit of each counter: one more increment could overflow it. */
export const pinOverflowMask = (incr: number): number => (incr << 7) >>> 0;

export class GrantTable {
  readonly domid: number;
  readonly maxFrames: number;
  readonly maxMaptrackFrames: number;
  version = 1;
  /** MFNs of the table frames (Xen-heap pages shared with the domain). */
  readonly frameMfns: number[] = [];
  /** One DataView per table frame, over the frame's real bytes. */
  readonly frameViews: DataView[] = [];
  nrEntries = 0;

  // Active entries, indexed by ref.
  actPin = new Uint32Array(0);
  actDomid = new Uint16Array(0);
  actMfn = new Int32Array(0);
  /** Refs with a non-zero pin. */
  activeCount = 0;

  // Maptrack, indexed by handle. mtFlags 0 = unused.
  mtFlags = new Uint8Array(0);
  mtDom = new Uint16Array(0);
  mtRef = new Uint32Array(0);
  mtHostAddr = new Float64Array(0);
  maptrackLimit = 0;
  mapsInUse = 0;
  private mtFree = new Int32Array(0);
  private mtFreeTop = 0;

  dying = false;

  constructor(domid: number, maxFrames: number, maxMaptrackFrames: number) {
    this.domid = domid;
    this.maxFrames = maxFrames;
    this.maxMaptrackFrames = maxMaptrackFrames;
  }

  get nrFrames(): number {
    return this.frameMfns.length;
  }

  /** Adds a table frame whose bytes are `bytes` (a zeroed frame: all entries GTF_invalid). */
  addFrame(mfn: number, bytes: Uint8Array): void {
    this.frameMfns.push(mfn);
    this.frameViews.push(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.nrEntries = this.frameMfns.length * GRANT_ENTRIES_PER_FRAME_V1;
    this.actPin = grow(this.actPin, this.nrEntries);
    this.actDomid = grow(this.actDomid, this.nrEntries);
    this.actMfn = grow(this.actMfn, this.nrEntries);
  }

  /** get_maptrack_handle: a free handle, growing the maptrack a frame at a time; -1 when full. */
  getHandle(): number {
    if (this.mtFreeTop === 0 && !this.growMaptrack()) return -1;
    this.mapsInUse++;
    return this.mtFree[--this.mtFreeTop] as number;
  }

  putHandle(handle: number): void {
    this.mtFlags[handle] = 0;
    this.mtFree[this.mtFreeTop++] = handle;
    this.mapsInUse--;
  }

  private growMaptrack(): boolean {
    if (this.maptrackLimit >= this.maxMaptrackFrames * MAPTRACK_ENTRIES_PER_FRAME) return false;
    const old = this.maptrackLimit;
    const limit = old + MAPTRACK_ENTRIES_PER_FRAME;
    this.mtFlags = grow(this.mtFlags, limit);
    this.mtDom = grow(this.mtDom, limit);
    this.mtRef = grow(this.mtRef, limit);
    this.mtHostAddr = grow(this.mtHostAddr, limit);
    this.mtFree = grow(this.mtFree, limit);
    // Push in reverse so that handles come out in ascending order.
    for (let h = limit - 1; h >= old; h--) this.mtFree[this.mtFreeTop++] = h;
    this.maptrackLimit = limit;
    return true;
  }
}

type Typed = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

function grow<T extends Typed>(a: T, n: number): T {
  if (a.length >= n) return a;
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}
