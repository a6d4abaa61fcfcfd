// Frame buffers carved from large shared ArrayBuffers (the role of Linux's page-frag allocator for
// skb heads): a small Uint8Array with its own backing store costs a malloc and a GC finaliser in
// V8, a view into a slab costs neither. A slab is freed by the GC once no frame in it is alive.

const SLAB_BYTES = 1 << 20;

export class FrameSlab {
  private buf = new ArrayBuffer(SLAB_BYTES);
  private pos = 0;

  /** A zeroed frame of `len` bytes. */
  alloc(len: number): Uint8Array {
    if (len > SLAB_BYTES / 4) return new Uint8Array(len);
    if (this.pos + len > SLAB_BYTES) {
      this.buf = new ArrayBuffer(SLAB_BYTES);
      this.pos = 0;
    }
    const f = new Uint8Array(this.buf, this.pos, len);
    // Keep every frame 8-byte aligned.
    this.pos += (len + 7) & ~7;
    return f;
  }
}
