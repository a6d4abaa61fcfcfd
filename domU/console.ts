// The PV console frontend (Linux drivers/tty/hvc/hvc_xen.c over xen/include/public/io/console.h):
// guest output goes into the `out` ring of the page start_info names, input comes from the `in`
// ring; each side notifies the console event channel after moving an index.

import { xenconsReadIn, xenconsWriteOut } from '../hypercalls/io/console.js';
import { waitUntil, type KThread } from './kthread.js';
import type { GuestPage } from './platform.js';

const utf8 = new TextEncoder();
const dvOf = (p: Uint8Array): DataView => new DataView(p.buffer, p.byteOffset, p.byteLength);

export class ConsoleFrontend {
  private page: GuestPage;
  private notifyFn: () => void;
  /** Output not yet in the ring (the ring was full). */
  private outBuf: Uint8Array[] = [];
  private inBuf: number[] = [];
  /** Bytes accepted for output (buffered or in the ring). */
  bytesWritten = 0;
  /** A corrupt ring seen (indices more than a ring apart): output stops, as hvc_xen gives up. */
  error: string | null = null;

  constructor(page: GuestPage, notify: () => void) {
    this.page = page;
    this.notifyFn = notify;
  }

  /** Queues `text` (or bytes) and pushes what fits; never blocks (printk-like). */
  write(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? utf8.encode(data) : data;
    if (bytes.length === 0) return;
    this.bytesWritten += bytes.length;
    this.outBuf.push(bytes);
    this.flush();
  }

  /** Output still waiting for room in the ring. */
  get backlog(): number {
    return this.outBuf.reduce((n, b) => n + b.length, 0);
  }

  /** Blocks until every queued byte is in the ring. */
  *drain(): KThread<boolean> {
    yield* waitUntil(() => this.outBuf.length === 0 || this.error !== null);
    return this.error === null;
  }

  /** Takes up to `max` input bytes, blocking until at least one is there. */
  *read(max = 1024): KThread<Uint8Array> {
    yield* waitUntil(() => this.inBuf.length > 0);
    return Uint8Array.from(this.inBuf.splice(0, Math.max(1, max)));
  }

  /** Input received and not yet read. */
  get pendingInput(): number {
    return this.inBuf.length;
  }

  /** The console port's handler: take input, push more output (xenconsoled consumed some). */
  onEvent(): void {
    const p = this.page.write();
    if (!p) return;
    const r = xenconsReadIn(dvOf(p));
    if (!r.ok) {
      this.error = r.error;
      return;
    }
    for (const b of r.value) this.inBuf.push(b);
    if (r.value.length > 0) this.notifyFn();
    this.flush();
  }

  /** A new page/port after a resume in a new domain; unsent output goes there. */
  reconnect(page: GuestPage, notify: () => void): void {
    this.page = page;
    this.notifyFn = notify;
    this.error = null;
    this.flush();
  }

  private flush(): void {
    if (this.error !== null || this.outBuf.length === 0) return;
    const p = this.page.write();
    if (!p) return;
    const dv = dvOf(p);
    let moved = false;
    while (this.outBuf.length > 0) {
      const head = this.outBuf[0] as Uint8Array;
      const r = xenconsWriteOut(dv, head);
      if (!r.ok) {
        this.error = r.error;
        break;
      }
      if (r.value > 0) moved = true;
      if (r.value < head.length) {
        this.outBuf[0] = head.subarray(r.value);
        break;
      }
      this.outBuf.shift();
    }
    if (moved) this.notifyFn();
  }
}
