// Test fixture for the block and console backends: the real grant-table engine and machine memory
// (tests/grant-tables/world.ts) with in-test fakes for event channels, xenstore and the clock, a
// queue that delivers events after the sender returns (as an upcall would), and a runner for guest
// threads that drains that queue whenever the thread waits.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GNTTABOP_copy } from '../../hypercalls/grant-table.js';
import type {
  BackendPlatform,
  BackendXenstore,
  GrantMapping,
  LocalPage,
} from '../../dom0/backends/platform.js';
import type { BlkfrontIo } from '../../domU/blkfront/blkfront-ring.js';
import type { KThread } from '../../domU/kthread.js';
import { World, type Dom } from '../grant-tables/world.js';

/** Deferred work (events, watch firings, timers), run in FIFO order by `drain`. */
export class Queue {
  private q: (() => void)[] = [];
  post(fn: () => void): void {
    this.q.push(fn);
  }
  /** Runs everything queued (and what that queues); false when there was nothing. */
  drain(limit = 100_000): boolean {
    if (this.q.length === 0) return false;
    for (let i = 0; i < limit && this.q.length > 0; i++) (this.q.shift() as () => void)();
    if (this.q.length > 0) throw new Error('queue did not settle');
    return true;
  }
}

interface PortEnd {
  dom: number;
  peer: { dom: number; port: number } | null;
  handler: (() => void) | null;
  open: boolean;
}

/** Interdomain event channels between fake domains; delivery goes through the queue. */
export class FakeEvtchn {
  private readonly ends = new Map<string, PortEnd>();
  private next = new Map<number, number>();
  readonly sent: { dom: number; port: number }[] = [];
  private readonly q: Queue;
  constructor(q: Queue) {
    this.q = q;
  }

  private alloc(dom: number): number {
    const p = this.next.get(dom) ?? 1;
    this.next.set(dom, p + 1);
    return p;
  }
  allocUnbound(dom: number): number {
    const port = this.alloc(dom);
    this.ends.set(`${dom}:${port}`, { dom, peer: null, handler: null, open: true });
    return port;
  }
  bindInterdomain(dom: number, remoteDom: number, remotePort: number): number {
    const r = this.ends.get(`${remoteDom}:${remotePort}`);
    if (!r || r.peer !== null || !r.open) return -22;
    const port = this.alloc(dom);
    this.ends.set(`${dom}:${port}`, {
      dom,
      peer: { dom: remoteDom, port: remotePort },
      handler: null,
      open: true,
    });
    r.peer = { dom, port };
    return port;
  }
  listen(dom: number, port: number, handler: () => void): void {
    const e = this.ends.get(`${dom}:${port}`);
    if (e) e.handler = handler;
  }
  send(dom: number, port: number): number {
    const e = this.ends.get(`${dom}:${port}`);
    if (!e?.open) return -22;
    this.sent.push({ dom, port });
    const peer = e.peer ? this.ends.get(`${e.peer.dom}:${e.peer.port}`) : undefined;
    if (peer?.open && peer.handler) {
      const h = peer.handler;
      this.q.post(() => {
        if (peer.open) h();
      });
    }
    return 0;
  }
  /** evtchn_close: closing one end of an interdomain channel leaves the other end unbound again. */
  close(dom: number, port: number): number {
    const e = this.ends.get(`${dom}:${port}`);
    if (!e) return -22;
    e.open = false;
    const peer = e.peer ? this.ends.get(`${e.peer.dom}:${e.peer.port}`) : undefined;
    if (peer?.peer?.dom === dom && peer.peer.port === port) peer.peer = null;
    e.peer = null;
    return 0;
  }
  isOpen(dom: number, port: number): boolean {
    return this.ends.get(`${dom}:${port}`)?.open ?? false;
  }
}

/** An in-memory xenstore: nodes by path, watches fired through the queue. */
export class FakeXenstore implements BackendXenstore {
  readonly nodes = new Map<string, string>();
  private readonly watches = new Map<number, { path: string; cb: (p: string) => void }>();
  private nextWatch = 1;
  private readonly q: Queue;
  constructor(q: Queue) {
    this.q = q;
  }

  read(p: string): string | undefined {
    return this.nodes.get(p);
  }
  write(p: string, value: string): boolean {
    const parts = p.split('/');
    for (let i = 2; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!this.nodes.has(parent)) this.nodes.set(parent, '');
    }
    this.nodes.set(p, value);
    this.fire(p);
    return true;
  }
  rm(p: string): boolean {
    for (const k of [...this.nodes.keys()])
      if (k === p || k.startsWith(`${p}/`)) this.nodes.delete(k);
    this.fire(p);
    return true;
  }
  directory(p: string): string[] {
    const out = new Set<string>();
    for (const k of this.nodes.keys()) {
      if (k.startsWith(`${p}/`)) out.add(k.slice(p.length + 1).split('/')[0] as string);
    }
    return [...out].sort();
  }
  watch(p: string, cb: (path: string) => void): number {
    const id = this.nextWatch++;
    this.watches.set(id, { path: p, cb });
    this.q.post(() => {
      if (this.watches.has(id)) cb(p);
    });
    return id;
  }
  unwatch(id: number): void {
    this.watches.delete(id);
  }
  private fire(p: string): void {
    for (const [id, w] of this.watches) {
      if (p === w.path || p.startsWith(`${w.path}/`) || w.path.startsWith(`${p}/`)) {
        this.q.post(() => {
          if (this.watches.has(id)) w.cb(p);
        });
      }
    }
  }
}

