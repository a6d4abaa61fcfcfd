// One virtual block device in dom0 (Linux drivers/block/xen-blkback/xenbus.c: backend_probe,
// frontend_changed, connect_ring, connect, xen_blkif_disconnect; blkback.c xen_blkif_be_int): the
// xenstore nodes of reference 6.2, the shared handshake machine driven through xstate's pure
// `transition`, the ring mapped and the event channel bound on connect, and requests served by
// BlkifProcessor from the event handler. A fault closes this device only.

import { XEN_EIO } from '../../../hypercalls/errno.js';
import { xenbusDevError } from '../xenbus-error.js';
import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import { GNTST_okay, gntstMessage } from '../../../hypercalls/grant-table.js';
import {
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_SECTOR_BYTES,
  VDISK_CDROM,
  VDISK_READONLY,
  VDISK_REMOVABLE,
  XEN_IO_PROTO_ABI_X86_64,
} from '../../../hypercalls/io/blkif.js';
import { parseXenbusState, XenbusState } from '../../../hypercalls/io/xenbus.js';
import { blkbackMachine, type BackendEvent } from '../backend-machine.js';
import type { BackendPlatform, BackendWatch, GrantMapping, LocalPage } from '../platform.js';
import { SyncBlockFile, type BlockFile } from './block-file.js';
import { BLKIF_BOUNCE_PAGES, BlkifProcessor } from './blkif-processor.js';
import { newBlkbackMetrics, type BlkbackMetrics } from './metrics.js';

/** Requests handled per event before the rest is deferred to a fresh event (fairness between devices). */
const BUDGET_PER_RUN = 64;

/** Opens the image named by `params`; tests swap in their own. */
export type BlockFileOpener = (
  path: string,
  writable: boolean,
) => { ok: true; file: BlockFile } | { ok: false; error: string };

export const openSyncBlockFile: BlockFileOpener = (path, writable) =>
  SyncBlockFile.open(path, writable);

interface Connection {
  readonly mapping: GrantMapping;
  readonly port: number;
  readonly bounce: LocalPage[];
  readonly processor: BlkifProcessor;
}

const parseUint = (s: string | undefined): number | undefined =>
  s !== undefined && /^[0-9]{1,10}$/.test(s) ? Number(s) : undefined;

export class BlkbackDevice {
  readonly frontendDomid: number;
  readonly devid: number;
  /** `/local/domain/<B>/backend/vbd/<fe>/<devid>`. */
  readonly path: string;
  readonly metrics: BlkbackMetrics = newBlkbackMetrics();
  /** Errors reported (also written to xenstore). */
  readonly errors: string[] = [];
  /** Actions the machine ran, in order (what tests and labs look at). */
  readonly actionLog: string[] = [];
  private readonly p: BackendPlatform;
  private readonly open: BlockFileOpener;
  private snap: AnyMachineSnapshot;
  private readonly queue: BackendEvent[] = [];
  private draining = false;
  private file: BlockFile | null = null;
  private readOnly = true;
  private conn: Connection | null = null;
  private frontendPath = '';
  private readonly watches: BackendWatch[] = [];
  private scheduled = false;
  /** connectRing failed inside the current batch of actions: skip its switchState(Connected). */
  private connectFailed = false;
  removed = false;

  constructor(
    platform: BackendPlatform,
    frontendDomid: number,
    devid: number,
    open: BlockFileOpener = openSyncBlockFile,
  ) {
    this.p = platform;
    this.frontendDomid = frontendDomid;
    this.devid = devid;
    this.open = open;
    this.path = `/local/domain/${platform.domid}/backend/vbd/${frontendDomid}/${devid}`;
    const [snap] = initialTransition(blkbackMachine);
    this.snap = snap;
  }

  /** The handshake state (`InitWait`, `Connected`, ...). */
  get state(): string {
    return String(this.snap.value);
  }

  get connected(): boolean {
    return this.conn !== null;
  }

