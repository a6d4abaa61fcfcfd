// blkfront as the guest kernel runs it: the frontend bus probes device/vbd/51712, the blkfront
// handshake machine's actions (setupRing, readDiskInfo, teardownRing) run through the driver, and
// blkback in dom0 answers over the REAL grant-table engine. xenstore, event channels and the guest's
// threads are in-test fakes (the kernel's xenwatch is a thread per watch callback here).

import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blkfrontDriver, vbdName, type BlkfrontHost } from '../../domU/blkfront/blkfront-driver.js';
import type { BlockDevice } from '../../domU/block-device.js';
import type { KThread } from '../../domU/kthread.js';
import { FrontendBus } from '../../domU/xenbus/frontend.js';
import type { XenbusClient, XsResult } from '../../domU/xenbus/xs-client.js';
import { EVTCHNOP_alloc_unbound, type EvtchnAllocUnbound } from '../../hypercalls/event-channel.js';
import type { HypercallInterface } from '../../hypercalls/guest-interface.js';
import { patternBlock } from '../../domU/workloads/disk-io.js';
import { makeImage, tempDir, type GuestDom } from './world.js';
import { VbdHost } from './vbd-rig.js';

/** Guest threads, round robin; waits are re-checked after the host's queue drains. */
class Threads {
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
function fakeXs(h: VbdHost, home: string, threads: Threads): XenbusClient {
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
function kernelHost(h: VbdHost, g: GuestDom): BlkfrontHost & { log: string[] } {
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

let tmp: { dir: string; cleanup: () => void };
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('blkfront driver on the frontend bus against blkback', () => {
  it('probes the vbd, connects both ends, and the kernel gets a working xvda; detach tears it down', () => {
    const h = new VbdHost();
    const g = h.w.guest(1);
    const img = path.join(tmp.dir, 'disk.img');
    makeImage(img, 2048);
    const v = h.attach(g, img, { frontend: 'none' });
    const threads = new Threads();
    const host = kernelHost(h, g);
    const bus = new FrontendBus(fakeXs(h, '/local/domain/1', threads), [
      blkfrontDriver(() => host),
    ]);
    threads.spawn(bus.start());
    const settle = () => threads.settle(() => h.w.q.drain());
    settle();
    const xs = h.w.xs;
    expect(xs.read(`${v.fe}/state`)).toBe('4');
    expect(xs.read(`${v.be}/state`)).toBe('4');
    expect(xs.read(`${v.fe}/protocol`)).toBe('x86_64-abi');
    expect(bus.device('vbd', '51712')?.actionLog).toEqual([
      'setupRing',
      'switchState:3',
      'readDiskInfo',
      'switchState:4',
    ]);
    const disk = host.blockDevices[0];
    if (!disk) throw new Error('no disk');
    expect(disk.name).toBe('xvda');
    expect(disk.sectors).toBe(2048);
    expect(host.log).toContain('blkfront: xvda: 2048 sectors');

    // A guest program writes, flushes and reads back.
    const data = patternBlock(3, 0, 64 * 1024);
    let readBack: Uint8Array | null = null;
    threads.spawn(
      (function* () {
        const w = yield* disk.write(100, data);
        if (!w.ok) throw new Error(w.error);
        const f = yield* disk.flush();
        if (!f.ok) throw new Error(f.error);
        const r = yield* disk.read(100, 128);
        if (r.ok) readBack = r.value;
      })(),
    );
    settle();
    expect(readBack).not.toBeNull();
    expect(Buffer.from(readBack ?? new Uint8Array()).equals(Buffer.from(data))).toBe(true);
    expect(h.fileLog).toContain('flush');

    // Toolstack detach: online=0, backend Closing -> frontend Closed -> backend Closed, removed.
    xs.write(`${v.be}/online`, '0');
    h.blkback.device(1, 51712)?.send({ type: 'ONLINE', online: false });
    settle();
    expect(xs.read(`${v.fe}/state`)).toBe('6');
    expect(xs.read(`${v.be}/state`)).toBe('6');
    expect(h.blkback.device(1, 51712)?.removed).toBe(true);
    expect(host.blockDevices).toEqual([]);
    // blkfront closed first, while blkback still mapped the ring: its end of access was deferred
    // (Linux "still in use"); now that blkback unmapped, the retry succeeds.
    const ringRef = Number(xs.read(`${v.fe}/ring-ref`));
    expect(g.dom.client.deferredCount).toBe(1);
    expect(g.dom.client.retryDeferred()).toBe(0);
    expect(g.dom.client.entry(ringRef)?.flags).toBe(0);
  });

  it('names disks from their devid as Linux does (xvda, xvdb, xvdq, xvdaa)', () => {
    expect(vbdName(51712)).toBe('xvda');
    expect(vbdName(51728)).toBe('xvdb');
    expect(vbdName(51713)).toBe('xvda1');
    expect(vbdName((1 << 28) | (16 << 8))).toBe('xvdq');
    expect(vbdName((1 << 28) | (26 << 8))).toBe('xvdaa');
  });
});
