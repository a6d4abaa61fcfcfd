// xl network-attach / network-detach / network-list (libxl_nic.c libxl_device_nic_add/_remove,
// libxl_device_nic_list, libxl_device_nic_getinfo, libxl_devid_to_device_nic,
// libxl_mac_to_device_nic): the same vif path as at create, on a running domain.

import { ToolstackError, type NicInfo } from './api.js';
import { effectiveNic, parseMac, parseVifSpec } from './config/vif-spec.js';
import type { DomainRecord, VifRecord } from './domain-registry.js';
import type { LifecycleDeps } from './lifecycle.js';
import type { Op } from './task.js';
import {
  removeVifNodes,
  vifBackendPath,
  vifFrontendPath,
  waitVifAttached,
  waitVifDetached,
  writeVifNodes,
  type VifContext,
} from './vif.js';

type Outcome = { ok: true } | { ok: false; message: string };

export class NetworkDevices {
  private readonly deps: LifecycleDeps;

  constructor(deps: LifecycleDeps) {
    this.deps = deps;
  }

  private get ctx(): VifContext {
    const p = this.deps.platform;
    return { xs: this.deps.xs, clock: p.clock, network: p.network };
  }

  /** libxl_device_nic_add with devid -1: the next free devid (libxl__device_nextid). */
  *attachOp(rec: DomainRecord, spec: readonly string[]): Op<number> {
    const { xs, platform } = this.deps;
    const nextDevid = Math.max(-1, ...rec.vifs.keys()) + 1;
    const text = spec.join(',');
    const p = parseVifSpec(text, nextDevid);
    if (!p.ok) {
      const e = p.error;
      throw new ToolstackError(
        'INVAL',
        `${e.message}${e.near !== undefined && !e.message.includes(e.near) ? ` near \`${e.near}'` : ''}\n(${e.hint})`,
      );
    }
    // The spec's own devid= wins; otherwise parseVifSpec gave it nextDevid.
    const nic = p.nic;
    const devid = nic.devid;
    if (rec.vifs.has(devid) || xs.exists(vifBackendPath(rec.domid, devid)))
      throw new ToolstackError(
        'DEVICE_EXISTS',
        `device vif ${devid} already exists in domain ${rec.domid}`,
      );
    const eff = effectiveNic(nic, rec.domid, platform.random);
    for (const v of rec.vifs.values())
      if (v.mac === eff.mac)
        throw new ToolstackError(
          'DEVICE_EXISTS',
          `mac ${eff.mac} is already used by vif ${v.devid} of domain ${rec.domid}`,
        );
    const w = writeVifNodes(xs, rec.domid, nic, eff);
    if (!w.ok) {
      removeVifNodes(xs, rec.domid, devid);
      throw new ToolstackError('FAIL', `cannot write vif ${devid}: ${w.error}`);
    }
    const out = (yield waitVifAttached(this.ctx, rec.domid, w.value)) as Outcome;
    if (!out.ok) {
      platform.network?.vifOffline(rec.domid, devid);
      throw new ToolstackError('FAIL', `device vif ${devid}: ${out.message}`);
    }
    rec.vifs.set(devid, w.value);
    return devid;
  }

  /** `device` is a devid (atoi, as xl) or a MAC. */
  *detachOp(rec: DomainRecord, device: string): Op<void> {
    const v = findVif(rec, device);
    if (!v) throw new ToolstackError('NOTFOUND', `Unknown device ${device}.`);
    const out = (yield waitVifDetached(this.ctx, rec.domid, v, false)) as Outcome;
    if (!out.ok)
      throw new ToolstackError('FAIL', `unable to remove vif ${v.devid}: ${out.message}`);
    rec.vifs.delete(v.devid);
  }

  list(rec: DomainRecord): NicInfo[] {
    const xs = this.deps.xs;
    const out: NicInfo[] = [];
    for (const v of [...rec.vifs.values()].sort((a, b) => a.devid - b.devid)) {
      const fe = vifFrontendPath(rec.domid, v.devid);
      const num = (p: string): number => {
        const t = xs.read(p) ?? '';
        return /^-?[0-9]+$/.test(t) ? Number.parseInt(t, 10) : -1;
      };
      out.push({
        devid: v.devid,
        backendId: 0,
        frontendId: rec.domid,
        mac: v.mac,
        state: Math.max(0, num(`${fe}/state`)),
        evtch: num(`${fe}/event-channel`),
        rrefTx: num(`${fe}/tx-ring-ref`),
        rrefRx: num(`${fe}/rx-ring-ref`),
        backendPath: v.backendPath,
      });
    }
    return out;
  }
}

function findVif(rec: DomainRecord, device: string): VifRecord | undefined {
  if (device.includes(':')) {
    const mac = parseMac(device);
    return mac === undefined ? undefined : [...rec.vifs.values()].find((v) => v.mac === mac);
  }
  // atoi: leading digits, else 0.
  const m = /^\s*[+-]?[0-9]+/.exec(device);
  const devid = m ? Number.parseInt(m[0], 10) : 0;
  return rec.vifs.get(devid);
}
