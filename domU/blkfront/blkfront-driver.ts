// The vbd frontend driver (Linux drivers/block/xen-blkfront.c talk_to_blkback, blkfront_connect,
// blkif_free, blkback_changed) on the kernel's frontend bus: runs the actions of the blkfront
// handshake machine. setupRing grants the ring, allocates the event channel and writes ring-ref,
// event-channel and protocol; readDiskInfo reads sectors/info/sector-size/feature-* and adds the
// disk to the kernel; teardownRing ends access and closes the port.

import { allocFrontendEvtchn } from '../xenbus/frontend-evtchn.js';
import { frontendIo, type FrontendHost } from '../xenbus/frontend-io.js';
import { XEN_IO_PROTO_ABI_X86_64 } from '../../hypercalls/io/blkif.js';
import type { BlockDevice } from '../block-device.js';
import type { KThread } from '../kthread.js';
import { blkfrontMachine, type BlkfrontInput } from '../xenbus/blkfront-machine.js';
import type {
  FrontendAction,
  FrontendBus,
  FrontendDevice,
  FrontendDriver,
} from '../xenbus/frontend.js';
import { BlkfrontRing } from './blkfront-ring.js';
import { XenBlockDevice } from './xen-block-device.js';

/** What blkfront needs of the guest kernel (PvKernel has all of it). */
export interface BlkfrontHost extends FrontendHost {
  /** The kernel's list of disks: blkfront adds and removes its own. */
  readonly blockDevices: BlockDevice[];
}

/** Driver-private data of one vbd (FrontendDevice.data). */
export interface BlkfrontData {
  ring: BlkfrontRing | null;
  port: number;
  disk: XenBlockDevice | null;
}

/** xvd name of a devid (reference 5.10): (202<<8)|(disk<<4)|part, or the extended (1<<28) form. */
export function vbdName(devid: number): string {
  const disk = devid & (1 << 28) ? (devid >>> 8) & 0xfffff : (devid >>> 4) & 0xf;
  const part = devid & (1 << 28) ? devid & 0xff : devid & 0xf;
  let letters = '';
  for (let d = disk + 1; d > 0; d = Math.floor((d - 1) / 26)) {
    letters = String.fromCharCode(97 + ((d - 1) % 26)) + letters;
  }
  return `xvd${letters}${part > 0 ? String(part) : ''}`;
}

const dataOf = (dev: FrontendDevice): BlkfrontData => {
  if (dev.data === undefined)
    dev.data = { ring: null, port: -1, disk: null } satisfies BlkfrontData;
  return dev.data as BlkfrontData;
};

/** The blkfront driver for the frontend bus; `host` resolves the booted kernel. */
export function blkfrontDriver(host: () => BlkfrontHost | null): FrontendDriver {
  return {
    type: 'vbd',
    machine: blkfrontMachine,
    // The machine's context is built from its input: without one, openCount is not a number and a
    // Closing backend tears down a disk that is still open.
    machineInput: (): BlkfrontInput => ({ legacyOrder: false }),
    *runAction(dev: FrontendDevice, action: FrontendAction, bus: FrontendBus): KThread {
      const k = host();
      if (!k) {
        dev.errors.push('blkfront: no kernel');
        return;
      }
      switch (action.type) {
        case 'setupRing':
          return yield* setupRing(k, dev, bus);
        case 'readDiskInfo':
          return yield* readDiskInfo(k, dev, bus);
        case 'teardownRing':
          teardown(k, dev);
          return;
        case 'reportBusy': {
          // xenbus_dev_error(dev, -EBUSY, "Device in use; refusing to close").
          const msg = 'Device in use; refusing to close';
          dev.errors.push(msg);
          yield* bus.xs.write(`error/${dev.nodename}/error`, `16 ${msg}`);
          return;
        }
        default:
          dev.errors.push(`blkfront: unknown action ${action.type}`);
      }
    },
    remove(dev: FrontendDevice): KThread {
      const k = host();
      if (k) teardown(k, dev);
      return nothing();
    },
    resume(dev: FrontendDevice): KThread {
      // blkfront_resume: a new domain; the old ring, grants and port are gone with the old one
      // (dropped unread). The disk stays: its requests wait and are issued again on the new ring.
      const d = dataOf(dev);
      d.disk?.suspend();
      dev.data = { ring: null, port: -1, disk: d.disk } satisfies BlkfrontData;
      return nothing();
    },
  };
}