/** A host with real grant tables: dom0 (backend) and guests, plus fakes for the rest. */
export class BlkWorld {
  readonly q = new Queue();
  readonly world = new World(64 << 20);
  readonly evt = new FakeEvtchn(this.q);
  readonly xs = new FakeXenstore(this.q);
  readonly dom0: Dom;
  private nextDom0Pfn = 0;
  private readonly freeDom0: LocalPage[] = [];
  private readonly hostAddrs = new Map<number, number>();
  nowNs = 0;

  constructor(dom0Pages = 128) {
    this.dom0 = this.world.domain(0, dom0Pages, 4);
  }

  /** A guest with `pages` pfns and an allocator over them. */
  guest(id: number, pages = 512): GuestDom {
    return new GuestDom(this.world.domain(id, pages, 4), pages);
  }

  platform(): BackendPlatform {
    const d0 = this.dom0;
    return {
      domid: 0,
      grants: {
        copy: (ops, count) => d0.op(GNTTABOP_copy, ops, count),
        map: (domid, ref, readonly): GrantMapping => {
          const m = d0.client.map(domid, ref, readonly);
          if (m.status !== 0) return { status: m.status, handle: -1, bytes: undefined };
          this.hostAddrs.set(m.handle, m.hostAddr);
          return { status: 0, handle: m.handle, bytes: d0.mem.mappedView(m.hostAddr) };
        },
        unmap: (mapping) => {
          const addr = this.hostAddrs.get(mapping.handle);
          if (addr === undefined) return -4;
          this.hostAddrs.delete(mapping.handle);
          return d0.client.unmap(addr, mapping.handle);
        },
        allocPages: (count) => {
          const out: LocalPage[] = [];
          while (out.length < count) {
            const reuse = this.freeDom0.pop();
            if (reuse) {
              out.push(reuse);
              continue;
            }
            const pfn = this.nextDom0Pfn++;
            const bytes = d0.mem.writableView(pfn);
            if (!bytes) return undefined;
            out.push({ gmfn: d0.mem.pfnToMfn(pfn), bytes });
          }
          return out;
        },
        freePages: (pages) => {
          this.freeDom0.push(...[...pages].reverse());
        },
      },
      evtchn: {
        bindInterdomain: (rd, rp) => this.evt.bindInterdomain(0, rd, rp),
        send: (port) => this.evt.send(0, port),
        close: (port) => this.evt.close(0, port),
        listen: (port, h) => this.evt.listen(0, port, h),
      },
      xs: this.xs,
      clock: {
        now: () => this.nowNs,
        at: (_t, fn) => {
          this.q.post(fn);
          return 0;
        },
        cancel: () => undefined,
      },
    };
  }

  /** Runs a guest thread to completion, draining events whenever it waits. */
  run<R>(gen: KThread<R>): R {
    for (let i = 0; i < 1_000_000; i++) {
      const r = gen.next(0);
      if (r.done === true) return r.value;
      const v = r.value;
      if (typeof v === 'object' && v.kind === 'wait') {
        while (!v.until()) if (!this.q.drain()) throw new Error('guest thread deadlocked');
      } else this.q.drain();
    }
    throw new Error('guest thread never finished');
  }
}

export class GuestDom {
  readonly dom: Dom;
  private readonly free: number[] = [];
  constructor(dom: Dom, pages: number) {
    this.dom = dom;
    for (let pfn = pages - 1; pfn >= 0; pfn--) this.free.push(pfn);
  }
  get id(): number {
    return this.dom.id;
  }
  get freePages(): number {
    return this.free.length;
  }
  /** `n` pages for a guest program of its own (an O_DIRECT-like reader's buffer). */
  takePages(n: number): number[] {
    const pfns: number[] = [];
    for (let i = 0; i < n; i++) pfns.push(this.free.shift() ?? -1);
    if (pfns.includes(-1)) throw new Error('guest out of pages');
    return pfns;
  }
  /** BlkfrontIo over this guest's memory and grant table, granting to `backend`. */
  io(backend: number, notify: () => void): BlkfrontIo {
    const mem = this.dom.mem;
    return {
      allocPage: () => this.free.pop() ?? -1,
      freePage: (pfn) => {
        this.free.push(pfn);
      },
      pfnToMfn: (pfn) => mem.pfnToMfn(pfn),
      writableView: (pfn) => mem.writableView(pfn),
      view: (pfn) => mem.view(pfn),
      grantAccess: (mfn, ro) => this.dom.client.grantAccess(backend, mfn, ro),
      endAccess: (ref) => this.dom.client.endAccess(ref),
      notify,
    };
  }
}

/** A temp directory removed by the returned function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xensim-blk-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Writes an image of `sectors` 512-byte sectors whose byte i is (i * 7 + seed) & 0xff. */
export function makeImage(file: string, sectors: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(sectors * 512);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + seed) & 0xff;
  fs.writeFileSync(file, bytes);
  return bytes;
}
