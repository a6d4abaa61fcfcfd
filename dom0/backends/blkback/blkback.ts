// The block backend driver (Linux drivers/xen/xenbus/xenbus_probe_backend.c for the `vbd` type and
// xen-blkback's xenbus.c probe/remove): watches `/local/domain/<B>/backend/vbd`, creates a
// BlkbackDevice for each `<frontend-domid>/<devid>` directory the toolstack writes, and removes it
// when the directory goes. One device's fault never touches another.

import type { BackendPlatform, BackendWatch } from '../platform.js';
import { BlkbackDevice, openSyncBlockFile, type BlockFileOpener } from './blkback-device.js';

const ID_RE = /^[0-9]{1,10}$/;

export class Blkback {
  /** `/local/domain/<B>/backend/vbd`. */
  readonly root: string;
  /** Devices by `<fe>/<devid>`. */
  readonly devices = new Map<string, BlkbackDevice>();
  private readonly p: BackendPlatform;
  private readonly open: BlockFileOpener;
  private watch: BackendWatch | undefined;

  constructor(platform: BackendPlatform, open: BlockFileOpener = openSyncBlockFile) {
    this.p = platform;
    this.open = open;
    this.root = `/local/domain/${platform.domid}/backend/vbd`;
  }

  /** Registers the watch; its first firing enumerates devices already there. */
  start(): boolean {
    this.watch = this.p.xs.watch(this.root, (path) => this.changed(path));
    return this.watch !== undefined;
  }

  stop(): void {
    if (this.watch !== undefined) this.p.xs.unwatch(this.watch);
    this.watch = undefined;
    for (const d of this.devices.values()) d.remove();
    this.devices.clear();
  }

  device(frontendDomid: number, devid: number): BlkbackDevice | undefined {
    return this.devices.get(`${frontendDomid}/${devid}`);
  }

  private changed(path: string): void {
    if (path !== this.root && !path.startsWith(`${this.root}/`)) return;
    const rest = path.slice(this.root.length + 1).split('/');
    const [fe, devid] = rest;
    if (path === this.root || fe === undefined || fe === '') return this.scan();
    if (!ID_RE.test(fe)) return;
    if (devid === undefined) return this.scanFrontend(fe);
    if (!ID_RE.test(devid)) return;
    const known = this.devices.get(`${fe}/${devid}`);
    // A change below a known device (often our own writes) is that device's business.
    if (known && rest.length > 2) return;
    this.check(fe, devid);
  }

  private scan(): void {
    const fes = this.p.xs.directory(this.root).filter((s) => ID_RE.test(s));
    for (const fe of fes) this.scanFrontend(fe);
    for (const key of [...this.devices.keys()]) {
      const fe = key.split('/')[0] ?? '';
      if (!fes.includes(fe)) this.drop(key);
    }
  }

  private scanFrontend(fe: string): void {
    const ids = this.p.xs.directory(`${this.root}/${fe}`).filter((s) => ID_RE.test(s));
    for (const id of ids) this.check(fe, id);
    for (const key of [...this.devices.keys()]) {
      const [kfe, kid] = key.split('/');
      if (kfe === fe && !ids.includes(kid ?? '')) this.drop(key);
    }
  }

  /** backend_probe once the toolstack's directory is complete; remove once it is gone. */
  private check(fe: string, devid: string): void {
    const key = `${fe}/${devid}`;
    const dir = `${this.root}/${fe}/${devid}`;
    const present = this.p.xs.read(`${dir}/frontend-id`) !== undefined;
    const known = this.devices.get(key);
    if (!present) {
      if (known) this.drop(key);
      return;
    }
    if (known) return;
    const dev = new BlkbackDevice(this.p, Number(fe), Number(devid), this.open);
    this.devices.set(key, dev);
    dev.start();
  }

  private drop(key: string): void {
    this.devices.get(key)?.remove();
    this.devices.delete(key);
  }
}
