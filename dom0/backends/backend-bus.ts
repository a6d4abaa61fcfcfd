// The backend side of the xenbus bus (Linux drivers/xen/xenbus/xenbus_probe_backend.c): watches
// `/local/domain/<B>/backend/<type>`, probes a device for each `<frontend-domid>/<devid>` directory
// the toolstack completes (its `frontend-id` written), and removes it when the directory goes. One
// device's fault never touches another. blkback (`vbd`) and netback (`vif`) are its drivers.

import type { BackendPlatform, BackendWatch } from './platform.js';

const ID_RE = /^[0-9]{1,10}$/;

/** What a backend driver's device must offer the bus. */
export interface BusDevice {
  start(): void;
  remove(): void;
}

export class BackendBus<D extends BusDevice> {
  /** `/local/domain/<B>/backend/<type>`. */
  readonly root: string;
  /** Devices by `<fe>/<devid>`. */
  readonly devices = new Map<string, D>();
  /** Called after a device is removed (e.g. netback's hotplug `offline` step). */
  onRemove: ((dev: D) => void) | null = null;
  private readonly p: BackendPlatform;
  private readonly probe: (frontendDomid: number, devid: number) => D;
  private watch: BackendWatch | undefined;

  constructor(
    platform: BackendPlatform,
    type: string,
    probe: (frontendDomid: number, devid: number) => D,
  ) {
    this.p = platform;
    this.probe = probe;
    this.root = `/local/domain/${platform.domid}/backend/${type}`;
  }

  /** Registers the watch; its first firing enumerates devices already there. */
  start(): boolean {
    this.watch = this.p.xs.watch(this.root, (path) => this.changed(path));
    return this.watch !== undefined;
  }

  stop(): void {
    if (this.watch !== undefined) this.p.xs.unwatch(this.watch);
    this.watch = undefined;
    for (const key of [...this.devices.keys()]) this.drop(key);
  }

  device(frontendDomid: number, devid: number): D | undefined {
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
    // A change below a known device (often its own writes) is that device's business.
    if (this.devices.has(`${fe}/${devid}`) && rest.length > 2) return;
    this.check(fe, devid);
  }

  private scan(): void {
    const fes = this.p.xs.directory(this.root).filter((s) => ID_RE.test(s));
    for (const fe of fes) this.scanFrontend(fe);
    for (const key of [...this.devices.keys()]) {
      if (!fes.includes(key.split('/')[0] ?? '')) this.drop(key);
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
    const present = this.p.xs.read(`${this.root}/${fe}/${devid}/frontend-id`) !== undefined;
    const known = this.devices.get(key);
    if (!present) {
      if (known) this.drop(key);
      return;
    }
    if (known) return;
    const dev = this.probe(Number(fe), Number(devid));
    this.devices.set(key, dev);
    dev.start();
  }

  private drop(key: string): void {
    const dev = this.devices.get(key);
    this.devices.delete(key);
    if (!dev) return;
    dev.remove();
    this.onRemove?.(dev);
  }
}
