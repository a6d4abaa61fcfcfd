// The toolstack's per-domain bookkeeping (what libxl keeps in xenstore under /libxl/<domid> and
// xl in its per-domain monitor): config, name and uuid indexes, and the recently-freed domids that
// libxl will not reuse for LIBXL_DOMID_REUSE_TIMEOUT (libxl_domain.c libxl__mark_domid_recent).

import type { DomainConfig, ShutdownAction } from './config/domain-config-types.js';
import type { BootLayout } from './domain-builder.js';

export const LIBXL_DOMID_REUSE_TIMEOUT_NS = 60_000_000_000;

/** A vbd as the toolstack attached it. */
export interface VbdRecord {
  readonly devid: number;
  readonly vdev: string;
  /** dom0 path of the target. */
  readonly target: string;
  readonly backendPath: string;
  readonly frontendPath: string;
}

/** A vif as the toolstack attached it. */
export interface VifRecord {
  readonly devid: number;
  /** Lowercase `xx:xx:xx:xx:xx:xx`. */
  readonly mac: string;
  readonly bridge: string;
  /** The dom0 interface name (`vifname=`, else vif<domid>.<devid>). */
  readonly vifname: string;
  readonly backendPath: string;
  readonly frontendPath: string;
}

export interface DomainRecord {
  readonly domid: number;
  name: string;
  uuid: string;
  config: DomainConfig;
  /** The config text as given (what a reboot recreates from). */
  readonly configText: string | undefined;
  /** dom0 directory the config's relative paths resolved against (reused on restart). */
  readonly cwd: string;
  readonly storeMfn: number;
  readonly storePort: number;
  readonly consoleMfn: number;
  readonly consolePort: number;
  readonly startTimeS: number;
  /** Where the builder put the boot pages (kept for save). */
  readonly layout: BootLayout;
  targetKb: number;
  staticMaxKb: number;
  readonly vbds: Map<number, VbdRecord>;
  readonly vifs: Map<number, VifRecord>;
  /** Set while the toolstack itself is taking the domain down (no on_* action then). */
  destroying: boolean;
  /** Shutdown already handled (the action ran). */
  shutdownHandled: boolean;
}

export function actionFor(cfg: DomainConfig, reason: number): ShutdownAction | undefined {
  switch (reason) {
    case 0:
      return cfg.onPoweroff;
    case 1:
      return cfg.onReboot;
    case 3:
      return cfg.onCrash;
    case 4:
      return cfg.onWatchdog;
    case 5:
      return cfg.onSoftReset;
    default:
      return undefined; // suspend: a save is in progress
  }
}

export class DomainRegistry {
  private readonly byDomid = new Map<number, DomainRecord>();
  private readonly byName = new Map<string, number>();
  /** Freed domid -> virtual time it was freed; `freeOrder` prunes it in time order. */
  private readonly recent = new Map<number, number>();
  private readonly freeOrder: { domid: number; atNs: number }[] = [];
  private freeHead = 0;

  get(domid: number): DomainRecord | undefined {
    return this.byDomid.get(domid);
  }

  domidOf(name: string): number | undefined {
    return this.byName.get(name);
  }

  all(): IterableIterator<DomainRecord> {
    return this.byDomid.values();
  }

  get size(): number {
    return this.byDomid.size;
  }

  add(r: DomainRecord): void {
    this.byDomid.set(r.domid, r);
    this.byName.set(r.name, r.domid);
  }

  rename(r: DomainRecord, newName: string): void {
    if (this.byName.get(r.name) === r.domid) this.byName.delete(r.name);
    r.name = newName;
    this.byName.set(newName, r.domid);
  }

  /** Forgets the domain; its domid is not reused for 60 s. */
  remove(domid: number, nowNs: number): void {
    const r = this.byDomid.get(domid);
    if (!r) return;
    this.byDomid.delete(domid);
    if (this.byName.get(r.name) === domid) this.byName.delete(r.name);
    this.markRecent(domid, nowNs);
  }

  markRecent(domid: number, nowNs: number): void {
    this.recent.set(domid, nowNs);
    this.freeOrder.push({ domid, atNs: nowNs });
  }

  /** libxl__is_domid_recent: freed less than 60 s ago. */
  isRecent(domid: number, nowNs: number): boolean {
    this.prune(nowNs);
    const t = this.recent.get(domid);
    return t !== undefined && nowNs - t < LIBXL_DOMID_REUSE_TIMEOUT_NS;
  }

  private prune(nowNs: number): void {
    while (this.freeHead < this.freeOrder.length) {
      const e = this.freeOrder[this.freeHead] as { domid: number; atNs: number };
      if (nowNs - e.atNs < LIBXL_DOMID_REUSE_TIMEOUT_NS) break;
      if (this.recent.get(e.domid) === e.atNs) this.recent.delete(e.domid);
      this.freeHead++;
    }
    if (this.freeHead > 1024 && this.freeHead * 2 > this.freeOrder.length) {
      this.freeOrder.splice(0, this.freeHead);
      this.freeHead = 0;
    }
  }
}
