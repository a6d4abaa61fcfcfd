// A vbd end to end below the kernel: toolstack nodes, blkback's handshake and xenstore nodes
// (reference 6.2), a guest's data through blkfront's ring and the REAL grant-table engine into a real
// image file, flush = fsync, read-only and cdrom info bits, and faults that close one device only.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diskRead, diskWrite, patternBlock } from '../../domU/workloads/disk-io.js';
import type { BlkfrontRing } from '../../domU/blkfront/blkfront-ring.js';
import {
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_RSP_ERROR,
  VDISK_CDROM,
  VDISK_READONLY,
  VDISK_REMOVABLE,
} from '../../hypercalls/io/blkif.js';
import { SRING_REQ_PROD_OFF } from '../../hypercalls/io/ring.js';
import { GTF_reading, GTF_writing } from '../../hypercalls/grant-table.js';
import { makeImage, tempDir } from './world.js';
import { VbdHost } from './vbd-rig.js';

/** Queues a valid one-page READ through blkfront, then lets `edit` corrupt its slot before the push. */
function rawRequest(ring: BlkfrontRing, edit: (v: DataView, off: number) => void): void {
  const t = ring.submitRw(BLKIF_OP_READ, 0, 8, new Uint8Array(4096));
  if (!t.ok) throw new Error(t.error);
  edit(ring.ring.view, ring.ring.slotOffset(ring.ring.reqProdPvt - 1));
  ring.push();
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let tmp: { dir: string; cleanup: () => void };
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

const SECTORS = 4096; // 2 MiB

describe('vbd handshake and nodes (xen-blkback/xenbus.c, reference 6.2)', () => {
  it('probe writes the features and InitWait; frontend Initialised connects with sectors/info/sector-size', () => {
    const h = new VbdHost();
    const g = h.w.guest(1);
    const img = path.join(tmp.dir, 'disk.img');
    makeImage(img, SECTORS);
    const v = h.attach(g, img, { frontend: 'none' });
    const xs = h.w.xs;
    expect(xs.read(`${v.be}/state`)).toBe('2');
    expect(xs.read(`${v.be}/multi-queue-max-queues`)).toBe('1');
    expect(xs.read(`${v.be}/max-ring-page-order`)).toBe('0');
    expect(xs.read(`${v.be}/sectors`)).toBeUndefined();
    h.setupFrontend(g, v);
    h.frontendInitialised(v);
    expect(xs.read(`${v.be}/state`)).toBe('4');
    expect(xs.read(`${v.be}/sectors`)).toBe(String(SECTORS));
    expect(xs.read(`${v.be}/sector-size`)).toBe('512');
    expect(xs.read(`${v.be}/physical-sector-size`)).toBe('512');
    expect(xs.read(`${v.be}/info`)).toBe('0');
    expect(xs.read(`${v.be}/feature-flush-cache`)).toBe('1');
    expect(xs.read(`${v.be}/feature-barrier`)).toBe('1');
    expect(xs.read(`${v.be}/feature-discard`)).toBe('1');
    expect(xs.read(`${v.be}/discard-granularity`)).toBe('512');
    expect(h.blkback.device(1, 51712)?.actionLog).toEqual([
      'writeFeatures',
      'switchState:2',
      'connectRing',
      'switchState:4',
    ]);
    expect(v.disk?.sectors).toBe(SECTORS);
  });

  it('mode=r gives info VDISK_READONLY and no discard; cdrom and removable set their bits', () => {
    const h = new VbdHost();
    const img = path.join(tmp.dir, 'ro.img');
    makeImage(img, 64);
    const ro = h.attach(h.w.guest(1), img, { mode: 'r' });
    expect(Number(h.w.xs.read(`${ro.be}/info`))).toBe(VDISK_READONLY);
    expect(h.w.xs.read(`${ro.be}/feature-discard`)).toBe('0');
    const cd = h.attach(h.w.guest(2), img, { mode: 'r', deviceType: 'cdrom', removable: true });
    expect(Number(h.w.xs.read(`${cd.be}/info`))).toBe(
      VDISK_READONLY | VDISK_CDROM | VDISK_REMOVABLE,
    );
    expect(cd.disk?.cdrom).toBe(true);
  });

  it('frontend Closing then Closed with online=0 closes the ring and removes the device', () => {
    const h = new VbdHost();
    const g = h.w.guest(1);
    const img = path.join(tmp.dir, 'd.img');
    makeImage(img, 64);
    const v = h.attach(g, img);
    const xs = h.w.xs;
    xs.write(`${v.fe}/state`, '5');
    h.w.q.drain();
    expect(xs.read(`${v.be}/state`)).toBe('5');
    expect(h.w.evt.isOpen(0, 1)).toBe(false);
    xs.write(`${v.be}/online`, '0');
    xs.write(`${v.fe}/state`, '6');
    h.w.q.drain();
    expect(xs.read(`${v.be}/state`)).toBe('6');
    expect(h.blkback.device(1, 51712)?.removed).toBe(true);
    // The backend unmapped the ring: the guest can end access to it now.
    v.ring?.teardown();
    expect(g.dom.client.entry(v.ring?.ringRef ?? -1)?.flags ?? -1).toBe(0);
  });
  it('the toolstack deleting the backend directory removes a connected device and releases the ring', () => {
    const h = new VbdHost();
    const g = h.w.guest(1);
    const img = path.join(tmp.dir, 'd.img');
    makeImage(img, 64);
    const v = h.attach(g, img);
    const port = Number(h.w.xs.read(`${v.fe}/event-channel`));
    expect(h.w.evt.isOpen(1, port)).toBe(true);
    h.w.xs.rm(v.be);
    h.w.q.drain();
    expect(h.blkback.device(1, 51712)).toBeUndefined();
    expect(h.w.evt.isOpen(0, 1)).toBe(false);
    expect(h.fileLog.at(-1)).toBe('close');
    expect(g.dom.client.endAccess(v.ring?.ringRef ?? -1)).toBe(true);
  });
});

describe('guest data through blkfront -> blkback -> image file (grant copy, real grant tables)', () => {
  it('a known pattern lands at the right offsets of the image (sha256) and reads back the same', () => {
    const h = new VbdHost();
    const g = h.w.guest(1);
    const img = path.join(tmp.dir, 'disk.img');
    const model = makeImage(img, SECTORS);
    const v = h.attach(g, img);
    const disk = v.disk;
    if (!disk) throw new Error('not connected');
    // 40 blocks of 4 KiB from sector 24; an odd 3-sector write; one 200-sector write (3 requests).
    const rep = h.w.run(diskWrite(disk, { startSector: 24, blocks: 40, seed: 7 }));
    expect(rep.errors).toEqual([]);
    for (let i = 0; i < 40; i++) model.set(patternBlock(7, i, 4096), (24 + i * 8) * 512);
    const odd = new Uint8Array(3 * 512).fill(0x5a);
    const big = patternBlock(99, 0, 200 * 512);
    expect(h.w.run(disk.write(5, odd)).ok).toBe(true);
    expect(h.w.run(disk.write(1000, big)).ok).toBe(true);
    model.set(odd, 5 * 512);
    model.set(big, 1000 * 512);
    const onDisk = fs.readFileSync(img);
    expect(sha256(onDisk)).toBe(sha256(model));
    expect(sha256(onDisk.subarray(24 * 512, 344 * 512))).toBe(
      sha256(model.subarray(24 * 512, 344 * 512)),
    );
    const back = h.w.run(diskRead(disk, { startSector: 24, blocks: 40, seed: 7 }));
    expect(back.mismatches).toBe(0);
    expect(back.checksums).toEqual(rep.checksums);
    const r = h.w.run(disk.read(1000, 200));
    expect(r.ok && sha256(r.value) === sha256(big)).toBe(true);
    const dev = h.blkback.device(1, 51712);
    expect(dev?.metrics.sectorsWritten).toBe(40 * 8 + 3 + 200);
    expect(dev?.metrics.grantCopies).toBeGreaterThan(0);
  });

  it('an acknowledged flush comes after an fsync that followed every acknowledged write', () => {
    const h = new VbdHost();
    const g = h.w.guest(1);
    const img = path.join(tmp.dir, 'disk.img');
    makeImage(img, 256);
    const v = h.attach(g, img);
    const disk = v.disk;
    if (!disk) throw new Error('not connected');
    expect(h.w.run(disk.write(8, new Uint8Array(4096).fill(1))).ok).toBe(true);
    expect(h.w.run(disk.write(64, new Uint8Array(1024).fill(2))).ok).toBe(true);
    expect(h.fileLog).toEqual(['write 4096 4096', 'write 32768 1024']);
    const f = h.w.run(disk.flush());
    expect(f.ok).toBe(true);
    expect(h.fileLog.at(-1)).toBe('flush');
    // A separate reader (as after the host process ended) sees the bytes.
    const onDisk = fs.readFileSync(img);
    expect(onDisk.subarray(4096, 8192).every((x) => x === 1)).toBe(true);
    expect(onDisk.subarray(32768, 33792).every((x) => x === 2)).toBe(true);
  });

  it('discard zeroes the sectors in the image', () => {
    const h = new VbdHost();
    const img = path.join(tmp.dir, 'disk.img');
    makeImage(img, 256, 3);
    const v = h.attach(h.w.guest(1), img);
    if (!v.disk) throw new Error('not connected');
    expect(h.w.run(v.disk.discard(10, 6)).ok).toBe(true);
    const onDisk = fs.readFileSync(img);
    expect(onDisk.subarray(10 * 512, 16 * 512).every((x) => x === 0)).toBe(true);
    expect(onDisk[16 * 512]).not.toBe(0);
  });

  it('a WRITE reaching a read-only backend is refused with BLKIF_RSP_ERROR and the image is unchanged', () => {
    const h = new VbdHost();
    const g = h.w.guest(1);
    const img = path.join(tmp.dir, 'ro.img');
    const before = makeImage(img, 64);
    const v = h.attach(g, img, { mode: 'r' });
    const ring = v.ring;
    if (!ring || !v.disk) throw new Error('not connected');
    // blkfront itself refuses (EROFS); a frontend that ignores `info` gets the backend's refusal.
    expect(h.w.run(v.disk.write(0, new Uint8Array(512))).ok).toBe(false);
    const t = ring.submitRw(BLKIF_OP_WRITE, 0, 8, new Uint8Array(4096).fill(9));
    if (!t.ok) throw new Error(t.error);
    ring.push();
    h.w.q.drain();
    expect(t.value.done).toBe(true);
    expect(t.value.status).toBe(BLKIF_RSP_ERROR);
    expect(sha256(fs.readFileSync(img))).toBe(sha256(before));
    expect(h.w.xs.read(`${v.be}/state`)).toBe('4');
  });
});

describe('a malicious frontend closes its own device only', () => {
  it('garbage req_prod: error in xenstore, backend Closing, port closed, ring unmapped; the other guest carries on', () => {
    const h = new VbdHost();
    const g1 = h.w.guest(1);
    const g2 = h.w.guest(2);
    const img1 = path.join(tmp.dir, 'a.img');
    const img2 = path.join(tmp.dir, 'b.img');
    makeImage(img1, 256);
    makeImage(img2, 256);
    const bad = h.attach(g1, img1);
    const good = h.attach(g2, img2);
    const ring = bad.ring;
    if (!ring || !good.disk) throw new Error('not connected');
    ring.ring.view.setUint32(SRING_REQ_PROD_OFF, 0x4000_0000, true);
    h.w.evt.send(1, bad.port);
    h.w.q.drain();
    const xs = h.w.xs;
    expect(xs.read('/local/domain/0/error/backend/vbd/1/51712/error')).toMatch(
      /^5 ring: REQUEST_PROD_OVERFLOW/,
    );
    expect(xs.read(`${bad.be}/state`)).toBe('5');
    expect(h.blkback.device(1, 51712)?.connected).toBe(false);
    const flags = g1.dom.client.entry(ring.ringRef)?.flags ?? -1;
    expect(flags & (GTF_reading | GTF_writing)).toBe(0);
    // dom0 and the other guest's disk are fine.
    expect(h.w.run(good.disk.write(0, new Uint8Array(512).fill(4))).ok).toBe(true);
    expect(fs.readFileSync(img2)[0]).toBe(4);
    expect(xs.read(`${good.be}/state`)).toBe('4');
  });

  it.each([
    [
      'more requests than slots',
      (ring: BlkfrontRing) => ring.ring.view.setUint32(SRING_REQ_PROD_OFF, 33, true),
      /REQUEST_PROD_OVERFLOW/,
    ],
    [
      'an unknown operation',
      (ring: BlkfrontRing) => rawRequest(ring, (v, off) => v.setUint8(off, 77)),
      /operation 77/,
    ],
    [
      'a segment outside its page',
      (ring: BlkfrontRing) => rawRequest(ring, (v, off) => v.setUint8(off + 24 + 5, 9)),
      /seg\[0\] sectors 0\.\.9 outside 0\.\.7/,
    ],
    [
      'an invalid grant ref',
      (ring: BlkfrontRing) => rawRequest(ring, (v, off) => v.setUint32(off + 24, 4000, true)),
      /gref 4000: invalid grant reference/,
    ],
  ])('%s: error node, Closing, and the other guest carries on', (_name, tamper, message) => {
    const h = new VbdHost();
    const g1 = h.w.guest(1);
    const g2 = h.w.guest(2);
    const img1 = path.join(tmp.dir, 'a.img');
    const img2 = path.join(tmp.dir, 'b.img');
    makeImage(img1, 256);
    makeImage(img2, 256);
    const bad = h.attach(g1, img1);
    const good = h.attach(g2, img2);
    if (!bad.ring || !good.disk) throw new Error('not connected');
    tamper(bad.ring);
    h.w.evt.send(1, bad.port);
    h.w.q.drain();
    expect(h.w.xs.read('/local/domain/0/error/backend/vbd/1/51712/error')).toMatch(message);
    expect(h.w.xs.read(`${bad.be}/state`)).toBe('5');
    expect(h.blkback.device(1, 51712)?.connected).toBe(false);
    expect(h.w.run(good.disk.write(8, new Uint8Array(512).fill(8))).ok).toBe(true);
    expect(fs.readFileSync(img2)[8 * 512]).toBe(8);
  });

  it('a revoked data grant: grant copy fails, the device closes with the GNTST message', () => {
    const h = new VbdHost();
    const g = h.w.guest(1);
    const img = path.join(tmp.dir, 'a.img');
    makeImage(img, 256);
    const v = h.attach(g, img);
    const ring = v.ring;
    if (!ring) throw new Error('not connected');
    const t = ring.submitRw(BLKIF_OP_WRITE, 0, 8, new Uint8Array(4096));
    if (!t.ok) throw new Error(t.error);
    // The guest ends access to its data page behind blkfront's back before the backend copies.
    const ref = ring.ring.view.getUint32(ring.ring.slotOffset(0) + 24, true);
    expect(g.dom.client.endAccess(ref)).toBe(true);
    ring.push();
    h.w.q.drain();
    expect(t.value.status).toBe(BLKIF_RSP_ERROR);
    expect(h.w.xs.read('/local/domain/0/error/backend/vbd/1/51712/error')).toMatch(
      new RegExp(`gref ${ref}: undefined error`),
    );
    expect(h.w.xs.read(`${v.be}/state`)).toBe('5');
  });

  it('a ring page revoked before the backend maps it: map fails, error reported, Closing, no Connected', () => {
    const h = new VbdHost();
    const g = h.w.guest(1);
    const img = path.join(tmp.dir, 'a.img');
    makeImage(img, 256);
    const v = h.attach(g, img, { frontend: 'setup-only' });
    const ring = v.ring;
    if (!ring) throw new Error('no ring');
    expect(g.dom.client.endAccess(ring.ringRef)).toBe(true);
    h.frontendInitialised(v);
    const xs = h.w.xs;
    expect(xs.read('/local/domain/0/error/backend/vbd/1/51712/error')).toMatch(
      new RegExp(`mapping ring-ref ${ring.ringRef}: undefined error`),
    );
    expect(xs.read(`${v.be}/state`)).toBe('5');
    expect(h.blkback.device(1, 51712)?.actionLog).not.toContain('switchState:4');
  });

  it('a ring page "revoked" while mapped stays mapped (Xen never forcibly revokes) and keeps working', () => {
    const h = new VbdHost();
    const g = h.w.guest(1);
    const img = path.join(tmp.dir, 'a.img');
    makeImage(img, 256);
    const v = h.attach(g, img);
    if (!v.ring || !v.disk) throw new Error('not connected');
    // gnttab_end_foreign_access_ref refuses while the backend maps it (reference 3.5).
    expect(g.dom.client.endAccess(v.ring.ringRef)).toBe(false);
    expect(h.w.run(v.disk.write(0, new Uint8Array(512).fill(6))).ok).toBe(true);
    expect(h.w.xs.read(`${v.be}/state`)).toBe('4');
  });

  it('an image that cannot be opened is reported and the device never connects', () => {
    const h = new VbdHost();
    const v = h.attach(h.w.guest(1), path.join(tmp.dir, 'missing.img'), { frontend: 'none' });
    expect(h.w.xs.read('/local/domain/0/error/backend/vbd/1/51712/error')).toMatch(/ENOENT/);
    expect(h.w.xs.read(`${v.be}/state`)).toBe('5');
  });
});
