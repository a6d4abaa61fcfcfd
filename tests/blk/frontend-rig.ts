// What blkfront needs around it in tests: the guest kernel's threads (a thread per watch callback,
// as the kernel's xenwatch runs them), a XenbusClient over the fake xenstore of tests/blk/world.ts,
// and the parts of PvKernel blkfront uses over the guest's real memory and grant table.

import * as path from 'node:path';
import { blkfrontDriver, type BlkfrontHost } from '../../domU/blkfront/blkfront-driver.js';
import type { BlockDevice } from '../../domU/block-device.js';
import type { KThread } from '../../domU/kthread.js';
import { FrontendBus } from '../../domU/xenbus/frontend.js';
import type { XenbusClient, XsResult } from '../../domU/xenbus/xs-client.js';
import { EVTCHNOP_alloc_unbound, type EvtchnAllocUnbound } from '../../hypercalls/event-channel.js';
import type { HypercallInterface } from '../../hypercalls/guest-interface.js';
import { VbdHost } from './vbd-rig.js';
import { makeImage, type GuestDom } from './world.js';

/** Guest threads, round robin; waits are re-checked after the host's queue drains. */
export class Threads {
  private list: { gen: KThread<unknown>; until: (() => boolean) | null }[] = [];
  spawn(gen: KThread<unknown>): void {
    this.list.push({ gen, until: null });
  }
  /** Runs until every thread waits on something false and the queue is empty. */
  settle(drain: () => boolean): void {
    for (let round = 0; round < 100_000; round++) {
      let progressed = false;
      for (const t of [...this.list]) {
        if (t.until && !t.until()) continue;
        t.until = null;
        progressed = true;
        const r = t.gen.next(0);
        if (r.done === true) this.list = this.list.filter((x) => x !== t);
        else if (typeof r.value === 'object' && r.value.kind === 'wait') t.until = r.value.until;
      }
      if (!drain() && !progressed) return;
    }
    throw new Error('threads never settled');
  }
}

// eslint-disable-next-line require-yield -- a reply available at once still has the shape of a blocking call
function* now<T>(v: T): KThread<T> {
  return v;
}

/** XenbusClient's calls over the fake store: relative paths resolve against the domain's home. */
export function fakeXs(h: VbdHost, home: string, threads: Threads): XenbusClient {
  const xs = h.w.xs;
  const abs = (p: string) => (p.startsWith('/') ? p : `${home}/${p}`);
  const rel = (p: string) => (p.startsWith(`${home}/`) ? p.slice(home.length + 1) : p);
  const enoent: XsResult<never> = { ok: false, error: 'ENOENT' };
  const client = {
    read: (p: string) => {
      const v = xs.read(abs(p));
      return now<XsResult<string>>(v === undefined ? enoent : { ok: true, value: v });
    },
    write: (p: string, v: string) => {
      xs.write(abs(p), v);
      return now<XsResult<undefined>>({ ok: true, value: undefined });
    },
    directory: (p: string) =>
      now<XsResult<string[]>>(
        xs.nodes.has(abs(p)) ? { ok: true, value: xs.directory(abs(p)) } : enoent,
      ),
    readInt: (p: string, fallback: number) => {
      const v = xs.read(abs(p));
      return now(v !== undefined && /^-?[0-9]+$/.test(v) ? Number(v) : fallback);
    },
    watch: (p: string, cb: (path: string, token: string) => KThread) => {
      const id = xs.watch(abs(p), (changed) => threads.spawn(cb(rel(changed), String(id))));
      return now<XsResult<string>>({ ok: true, value: String(id) });
    },
    unwatch: (token: string) => {
      xs.unwatch(Number(token));
      return now<XsResult<undefined>>({ ok: true, value: undefined });
    },
  };
  return client as unknown as XenbusClient;
}

/** The parts of PvKernel blkfront uses, over the guest's real memory and grant table. */
export function kernelHost(h: VbdHost, g: GuestDom): BlkfrontHost & { log: string[] } {
  const evt = h.w.evt;
  const free: number[] = [];
  for (let pfn = 511; pfn >= 64; pfn--) free.push(pfn);
  const log: string[] = [];
  const hypercalls = {
    event_channel_op: (cmd: number, arg: unknown) => {
      if (cmd !== EVTCHNOP_alloc_unbound) return -38;
      (arg as EvtchnAllocUnbound).port = evt.allocUnbound(g.id);
      return 0;
    },
  } as unknown as HypercallInterface;
  return {
    h: hypercalls,
    events: {
      on: (port, handler) => evt.listen(g.id, port, handler),
      unmask: () => undefined,
      notify: (port) => evt.send(g.id, port),
      close: (port) => evt.close(g.id, port),
    },
    pages: {
      alloc: () => free.pop() ?? -1,
      release: (pfn) => {
        free.push(pfn);
        return true;
      },
    },
    platform: { memory: g.dom.mem },
    grants: () => g.dom.client,
    blockDevices: [] as BlockDevice[],
    printk: (line) => log.push(line),
    log,
  };
}

/**
 * Domain 1 with a vbd on a fresh 2048-sector image in `dir`, served by blkback, and the real
 * blkfront driver on the guest's frontend bus probing it; everything settled (both ends Connected).
 */
export function blkfrontOnBus(dir: string) {
  const h = new VbdHost();
  const g = h.w.guest(1);
  const img = path.join(dir, 'disk.img');
  makeImage(img, 2048);
  const v = h.attach(g, img, { frontend: 'none' });
  const threads = new Threads();
  const host = kernelHost(h, g);
  const bus = new FrontendBus(fakeXs(h, '/local/domain/1', threads), [blkfrontDriver(() => host)]);
  threads.spawn(bus.start());
  const settle = () => threads.settle(() => h.w.q.drain());
  settle();
  return { h, g, img, v, threads, host, bus, settle };
}
