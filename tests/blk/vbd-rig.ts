// A vbd brought up the way the toolstack, hotplug script and blkfront would (reference 6.1/6.2),
// against Blkback in dom0 with the real grant-table engine, a real image file and fake xenstore
// and event channels (tests/blk/world.ts).

import type { BackendPlatform } from '../../dom0/backends/platform.js';
import { Blkback } from '../../dom0/backends/blkback/blkback.js';
import type { BlockFileOpener } from '../../dom0/backends/blkback/blkback-device.js';
import { SyncBlockFile, type BlockFile } from '../../dom0/backends/blkback/block-file.js';
import { BlkfrontRing } from '../../domU/blkfront/blkfront-ring.js';
import { XenBlockDevice } from '../../domU/blkfront/xen-block-device.js';
import { BlkWorld, type GuestDom } from './world.js';

export interface VbdOptions {
  devid?: number;
  mode?: 'w' | 'r';
  deviceType?: 'disk' | 'cdrom';
  removable?: boolean;
  /** Stop before the frontend connects (tests that tamper with the ring first). */
  frontend?: 'connect' | 'setup-only' | 'none';
}

export interface Vbd {
  readonly be: string;
  readonly fe: string;
  ring: BlkfrontRing | null;
  port: number;
  disk: XenBlockDevice | null;
}

/** Host-side file calls in order (`write <pos> <len>`, `flush`), for ordering checks. */
export class SpyFile implements BlockFile {
  private readonly inner: BlockFile;
  readonly log: string[];
  constructor(inner: BlockFile, log: string[]) {
    this.inner = inner;
    this.log = log;
  }
  get sizeBytes(): number {
    return this.inner.sizeBytes;
  }
  /** Host reads made (not in `log`, which records what changes the image). */
  reads = 0;
  readAt(dst: Uint8Array, pos: number) {
    this.reads++;
    return this.inner.readAt(dst, pos);
  }
  writeAt(src: Uint8Array, pos: number) {
    this.log.push(`write ${pos} ${src.length}`);
    return this.inner.writeAt(src, pos);
  }
  readvAt(dsts: readonly Uint8Array[], pos: number) {
    this.reads++;
    return this.inner.readvAt(dsts, pos);
  }
  writevAt(srcs: readonly Uint8Array[], pos: number) {
    this.log.push(`write ${pos} ${srcs.reduce((n, b) => n + b.length, 0)}`);
    return this.inner.writevAt(srcs, pos);
  }
  flush() {
    this.log.push('flush');
    return this.inner.flush();
  }
  discard(pos: number, len: number) {
    this.log.push(`discard ${pos} ${len}`);
    return this.inner.discard(pos, len);
  }
  close() {
    this.log.push('close');
    this.inner.close();
  }
}

export class VbdHost {
  readonly w = new BlkWorld();
  readonly fileLog: string[] = [];
  /** The image files blkback opened, in order. */
  readonly files: SpyFile[] = [];
  readonly blkback: Blkback;

  /** `platform` builds dom0's BackendPlatform (default: BlkWorld's direct one). */
  constructor(platform?: (w: BlkWorld) => BackendPlatform) {
    const open: BlockFileOpener = (p, writable) => {
      const f = SyncBlockFile.open(p, writable);
      if (!f.ok) return f;
      const spy = new SpyFile(f.file, this.fileLog);
      this.files.push(spy);
      return { ok: true, file: spy };
    };
    this.blkback = new Blkback(platform ? platform(this.w) : this.w.platform(), open);
    this.blkback.start();
    this.w.q.drain();
  }

  /** Toolstack writes, hotplug, then (optionally) the frontend's half of the handshake. */
  attach(g: GuestDom, image: string, o: VbdOptions = {}): Vbd {
    const xs = this.w.xs;
    const devid = o.devid ?? 51712;
    const be = `/local/domain/0/backend/vbd/${g.id}/${devid}`;
    const fe = `/local/domain/${g.id}/device/vbd/${devid}`;
    const nodes: [string, string][] = [
      [`${be}/frontend`, fe],
      [`${be}/params`, image],
      [`${be}/mode`, o.mode ?? 'w'],
      [`${be}/device-type`, o.deviceType ?? 'disk'],
      [`${be}/removable`, o.removable === true ? '1' : '0'],
      [`${be}/discard-enable`, '1'],
      [`${be}/online`, '1'],
      [`${be}/state`, '1'],
      [`${fe}/backend`, be],
      [`${fe}/backend-id`, '0'],
      [`${fe}/virtual-device`, String(devid)],
      [`${fe}/state`, '1'],
      [`${be}/frontend-id`, String(g.id)],
    ];
    for (const [p, v] of nodes) xs.write(p, v);
    this.w.q.drain();
    xs.write(`${be}/physical-device`, '7:0');
    xs.write(`${be}/hotplug-status`, 'connected');
    this.w.q.drain();
    const vbd: Vbd = { be, fe, ring: null, port: -1, disk: null };
    if ((o.frontend ?? 'connect') === 'none') return vbd;
    this.setupFrontend(g, vbd);
    if (o.frontend === 'setup-only') return vbd;
    this.frontendInitialised(vbd);
    return vbd;
  }

  /** blkfront's setupRing: ring page granted, unbound port, ring-ref/event-channel/protocol. */
  setupFrontend(g: GuestDom, vbd: Vbd): void {
    const xs = this.w.xs;
    const port = this.w.evt.allocUnbound(g.id);
    const ring = BlkfrontRing.setup(g.io(0, () => this.w.evt.send(g.id, port)));
    if (!ring.ok) throw new Error(ring.error);
    this.w.evt.listen(g.id, port, () => ring.value.onEvent());
    vbd.ring = ring.value;
    vbd.port = port;
    xs.write(`${vbd.fe}/ring-ref`, String(ring.value.ringRef));
    xs.write(`${vbd.fe}/event-channel`, String(port));
    xs.write(`${vbd.fe}/protocol`, 'x86_64-abi');
  }

  /** state=3, then on backend Connected read the disk info and go Connected. */
  frontendInitialised(vbd: Vbd): void {
    const xs = this.w.xs;
    xs.write(`${vbd.fe}/state`, '3');
    this.w.q.drain();
    if (xs.read(`${vbd.be}/state`) !== '4' || !vbd.ring) return;
    const n = (k: string) => Number(xs.read(`${vbd.be}/${k}`) ?? '0');
    vbd.disk = new XenBlockDevice('xvda', vbd.ring, {
      sectors: n('sectors'),
      info: n('info'),
      sectorSize: n('sector-size'),
      flushCache: n('feature-flush-cache') === 1,
      barrier: n('feature-barrier') === 1,
      discard: n('feature-discard') === 1,
    });
    xs.write(`${vbd.fe}/state`, '4');
    this.w.q.drain();
  }
}