  /** backend_probe: open the image, then PROBE; watch the frontend, hotplug and `online`. */
  start(): void {
    const xs = this.p.xs;
    this.frontendPath = xs.read(`${this.path}/frontend`) ?? '';
    const params = xs.read(`${this.path}/params`);
    this.readOnly = xs.read(`${this.path}/mode`) !== 'w';
    if (params === undefined || params === '') {
      this.send({ type: 'PROBE' });
      this.send({ type: 'FAULT', message: 'no params: nothing to serve' });
      return;
    }
    const f = this.open(params, !this.readOnly);
    if (!f.ok) {
      this.send({ type: 'PROBE' });
      this.send({ type: 'FAULT', message: `opening ${params}: ${f.error}` });
      return;
    }
    this.file = f.file;
    this.send({ type: 'PROBE' });
    this.addWatch(`${this.path}/physical-device`, () => {
      if (xs.read(`${this.path}/physical-device`) !== undefined)
        this.send({ type: 'HOTPLUG_DONE' });
    });
    this.addWatch(`${this.path}/online`, () => {
      const v = xs.read(`${this.path}/online`);
      if (v !== undefined) this.send({ type: 'ONLINE', online: v === '1' });
    });
    if (this.frontendPath !== '') {
      this.addWatch(`${this.frontendPath}/state`, () => this.frontendChanged());
    }
  }

