// Reusable receive memory for a migration socket (the role of the fixed receive buffers
// xg_sr_restore.c's read_record reads the stream into; reference 10.2): each socket read lands in
// a slab at a bump pointer, so a 1 GiB stream neither allocates nor frees a buffer per read. A
// slab is reused only when every chunk read into it was released by its consumer; chunks never
// released keep their slab out of reuse forever (memory, never corruption).

/** One slab: its bytes, where the next read goes, and how many chunks of it are still held. */
interface Slab {
  readonly bytes: Uint8Array;
  off: number;
  held: number;
}

export interface RecvArenaOptions {
  /** Bytes per slab. */
  readonly slabBytes?: number;
  /** The most one read may take (the region offered to the kernel). */
  readonly readBytes?: number;
  /** A slab with less room than this left is retired: the next read starts a fresh slab. */
  readonly minReadBytes?: number;
  /** Released slabs kept for reuse; more are left to the garbage collector. */
  readonly keepSlabs?: number;
}

const DEFAULT_SLAB_BYTES = 16 << 20;
/** 4 MiB reads measured best on loopback (fewer read events; 1 MiB costs ~25% more). */
const DEFAULT_READ_BYTES = 4 << 20;
const DEFAULT_MIN_READ_BYTES = 256 << 10;
const DEFAULT_KEEP_SLABS = 4;

export class RecvArena {
  private readonly slabBytes: number;
  private readonly readBytes: number;
  private readonly minReadBytes: number;
  private readonly keepSlabs: number;
  private readonly owner = new Map<ArrayBufferLike, Slab>();
  private readonly free: Slab[] = [];
  private current: Slab;
  /** The region `region()` offered last (the next read fills it from its start). */
  private offered: Uint8Array;
  private slabsMade = 0;

  constructor(o: RecvArenaOptions = {}) {
    this.slabBytes = o.slabBytes ?? DEFAULT_SLAB_BYTES;
    this.readBytes = Math.min(o.readBytes ?? DEFAULT_READ_BYTES, this.slabBytes);
    this.minReadBytes = Math.min(o.minReadBytes ?? DEFAULT_MIN_READ_BYTES, this.readBytes);
    this.keepSlabs = o.keepSlabs ?? DEFAULT_KEEP_SLABS;
    this.current = this.newSlab();
    this.offered = this.current.bytes.subarray(0, this.readBytes);
  }

  /** Slabs allocated so far (a stream whose chunks are released keeps this small). */
  get slabsAllocated(): number {
    return this.slabsMade;
  }

  /** Where the next read may write: at most `readBytes`, never over a held chunk. */
  region(): Uint8Array {
    const s = this.current;
    // Nothing of the slab is held: start over at its beginning, memory the cache still has.
    if (s.held === 0) s.off = 0;
    else if (this.slabBytes - s.off < this.minReadBytes) this.retire();
    const c = this.current;
    this.offered = c.bytes.subarray(c.off, Math.min(c.off + this.readBytes, this.slabBytes));
    return this.offered;
  }

  /**
   * `n` bytes were read into the region offered last: they become a chunk, held until `release`.
   * Returns the chunk (a view of the slab).
   */
  commit(n: number): Uint8Array {
    const s = this.current;
    const len = Math.max(0, Math.min(n, this.offered.length));
    if (len === 0) return new Uint8Array(0);
    const start = this.offered.byteOffset - s.bytes.byteOffset;
    const chunk = s.bytes.subarray(start, start + len);
    s.off = start + len;
    s.held++;
    // The region offered next starts after this chunk.
    this.offered = s.bytes.subarray(s.off, Math.min(s.off + this.readBytes, this.slabBytes));
    return chunk;
  }

  /**
   * The consumer no longer references `chunk`: once its slab has no held chunk (and is not the
   * one being filled), the slab may be reused. A chunk not from this arena is ignored.
   */
  release(chunk: Uint8Array): void {
    const s = this.owner.get(chunk.buffer);
    if (s === undefined || s.held === 0) return;
    s.held--;
    if (s.held === 0 && s !== this.current) this.recycle(s);
  }

  private retire(): void {
    const old = this.current;
    this.current = this.free.pop() ?? this.newSlab();
    this.current.off = 0;
    if (old.held === 0) this.recycle(old);
  }

  private recycle(s: Slab): void {
    s.off = 0;
    if (this.free.length < this.keepSlabs) this.free.push(s);
    else this.owner.delete(s.bytes.buffer);
  }

  private newSlab(): Slab {
    const s: Slab = { bytes: new Uint8Array(this.slabBytes), off: 0, held: 0 };
    this.owner.set(s.bytes.buffer, s);
    this.slabsMade++;
    return s;
  }
}
