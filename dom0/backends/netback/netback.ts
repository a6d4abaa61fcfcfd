// The network backend driver (Linux drivers/xen/xenbus/xenbus_probe_backend.c for the `vif` type,
// xen-netback's netback_probe/netback_remove): watches `/local/domain/<B>/backend/vif`, creates a
// NetbackDevice for each `<frontend-domid>/<devid>` directory the toolstack writes and removes it
// (and its bridge port) when the directory goes. One vif's fault never touches another.

import type { BackendPlatform, BackendWatch } from '../platform.js';
import { NetbackDevice } from './netback-device.js';

const ID_RE = /^[0-9]{1,10}$/;

export class Netback {
  /** `/local/domain/<B>/backend/vif`. */
  readonly root: string;
  readonly devices = new Map<string, NetbackDevice>();
  /** Called when a device goes away (the hotplug `offline` step: detach its bridge port). */
  onRemove: ((dev: NetbackDevice) => void) | null = null;
  private readonly p: BackendPlatform;
  private watch: BackendWatch | undefined;

  constructor(platform: BackendPlatform) {
    this.p = platform;
    this.root = `/local/domain/${platform.domid}/backend/vif`;
  }

  start(): boolean {
    this.watch = this.p.xs.watch(this.root, (path) => this.changed(path));
    return this.watch !== undefined;
  }

  stop(): void {
    if (this.watch !== undefined) this.p.xs.unwatch(this.watch);
    this.watch = undefined;
    for (const key of [...this.devices.keys()]) this.drop(key);
  }

  device(frontendDomid: number, devid: number): NetbackDevice | undefined {
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
    if (known && rest.length > 2) return;
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

  private check(fe: string, devid: string): void {
    const key = `${fe}/${devid}`;
    const present = this.p.xs.read(`${this.root}/${fe}/${devid}/frontend-id`) !== undefined;
    const known = this.devices.get(key);
    if (!present) {
      if (known) this.drop(key);
      return;
    }
    if (known) return;
    const dev = new NetbackDevice(this.p, Number(fe), Number(devid));
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
