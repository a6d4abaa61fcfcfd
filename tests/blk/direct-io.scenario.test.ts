// O_DIRECT-like I/O and opens through the whole vbd path: readPages/writePages grant the guest
// program's own pages to blkback for each request only (Linux's bio pages without persistent grants,
// xen-blkfront.c blkif_queue_rw_req / blkif_completion), blkback's grant copy lands the data in them,
// and an open disk makes blkfront refuse the backend's close ("Device in use; refusing to close").

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { XenBlockDevice } from '../../domU/blkfront/xen-block-device.js';
import type { KThread, Wait } from '../../domU/kthread.js';
import { diskRead, diskWrite } from '../../domU/workloads/disk-io.js';
import { GTF_permit_access, GTF_readonly, GTF_type_mask } from '../../hypercalls/grant-table.js';
import { blkfrontOnBus } from './frontend-rig.js';
import { VbdHost } from './vbd-rig.js';
import { makeImage, tempDir, type GuestDom } from './world.js';

const SECTORS = 4096;

let tmp: { dir: string; cleanup: () => void };
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

/** Live grants of guest `g` on any of `pfns`' frames: ref and flags. */
function grantsOn(g: GuestDom, pfns: readonly number[]): { ref: number; flags: number }[] {
  const mfns = new Set(pfns.map((p) => g.dom.mem.pfnToMfn(p)));
  const out: { ref: number; flags: number }[] = [];
  for (let ref = 8; ref < g.dom.client.nrFrames * 512; ref++) {
    const e = g.dom.client.entry(ref);
    if (e && (e.flags & GTF_type_mask) === GTF_permit_access && mfns.has(e.frame)) {
      out.push({ ref, flags: e.flags });
    }
  }
  return out;
}

/** Runs `gen` until its first wait: its requests are pushed, no response has arrived yet. */
function untilWait<R>(gen: KThread<R>): Wait {
  const r = gen.next(0);
  if (r.done === true || typeof r.value !== 'object' || r.value.kind !== 'wait') {
    throw new Error('expected the thread to wait for its responses');
  }
  return r.value;
}

function connected(): { h: VbdHost; g: GuestDom; disk: XenBlockDevice; model: Uint8Array } {
  const h = new VbdHost();
  const g = h.w.guest(1);
  const img = path.join(tmp.dir, 'disk.img');
  const model = makeImage(img, SECTORS);
  const v = h.attach(g, img);
  if (!v.disk) throw new Error('not connected');
  return { h, g, disk: v.disk, model };
}

describe('readPages / writePages: pages of the guest program, granted per request', () => {
  it('a 64 KiB readPages grants the 16 pages writable while in flight, fills them, and ends every grant', () => {
    const { h, g, disk, model } = connected();
    const pfns = g.takePages(16);
    const gen = disk.readPages(200, pfns);
    const wait = untilWait(gen);
    const live = grantsOn(g, pfns);
    expect(live).toHaveLength(16);
    expect(live.every((e) => (e.flags & GTF_readonly) === 0)).toBe(true);
    while (!wait.until()) if (!h.w.q.drain()) throw new Error('no response');
    const r = h.w.run(gen);
    expect(r).toEqual({ ok: true, value: undefined });
    pfns.forEach((pfn, j) => {
      const want = model.subarray(200 * 512 + j * 4096, 200 * 512 + (j + 1) * 4096);
      expect(Buffer.from(g.dom.mem.view(pfn) ?? []).equals(Buffer.from(want))).toBe(true);
    });
    expect(grantsOn(g, pfns)).toEqual([]);
  });

  it('the two requests of a 64 KiB read (11 + 5 segments) cost one event each way, one host read and one GNTTABOP_copy of 16 ops', () => {
    const { h, g, disk } = connected();
    const pfns = g.takePages(16);
    const dev = h.blkback.device(1, 51712);
    const file = h.files[0];
    if (!dev || !file) throw new Error('no backend device');
    const reads0 = file.reads;
    const copies0 = dev.metrics.grantCopies;
    const reqs0 = dev.metrics.readReqs;
    const calls: number[] = [];
    const op = h.w.dom0.op.bind(h.w.dom0);
    h.w.dom0.op = (cmd, uops, count) => {
      calls.push(count);
      return op(cmd, uops, count);
    };
    const sent0 = h.w.evt.sent.length;
    expect(h.w.run(disk.readPages(0, pfns)).ok).toBe(true);
    // Both requests pushed together: one event to blkback, one back with both responses.
    expect(h.w.evt.sent.length - sent0).toBe(2);
    expect(dev.metrics.readReqs - reqs0).toBe(2);
    expect(file.reads - reads0).toBe(1);
    expect(dev.metrics.grantCopies - copies0).toBe(16);
    expect(calls).toEqual([16]);
  });

  it('writePages grants the pages read-only, puts their bytes at the sectors, and ends the grants', () => {
    const { h, g, disk, model } = connected();
    const pfns = g.takePages(3);
    pfns.forEach((pfn, j) => g.dom.mem.writableView(pfn)?.fill(0xa0 + j));
    const gen = disk.writePages(64, pfns);
    const wait = untilWait(gen);
    const live = grantsOn(g, pfns);
    expect(live).toHaveLength(3);
    expect(live.every((e) => (e.flags & GTF_readonly) !== 0)).toBe(true);
    while (!wait.until()) if (!h.w.q.drain()) throw new Error('no response');
    expect(h.w.run(gen).ok).toBe(true);
    for (let j = 0; j < 3; j++)
      model.fill(0xa0 + j, 64 * 512 + j * 4096, 64 * 512 + (j + 1) * 4096);
    const img = fs.readFileSync(path.join(tmp.dir, 'disk.img'));
    expect(Buffer.from(img).equals(Buffer.from(model))).toBe(true);
    expect(grantsOn(g, pfns)).toEqual([]);
  });

  it('a readPages past the end of the disk is refused before any page is granted', () => {
    const { g, disk, h } = connected();
    const pfns = g.takePages(2);
    const r = h.w.run(disk.readPages(SECTORS - 8, pfns));
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.error).toMatch(/beyond the end/);
    expect(grantsOn(g, pfns)).toEqual([]);
  });

  it('a page the backend still maps at completion fails the request and the device (backend has not unmapped grant)', () => {
    const { h, g, disk } = connected();
    const pfns = g.takePages(1);
    const gen = disk.readPages(8, pfns);
    const wait = untilWait(gen);
    const [grant] = grantsOn(g, pfns);
    if (!grant) throw new Error('no grant');
    const m = h.w.dom0.client.map(1, grant.ref, false);
    expect(m.status).toBe(0);
    while (!wait.until()) if (!h.w.q.drain()) throw new Error('no response');
    const r = h.w.run(gen);
    expect(r.ok ? '' : r.error).toMatch(/backend has not unmapped grant/);
    expect(h.w.run(disk.read(0, 8)).ok).toBe(false);
  });

  it('disk-reader given the kernel pages reads O_DIRECT-like and verifies what disk-writer wrote', () => {
    const { h, g, disk } = connected();
    const w = h.w.run(diskWrite(disk, { startSector: 16, blocks: 12, blockSectors: 16, seed: 5 }));
    expect(w.errors).toEqual([]);
    const dev = h.blkback.device(1, 51712);
    const copies0 = dev?.metrics.grantCopies ?? 0;
    const pages = {
      alloc: () => g.takePages(1)[0] ?? -1,
      release: () => true,
    };
    let pageReads = 0;
    const readPage = (pfn: number, offset: number, dst: Uint8Array): number => {
      pageReads++;
      dst.set((g.dom.mem.view(pfn) ?? new Uint8Array(4096)).subarray(offset, offset + dst.length));
      return 0;
    };
    const mem = { pages, readPage } as unknown as Parameters<typeof diskRead>[2];
    const r = h.w.run(
      diskRead(disk, { startSector: 16, blocks: 12, blockSectors: 16, seed: 5 }, mem),
    );
    expect(r.errors).toEqual([]);
    expect(r.mismatches).toBe(0);
    expect(r.checksums).toEqual(w.checksums);
    expect(pageReads).toBe(24);
    expect((dev?.metrics.grantCopies ?? 0) - copies0).toBe(24);
  });
});

