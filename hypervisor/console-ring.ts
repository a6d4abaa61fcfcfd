// The hypervisor console ring (conring in xen/drivers/char/console.c) that `xl dmesg` reads through
// XEN_SYSCTL_readconsole, plus the serial input queue CONSOLEIO_read drains.

import { CONRING_SIZE } from '../hypercalls/console-io.js';

export class ConsoleRing {
  private readonly ring = new Uint8Array(CONRING_SIZE);
  /** Bytes ever written (producer); the ring holds the last CONRING_SIZE of them. */
  prod = 0;
  /** Oldest byte a non-incremental read returns (moved by `clear`). */
  cons = 0;
  private input: number[] = [];

  write(bytes: Uint8Array): void {
    for (const b of bytes) {
      this.ring[this.prod % CONRING_SIZE] = b;
      this.prod++;
    }
    if (this.prod - this.cons > CONRING_SIZE) this.cons = this.prod - CONRING_SIZE;
  }

  writeString(s: string): void {
    this.write(new TextEncoder().encode(s));
  }

  /** read_console_ring(): from `index` (incremental) or the oldest byte, up to `out.length` bytes. */
  read(
    out: Uint8Array,
    incremental: boolean,
    index: number,
    clear: boolean,
  ): { count: number; index: number } {
    let c = this.cons;
    if (incremental && index > c && index <= this.prod) c = index;
    let n = 0;
    while (c < this.prod && n < out.length) {
      out[n++] = this.ring[c % CONRING_SIZE] as number;
      c++;
    }
    if (clear) this.cons = this.prod;
    return { count: n, index: c };
  }

  /** Everything the ring still holds, as text. */
  text(): string {
    const out = new Uint8Array(this.prod - this.cons);
    this.read(out, false, 0, false);
    return new TextDecoder().decode(out);
  }

  /** Bytes typed on the Xen serial console (for CONSOLEIO_read). */
  pushInput(bytes: Uint8Array): void {
    for (const b of bytes) this.input.push(b);
  }

  readInput(out: Uint8Array, count: number): number {
    const n = Math.min(count, out.length, this.input.length);
    for (let i = 0; i < n; i++) out[i] = this.input[i] as number;
    this.input = this.input.slice(n);
    return n;
  }
}