/** A thread with nothing left to do (the work was synchronous). */
function* nothing(): KThread {
  // empty
}

function* setupRing(k: BlkfrontHost, dev: FrontendDevice, bus: FrontendBus): KThread {
  const d = dataOf(dev);
  if (d.ring) teardown(k, dev);
  const g = k.grants();
  if (!g) {
    dev.errors.push('blkfront: no grant table');
    return;
  }
  const backend = dev.backendId;
  let port = -1;
  // gnttab_end_foreign_access: a page the backend still maps is retried later (deferred list).
  const ring = BlkfrontRing.setup(frontendIo(k, g, backend, () => port, true));
  if (!ring.ok) {
    dev.errors.push(ring.error);
    return;
  }
  const rc = allocFrontendEvtchn(k.h, k.events, backend, () => ring.value.onEvent());
  if (rc < 0) {
    ring.value.teardown();
    dev.errors.push(`blkfront: EVTCHNOP_alloc_unbound failed (${rc})`);
    return;
  }
  port = rc;
  d.ring = ring.value;
  d.port = port;
  const base = dev.nodename;
  yield* bus.xs.write(`${base}/ring-ref`, String(ring.value.ringRef));
  yield* bus.xs.write(`${base}/event-channel`, String(port));
  yield* bus.xs.write(`${base}/protocol`, XEN_IO_PROTO_ABI_X86_64);
}

function* readDiskInfo(k: BlkfrontHost, dev: FrontendDevice, bus: FrontendBus): KThread {
  const d = dataOf(dev);
  if (!d.ring) {
    dev.errors.push('blkfront: backend connected without a ring');
    return;
  }
  const be = dev.backendPath;
  const sectors = yield* bus.xs.readInt(`${be}/sectors`, -1);
  const info = yield* bus.xs.readInt(`${be}/info`, 0);
  const sectorSize = yield* bus.xs.readInt(`${be}/sector-size`, 512);
  const flushCache = (yield* bus.xs.readInt(`${be}/feature-flush-cache`, 0)) === 1;
  const barrier = (yield* bus.xs.readInt(`${be}/feature-barrier`, 0)) === 1;
  const discard = (yield* bus.xs.readInt(`${be}/feature-discard`, 0)) === 1;
  if (sectors < 0) {
    dev.errors.push(`blkfront: reading ${be}/sectors`);
    return;
  }
  const devid = Number(dev.id);
  const name = Number.isInteger(devid) ? vbdName(devid) : `xvd-${dev.id}`;
  if (d.disk?.name === name && k.blockDevices.includes(d.disk)) {
    // blkif_recover after a resume: the same disk on the new ring; waiting requests go out again.
    d.disk.reattach(d.ring, { sectors, info, sectorSize, flushCache, barrier, discard });
    k.printk(`blkfront: ${name}: reconnected, ${sectors} sectors`);
    return;
  }
  // blkif_open / blkif_release reach the handshake machine, which refuses a backend close while open.
  const disk = new XenBlockDevice(
    name,
    d.ring,
    { sectors, info, sectorSize, flushCache, barrier, discard },
    {
      opened: () => bus.send(dev, { type: 'DEVICE_OPENED' }),
      closed: () => bus.send(dev, { type: 'DEVICE_CLOSED' }),
    },
  );
  if (d.disk) {
    const i = k.blockDevices.indexOf(d.disk);
    if (i >= 0) k.blockDevices.splice(i, 1);
  }
  d.disk = disk;
  k.blockDevices.push(disk);
  k.printk(`blkfront: ${name}: ${sectors} sectors${disk.readOnly ? ', read-only' : ''}`);
}

function teardown(k: BlkfrontHost, dev: FrontendDevice): void {
  const d = dataOf(dev);
  if (d.disk) {
    d.disk.detach();
    const i = k.blockDevices.indexOf(d.disk);
    if (i >= 0) k.blockDevices.splice(i, 1);
    d.disk = null;
  }
  if (d.port >= 0) k.events.close(d.port);
  d.port = -1;
  d.ring?.teardown();
  d.ring = null;
}
