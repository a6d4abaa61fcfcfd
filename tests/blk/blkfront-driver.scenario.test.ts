// blkfront as the guest kernel runs it: the frontend bus probes device/vbd/51712, the blkfront
// handshake machine's actions (setupRing, readDiskInfo, teardownRing) run through the driver, and
// blkback in dom0 answers over the REAL grant-table engine. xenstore, event channels and the guest's
// threads are in-test fakes (the kernel's xenwatch is a thread per watch callback here).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { vbdName } from '../../domU/blkfront/blkfront-driver.js';
import { patternBlock } from '../../domU/workloads/disk-io.js';
import { tempDir } from './world.js';
import { blkfrontOnBus } from './frontend-rig.js';

let tmp: { dir: string; cleanup: () => void };
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('blkfront driver on the frontend bus against blkback', () => {
  it('probes the vbd, connects both ends, and the kernel gets a working xvda; detach tears it down', () => {
    const { h, g, v, threads, host, bus, settle } = blkfrontOnBus(tmp.dir);
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