describe('open and close reach the blkfront handshake', () => {
  it('an open disk refuses the backend close (EBUSY error node, stays Connected); the last close lets it close', () => {
    const { h, v, threads, host, bus, settle } = blkfrontOnBus(tmp.dir);
    const disk = host.blockDevices[0];
    if (!disk?.open || !disk.close) throw new Error('no disk with open/close');
    const results: string[] = [];
    const record = (gen: KThread<{ ok: boolean }>) =>
      threads.spawn(
        (function* () {
          const r = yield* gen;
          results.push(r.ok ? 'ok' : 'error');
        })(),
      );
    record(disk.open());
    settle();
    expect(results).toEqual(['ok']);

    const xs = h.w.xs;
    xs.write(`${v.be}/online`, '0');
    h.blkback.device(1, 51712)?.send({ type: 'ONLINE', online: false });
    settle();
    expect(xs.read(`${v.be}/state`)).toBe('5');
    expect(xs.read(`${v.fe}/state`)).toBe('4');
    expect(xs.read('/local/domain/1/error/device/vbd/51712/error')).toBe(
      '16 Device in use; refusing to close',
    );
    expect(bus.device('vbd', '51712')?.actionLog).toContain('reportBusy');
    // The disk still works while the backend waits.
    record(disk.read(0, 8));
    settle();
    expect(results).toEqual(['ok', 'ok']);
    expect(host.blockDevices).toHaveLength(1);

    record(disk.close());
    settle();
    expect(results).toEqual(['ok', 'ok', 'ok']);
    expect(xs.read(`${v.fe}/state`)).toBe('6');
    expect(xs.read(`${v.be}/state`)).toBe('6');
    expect(h.blkback.device(1, 51712)?.removed).toBe(true);
    expect(host.blockDevices).toEqual([]);
  });

  it('a disk never opened closes at once; a close without an open is refused', () => {
    const { h, v, threads, host, settle } = blkfrontOnBus(tmp.dir);
    const disk = host.blockDevices[0];
    if (!disk?.close) throw new Error('no disk');
    let closeResult: string | null = null;
    threads.spawn(
      (function* () {
        const r = yield* (disk.close as () => KThread<{ ok: boolean; error?: string }>)();
        closeResult = r.ok ? 'ok' : (r.error ?? 'error');
      })(),
    );
    settle();
    expect(closeResult).toMatch(/close without open/);
    h.w.xs.write(`${v.be}/online`, '0');
    h.blkback.device(1, 51712)?.send({ type: 'ONLINE', online: false });
    settle();
    expect(h.w.xs.read(`${v.fe}/state`)).toBe('6');
    expect(h.w.xs.read('/local/domain/1/error/device/vbd/51712/error')).toBeUndefined();
  });
});
