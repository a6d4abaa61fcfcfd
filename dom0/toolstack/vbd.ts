// Virtual block devices from the toolstack side (libxl_disk.c device_disk_add, libxl_device.c
// libxl__wait_device_connection / libxl__initiate_device_generic_remove, hotplug/Linux/block):
// the xenstore directories of reference 6.1/6.2, the attach/detach wait driven by the
// device-attach machine, and the block hotplug script run in dom0.

import { XenbusState } from '../../hypercalls/io/xenbus.js';
import type { DiskSpec } from './config/disk-spec.js';
import { vdevToDevid } from './config/vdev.js';
import {
  waitDeviceAttached,
  waitDeviceDetached,
  type DeviceKindOps,
  type DeviceOutcome,
} from './device-attach-run.js';
import { resolveDom0Path } from './dom0-fs.js';
import type { VbdRecord } from './domain-registry.js';
import type { Dom0Clock, Dom0Filesystem } from './platform.js';
import type { Wait } from './task.js';
import type { XsClient, XsResult } from './xs-client.js';
import { domPath, libxlPath } from './xs-layout.js';

export interface VbdContext {
  readonly xs: XsClient;
  readonly clock: Dom0Clock;
  readonly fs: Dom0Filesystem;
}

export const vbdBackendPath = (domid: number, devid: number): string =>
  `/local/domain/0/backend/vbd/${domid}/${devid}`;
export const vbdFrontendPath = (domid: number, devid: number): string =>
  `${domPath(domid)}/device/vbd/${devid}`;

/** The checks libxl makes before touching xenstore: a devid for the vdev, and a target that exists. */
export function checkDisk(
  fs: Dom0Filesystem,
  disk: DiskSpec,
  cwd: string,
): { ok: true; devid: number; target: string } | { ok: false; message: string } {
  const id = vdevToDevid(disk.vdev);
  if (!id)
    return { ok: false, message: `Invalid or unsupported virtual disk identifier ${disk.vdev}` };
  if (disk.pdevPath === undefined || disk.pdevPath === '')
    return {
      ok: false,
      message: `disk ${disk.vdev}: no target (empty cdrom drives are not supported)`,
    };
  const target = resolveDom0Path(disk.pdevPath, cwd);
  const st = fs.stat(target);
  if (!st)
    return {
      ok: false,
      message: `Disk vdev=${disk.vdev} failed to stat: ${target}: No such file or directory`,
    };
  if (st.kind === 'dir')
    return { ok: false, message: `Disk vdev=${disk.vdev}: ${target} is a directory` };
  return { ok: true, devid: id.devid, target };
}

/** Writes both directories in one transaction (step 1 of reference 6.1). */
export function writeVbdNodes(
  xs: XsClient,
  fs: Dom0Filesystem,
  domid: number,
  disk: DiskSpec,
  devid: number,
  target: string,
): XsResult<VbdRecord> {
  const be = vbdBackendPath(domid, devid);
  const fe = vbdFrontendPath(domid, devid);
  const lp = `${libxlPath(domid)}/device/vbd/${devid}`;
  const isCd = disk.isCdrom;
  const r = xs.transact((tx) => {
    const w = (p: string, v: string): XsResult<void> => xs.write(p, v, tx);
    const steps: XsResult<void>[] = [
      xs.mkdir(be, tx),
      xs.setPerms(be, ['n0', `r${domid}`], tx),
      w(`${be}/frontend`, fe),
      w(`${be}/frontend-id`, String(domid)),
      w(`${be}/online`, '1'),
      w(`${be}/removable`, disk.removable ? '1' : '0'),
      w(`${be}/bootable`, '1'),
      w(`${be}/state`, String(XenbusState.Initialising)),
      w(`${be}/dev`, disk.vdev),
      w(`${be}/type`, disk.backend === 'phy' ? 'phy' : 'file'),
      w(`${be}/mode`, disk.readwrite ? 'w' : 'r'),
      w(`${be}/device-type`, isCd ? 'cdrom' : 'disk'),
      w(`${be}/discard-enable`, disk.discardEnable === false ? '0' : '1'),
      w(`${be}/params`, fs.hostPath(target)),
      w(`${be}/script`, '/etc/xen/scripts/block'),
      xs.mkdir(fe, tx),
      xs.setPerms(fe, [`n${domid}`, 'r0'], tx),
      w(`${fe}/backend`, be),
      w(`${fe}/backend-id`, '0'),
      w(`${fe}/state`, String(XenbusState.Initialising)),
      w(`${fe}/virtual-device`, String(devid)),
      w(`${fe}/device-type`, isCd ? 'cdrom' : 'disk'),
      w(`${fe}/trusted`, disk.trusted === false ? '0' : '1'),
      w(`${lp}/frontend`, fe),
      w(`${lp}/backend`, be),
    ];
    for (const s of steps) if (!s.ok) return s;
    return { ok: true, value: undefined };
  });
  if (!r.ok) return r;
  return { ok: true, value: { devid, vdev: disk.vdev, target, backendPath: be, frontendPath: fe } };
}

export function removeVbdNodes(xs: XsClient, domid: number, devid: number): void {
  xs.transact((tx) => {
    xs.rm(vbdBackendPath(domid, devid), tx);
    xs.rm(vbdFrontendPath(domid, devid), tx);
    xs.rm(`${libxlPath(domid)}/device/vbd/${devid}`, tx);
    return { ok: true, value: undefined };
  });
}

/** Host loop devices handed out by the block script (major 7). */
let nextLoop = 0;

/** hotplug/Linux/block for a file target: sets up a loop device and reports it. */
function runBlockHotplug(ctx: VbdContext, v: VbdRecord): string | null {
  const st = ctx.fs.stat(v.target);
  if (!st) return `/etc/xen/scripts/block failed; error detected: ${v.target} does not exist`;
  const minor = nextLoop++ & 0xff;
  ctx.xs.write(`${v.backendPath}/physical-device`, `7:${minor.toString(16)}`);
  ctx.xs.write(`${v.backendPath}/physical-device-path`, `/dev/loop${minor}`);
  ctx.xs.write(`${v.backendPath}/hotplug-status`, 'connected');
  return null;
}

type Outcome = DeviceOutcome;

function vbdOps(ctx: VbdContext, domid: number, v: VbdRecord): DeviceKindOps {
  return {
    backendPath: v.backendPath,
    hotplug: () => runBlockHotplug(ctx, v),
    hotplugRemove: () => undefined, // nothing to undo for a loop device here
    removePaths: () => removeVbdNodes(ctx.xs, domid, v.devid),
  };
}

/** Waits for the backend's InitWait and runs hotplug (reference 6.1 steps 2-3). */
export function waitVbdAttached(ctx: VbdContext, domid: number, v: VbdRecord): Wait<Outcome> {
  return waitDeviceAttached(ctx, vbdOps(ctx, domid, v));
}

/** Closes the device (online=0, state=5) and waits for backend Closed; `force` removes it anyway. */
export function waitVbdDetached(
  ctx: VbdContext,
  domid: number,
  v: VbdRecord,
  force: boolean,
): Wait<Outcome> {
  return waitDeviceDetached(ctx, vbdOps(ctx, domid, v), force);
}
