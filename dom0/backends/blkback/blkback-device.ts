// One virtual block device in dom0 (Linux drivers/block/xen-blkback/xenbus.c: backend_probe,
// frontend_changed, connect_ring, connect, xen_blkif_disconnect; blkback.c xen_blkif_be_int): the
// xenstore nodes of reference 6.2, the shared handshake machine driven through xstate's pure
// `transition`, the ring mapped and the event channel bound on connect, and requests served by
// BlkifProcessor from the event handler. A fault closes this device only.

import { XEN_EIO } from '../../../hypercalls/errno.js';
import { GNTST_okay, gntstMessage } from '../../../hypercalls/grant-table.js';
import {
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_SECTOR_BYTES,
  VDISK_CDROM,
  VDISK_READONLY,
  VDISK_REMOVABLE,
  XEN_IO_PROTO_ABI_X86_64,
} from '../../../hypercalls/io/blkif.js';
import { parseUint, XenbusBackendDevice } from '../backend-device.js';
import { blkbackMachine } from '../backend-machine.js';
import type { BackendPlatform, GrantMapping, LocalPage } from '../platform.js';
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

export class BlkbackDevice extends XenbusBackendDevice {
  readonly metrics: BlkbackMetrics = newBlkbackMetrics();
  private readonly open: BlockFileOpener;
  private file: BlockFile | null = null;
  private readOnly = true;
  private conn: Connection | null = null;
  private scheduled = false;

  constructor(
    platform: BackendPlatform,
    frontendDomid: number,
    devid: number,
    open: BlockFileOpener = openSyncBlockFile,
  ) {
    super(platform, frontendDomid, devid, 'vbd', blkbackMachine, XEN_EIO);
    this.open = open;
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
    this.watchFrontendState();
  }

  /** The image is closed with the device. */
  protected override released(): void {
    this.file?.close();
    this.file = null;
  }

  protected writeFeatures(): void {
    // DEVIATION(xen): no feature-max-indirect-segments: xensim's blkback serves only direct
    // requests of up to 11 segments on a one-page ring.
    this.p.xs.write(`${this.path}/multi-queue-max-queues`, '1');
    this.p.xs.write(`${this.path}/max-ring-page-order`, '0');
  }

  /** connect_ring + connect: map the ring, bind the event channel, publish the disk. */
  protected connect(): void {
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
  protected disconnect(): void {
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
