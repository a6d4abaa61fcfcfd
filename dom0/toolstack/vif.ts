// Virtual network interfaces from the toolstack side (libxl_nic.c libxl__device_nic_setdefault,
// libxl__set_xenstore_nic, libxl__nic_from_xenstore; libxl_device.c for the wait): the xenstore
// directories of reference 6.3, and the attach/detach waits with the vif-bridge hotplug step that
// dom0's network plumbing (Dom0Platform.network) runs.

import { XenbusState } from '../../hypercalls/io/xenbus.js';
import type { EffectiveNic, NicSpec } from './config/vif-spec.js';
import {
  waitDeviceAttached,
  waitDeviceDetached,
  type DeviceKindOps,
  type DeviceOutcome,
} from './device-attach-run.js';
import type { VifRecord } from './domain-registry.js';
import type { Dom0Clock, Dom0Network } from './platform.js';
import type { Wait } from './task.js';
import type { XsClient, XsResult } from './xs-client.js';
import { domPath, libxlPath } from './xs-layout.js';

export interface VifContext {
  readonly xs: XsClient;
  readonly clock: Dom0Clock;
  readonly network: Dom0Network | undefined;
}

export const vifBackendPath = (domid: number, devid: number): string =>
  `/local/domain/0/backend/vif/${domid}/${devid}`;
export const vifFrontendPath = (domid: number, devid: number): string =>
  `${domPath(domid)}/device/vif/${devid}`;

/** The script path libxl writes: a bare name is under /etc/xen/scripts. */
function scriptPath(script: string): string {
  return script.startsWith('/') ? script : `/etc/xen/scripts/${script}`;
}

/** Writes both directories in one transaction (reference 6.3, toolstack row). */
export function writeVifNodes(
  xs: XsClient,
  domid: number,
  nic: NicSpec,
  eff: EffectiveNic,
): XsResult<VifRecord> {
  const devid = eff.devid;
  const be = vifBackendPath(domid, devid);
  const fe = vifFrontendPath(domid, devid);
  const lp = `${libxlPath(domid)}/device/vif/${devid}`;
  const r = xs.transact((tx) => {
    const w = (p: string, v: string): XsResult<void> => xs.write(p, v, tx);
    const optional: [string, string | undefined][] = [
      ['vifname', nic.ifname],
      ['ip', nic.ip],
      [
        'rate',
        nic.rateBytesPerInterval === undefined
          ? undefined
          : `${nic.rateBytesPerInterval},${nic.rateIntervalUsecs ?? 50000}`,
      ],
      ['vlan', nic.vlan?.spec],
      ['gatewaydev', nic.gatewaydev],
    ];
    const steps: XsResult<void>[] = [
      xs.mkdir(be, tx),
      xs.setPerms(be, ['n0', `r${domid}`], tx),
      w(`${be}/frontend`, fe),
      w(`${be}/frontend-id`, String(domid)),
      w(`${be}/online`, '1'),
      w(`${be}/state`, String(XenbusState.Initialising)),
      w(`${be}/script`, scriptPath(eff.script)),
      w(`${be}/mac`, eff.mac),
      w(`${be}/bridge`, eff.bridge),
      w(`${be}/handle`, String(devid)),
      w(`${be}/type`, eff.nictype),
      w(`${be}/mtu`, String(eff.mtu)),
      ...optional.flatMap(([k, v]) => (v === undefined ? [] : [w(`${be}/${k}`, v)])),
      w(`${be}/hotplug-status`, ''),
      xs.mkdir(fe, tx),
      xs.setPerms(fe, [`n${domid}`, 'r0'], tx),
      w(`${fe}/backend`, be),
      w(`${fe}/backend-id`, '0'),
      w(`${fe}/state`, String(XenbusState.Initialising)),
      w(`${fe}/handle`, String(devid)),
      w(`${fe}/mac`, eff.mac),
      w(`${fe}/trusted`, nic.trusted === false ? '0' : '1'),
      // The MTU is the toolstack's to set: the guest may read it, not change it.
      w(`${fe}/mtu`, String(eff.mtu)),
      xs.setPerms(`${fe}/mtu`, ['n0', `r${domid}`], tx),
      w(`${lp}/frontend`, fe),
      w(`${lp}/backend`, be),
    ];
    for (const s of steps) if (!s.ok) return s;
    return { ok: true, value: undefined };
  });
  if (!r.ok) return r;
  return {
    ok: true,
    value: {
      devid,
      mac: eff.mac,
      bridge: eff.bridge,
      vifname: eff.ifname,
      backendPath: be,
      frontendPath: fe,
    },
  };
}

export function removeVifNodes(xs: XsClient, domid: number, devid: number): void {
  xs.transact((tx) => {
    xs.rm(vifBackendPath(domid, devid), tx);
    xs.rm(vifFrontendPath(domid, devid), tx);
    xs.rm(`${libxlPath(domid)}/device/vif/${devid}`, tx);
    return { ok: true, value: undefined };
  });
}

function vifOps(ctx: VifContext, domid: number, v: VifRecord): DeviceKindOps {
  return {
    backendPath: v.backendPath,
    hotplug: () => {
      if (!ctx.network) {
        const msg = '/etc/xen/scripts/vif-bridge failed; error detected: no bridges on this host';
        ctx.xs.write(`${v.backendPath}/hotplug-status`, 'error');
        return msg;
      }
      const e = ctx.network.vifOnline(domid, v.devid);
      return e === null ? null : `/etc/xen/scripts/vif-bridge failed; error detected: ${e}`;
    },
    hotplugRemove: () => ctx.network?.vifOffline(domid, v.devid),
    removePaths: () => removeVifNodes(ctx.xs, domid, v.devid),
  };
}

/** Waits for netback's InitWait and runs vif-bridge online (reference 6.1 steps 2-3). */
export function waitVifAttached(ctx: VifContext, domid: number, v: VifRecord): Wait<DeviceOutcome> {
  return waitDeviceAttached(ctx, vifOps(ctx, domid, v));
}

/** online=0, state=5, wait for Closed, vif-bridge offline, remove the paths. */
export function waitVifDetached(
  ctx: VifContext,
  domid: number,
  v: VifRecord,
  force: boolean,
): Wait<DeviceOutcome> {
  return waitDeviceDetached(ctx, vifOps(ctx, domid, v), force);
}