  /** The backend directory went away (or dom0 shuts the device down): release everything. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    this.disconnect();
    for (const w of this.watches.splice(0)) this.p.xs.unwatch(w);
    this.file?.close();
    this.file = null;
  }

  private addWatch(path: string, cb: () => void): void {
    const w = this.p.xs.watch(path, () => {
      if (!this.removed) cb();
    });
    if (w !== undefined) this.watches.push(w);
  }

  private frontendChanged(): void {
    const s = this.p.xs.read(`${this.frontendPath}/state`);
    if (s === undefined) {
      this.send({ type: 'FRONTEND_STATE', state: XenbusState.Unknown });
      return;
    }
    const st = parseXenbusState(s);
    if (!st.ok) {
      this.send({ type: 'FAULT', message: `frontend state: ${st.error}` });
      return;
    }
    this.send({ type: 'FRONTEND_STATE', state: st.value });
  }

  /** Feeds the machine one event at a time (an action may raise another: it waits its turn). */
  send(ev: BackendEvent): void {
    this.queue.push(ev);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let e = this.queue.shift(); e !== undefined; e = this.queue.shift()) {
        if (this.removed && e.type !== 'ONLINE') continue;
        const [snap, actions] = transition(blkbackMachine, this.snap, e);
        this.snap = snap;
        this.connectFailed = false;
        for (const a of actions) this.run(a);
      }
    } finally {
      this.draining = false;
    }
  }

  private run(a: { type: string; params?: unknown }): void {
    if (a.type.startsWith('xstate.')) return;
    const xs = this.p.xs;
    switch (a.type) {
      case 'writeFeatures':
        this.actionLog.push(a.type);
        // DEVIATION(xen): no feature-max-indirect-segments: xensim's blkback serves only direct
        // requests of up to 11 segments on a one-page ring.
        xs.write(`${this.path}/multi-queue-max-queues`, '1');
        xs.write(`${this.path}/max-ring-page-order`, '0');
        return;
      case 'connectRing':
        this.actionLog.push(a.type);
        this.connect();
        return;
      case 'disconnectRing':
        this.actionLog.push(a.type);
        this.disconnect();
        return;
      case 'switchState': {
        const state = (a.params as { state: number }).state;
        if (this.connectFailed && state === XenbusState.Connected) return;
        this.actionLog.push(`switchState:${state}`);
        xs.write(`${this.path}/state`, String(state));
        return;
      }
      case 'reportError': {
        const message = (a.params as { message: string }).message;
        this.actionLog.push(a.type);
        this.reportError(message);
        return;
      }
      case 'removeDevice':
        this.actionLog.push(a.type);
        this.remove();
        return;
      default:
        this.actionLog.push(`unknown:${a.type}`);
    }
  }

  /**
   * xenbus_dev_fatal: the message goes to `error/<nodename>/error` under the backend domain's home
   * (`/local/domain/0/error/backend/vbd/<fe>/<devid>/error`), errno first as Linux prints it.
   */
  private reportError(message: string): void {
    this.errors.push(message);
    xenbusDevError(this.p.xs, this.p.domid, this.path, XEN_EIO, message);
  }

  private fail(message: string): void {
    this.connectFailed = true;
    this.send({ type: 'FAULT', message });
  }

  /** connect_ring + connect: map the ring, bind the event channel, publish the disk. */
  private connect(): void {
    const xs = this.p.xs;
    const fe = this.frontendPath;
    const file = this.file;
    if (file === null) return this.fail('no image open');
    const order = parseUint(xs.read(`${fe}/ring-page-order`) ?? '0');
    if (order !== 0) return this.fail('ring-page-order other than 0 is not supported');
    const ref = parseUint(xs.read(`${fe}/ring-ref`) ?? xs.read(`${fe}/ring-ref0`));
    const evtchn = parseUint(xs.read(`${fe}/event-channel`));
    if (ref === undefined || evtchn === undefined) {
      return this.fail(`reading ${fe}/ring-ref and event-channel`);
    }
    const proto = xs.read(`${fe}/protocol`) ?? XEN_IO_PROTO_ABI_X86_64;
    if (proto !== XEN_IO_PROTO_ABI_X86_64) return this.fail(`unknown fe protocol ${proto}`);
    // Enough bounce pages for a whole merged read to take one GNTTABOP_copy; 11 will do if dom0 is short.
    const bounce =
      this.p.grants.allocPages(BLKIF_BOUNCE_PAGES) ??
      this.p.grants.allocPages(BLKIF_MAX_SEGMENTS_PER_REQUEST);
    if (!bounce) return this.fail('no dom0 pages for bounce buffers');
    const mapping = this.p.grants.map(this.frontendDomid, ref, false);
    if (mapping.status !== GNTST_okay || mapping.bytes === undefined) {
      this.p.grants.freePages(bounce);
      return this.fail(`mapping ring-ref ${ref}: ${gntstMessage(mapping.status)}`);
    }
    const sectors = Math.floor(file.sizeBytes / BLKIF_SECTOR_BYTES);
    const discard = xs.read(`${this.path}/discard-enable`) !== '0' && !this.readOnly;
    const proc = BlkifProcessor.attach(mapping.bytes, {
      frontendDomid: this.frontendDomid,
      copy: (ops, count) => this.p.grants.copy(ops, count),
      disk: { file, sectors, readOnly: this.readOnly, flushCache: true, barrier: true, discard },
      bounce,
      metrics: this.metrics,
    });
    if (!proc.ok) {
      this.p.grants.unmap(mapping);
      this.p.grants.freePages(bounce);
      return this.fail(proc.error);
    }
    const port = this.p.evtchn.bindInterdomain(this.frontendDomid, evtchn);
    if (port < 0) {
      this.p.grants.unmap(mapping);
      this.p.grants.freePages(bounce);
      return this.fail(`binding event channel ${evtchn}: errno ${-port}`);
    }
    this.conn = { mapping, port, bounce, processor: proc.value };
    this.p.evtchn.listen(port, () => this.kick());
    this.publishDisk(sectors, discard);
    // Requests pushed before we bound the port are served now (the bind marks the port pending in Xen too).
    this.kick();
  }

  private publishDisk(sectors: number, discard: boolean): void {
    const xs = this.p.xs;
    const type = xs.read(`${this.path}/device-type`);
    const info =
      (this.readOnly ? VDISK_READONLY : 0) |
      (type === 'cdrom' ? VDISK_CDROM : 0) |
      (xs.read(`${this.path}/removable`) === '1' ? VDISK_REMOVABLE : 0);
    xs.write(`${this.path}/feature-flush-cache`, '1');
    xs.write(`${this.path}/feature-barrier`, '1');
    xs.write(`${this.path}/feature-discard`, discard ? '1' : '0');
    if (discard) {
      xs.write(`${this.path}/discard-granularity`, String(BLKIF_SECTOR_BYTES));
      xs.write(`${this.path}/discard-alignment`, '0');
      xs.write(`${this.path}/discard-secure`, '1');
    }
    // Data moves by grant copy; there are no persistent grants to negotiate.
    xs.write(`${this.path}/feature-persistent`, '0');
    xs.write(`${this.path}/sectors`, String(sectors));
    xs.write(`${this.path}/info`, String(info));
    xs.write(`${this.path}/sector-size`, String(BLKIF_SECTOR_BYTES));
    xs.write(`${this.path}/physical-sector-size`, String(BLKIF_SECTOR_BYTES));
  }

  /** xen_blkif_disconnect: unbind, unmap, give the bounce pages back. */
  private disconnect(): void {
    const c = this.conn;
    if (c === null) return;
    this.conn = null;
    this.p.evtchn.close(c.port);
    this.p.grants.unmap(c.mapping);
    this.p.grants.freePages(c.bounce);
  }

  /** xen_blkif_be_int: serve the ring; a fault closes the device; leftover work gets another turn. */
  kick(): void {
    const c = this.conn;
    if (c === null) return;
    const out = c.processor.process(BUDGET_PER_RUN);
    if (out.notify) {
      this.metrics.notifications++;
      this.p.evtchn.send(c.port);
    }
    if (out.fault !== null) {
      this.send({ type: 'FAULT', message: out.fault });
      return;
    }
    if (out.more && !this.scheduled) {
      this.scheduled = true;
      this.p.clock.at(this.p.clock.now(), () => {
        this.scheduled = false;
        this.kick();
      });
    }
  }
}
