// The bounded output buffer xenconsoled keeps per domain (tools/console/daemon/io.c `struct buffer`,
// capped by `console/limit`): once full, the oldest bytes are dropped, never the newest.

export class ConsoleLog {
  readonly capacityBytes: number;
  private buf: Uint8Array;
  /** Index of the oldest byte and how many bytes are held. */
  private start = 0;
  private length = 0;
  /** Bytes ever appended, and bytes dropped for lack of room. */
  totalBytes = 0;
  droppedBytes = 0;

  constructor(capacityBytes: number) {
    this.capacityBytes = Math.max(1, Math.floor(capacityBytes));
    this.buf = new Uint8Array(Math.min(this.capacityBytes, 4096));
  }

  get size(): number {
    return this.length;
  }

  append(data: Uint8Array): void {
    this.totalBytes += data.length;
    let src = data;
    if (src.length >= this.capacityBytes) {
      this.droppedBytes += this.length + src.length - this.capacityBytes;
      src = src.subarray(src.length - this.capacityBytes);
      this.start = 0;
      this.length = 0;
    }
    const need = this.length + src.length;
    if (need > this.buf.length && this.buf.length < this.capacityBytes) this.grow(need);
    const over = need - this.buf.length;
    if (over > 0) {
      this.start = (this.start + over) % this.buf.length;
      this.length -= over;
      this.droppedBytes += over;
    }
    const cap = this.buf.length;
    let end = (this.start + this.length) % cap;
    for (let i = 0; i < src.length;) {
      const n = Math.min(src.length - i, cap - end);
      this.buf.set(src.subarray(i, i + n), end);
      i += n;
      end = (end + n) % cap;
    }
    this.length += src.length;
  }

  /** The held bytes, oldest first. */
  contents(): Uint8Array {
    const out = new Uint8Array(this.length);
    const cap = this.buf.length;
    const first = Math.min(this.length, cap - this.start);
    out.set(this.buf.subarray(this.start, this.start + first));
    if (first < this.length) out.set(this.buf.subarray(0, this.length - first), first);
    return out;
  }

  private grow(need: number): void {
    let n = this.buf.length;
    while (n < need && n < this.capacityBytes) n *= 2;
    const next = new Uint8Array(Math.min(n, this.capacityBytes));
    next.set(this.contents());
    this.buf = next;
    this.start = 0;
  }
}
