// xl block-attach / block-detach / block-list (libxl_disk.c libxl_device_disk_add/_remove,
// libxl_device_disk_list/_getinfo): the same vbd path as at create, on a running domain.

import { parseXenbusState } from '../../hypercalls/io/xenbus.js';
import { ToolstackError, type DiskInfo } from './api.js';
import { formatDiskSpecError, parseDiskSpec } from './config/disk-spec.js';
import { vdevToDevid } from './config/vdev.js';
import type { DomainRecord } from './domain-registry.js';
import type { LifecycleDeps } from './lifecycle.js';
import type { Op } from './task.js';
import {
  checkDisk,
  removeVbdNodes,
  vbdBackendPath,
  vbdFrontendPath,
  waitVbdAttached,
  waitVbdDetached,
  writeVbdNodes,
} from './vbd.js';

type Outcome = { ok: true } | { ok: false; message: string };

export class BlockDevices {
  private readonly deps: LifecycleDeps;

  constructor(deps: LifecycleDeps) {
    this.deps = deps;
  }

  private get ctx(): {
    xs: LifecycleDeps['xs'];
    clock: LifecycleDeps['platform']['clock'];
    fs: LifecycleDeps['platform']['fs'];
  } {
    return { xs: this.deps.xs, clock: this.deps.platform.clock, fs: this.deps.platform.fs };
  }

  *attachOp(rec: DomainRecord, spec: readonly string[]): Op<void> {
    const p = parseDiskSpec(spec.join(','));
    if (!p.ok) throw new ToolstackError('INVAL', formatDiskSpecError(p.error));
    const c = checkDisk(this.deps.platform.fs, p.disk, '/');
    if (!c.ok) throw new ToolstackError('FAIL', c.message);
    if (rec.vbds.has(c.devid) || this.deps.xs.exists(vbdBackendPath(rec.domid, c.devid)))
      throw new ToolstackError(
        'DEVICE_EXISTS',
        `device vbd ${p.disk.vdev} (${c.devid}) already exists in domain ${rec.domid}`,
      );
    const w = writeVbdNodes(
      this.deps.xs,
      this.deps.platform.fs,
      rec.domid,
      p.disk,
      c.devid,
      c.target,
    );
    if (!w.ok) {
      removeVbdNodes(this.deps.xs, rec.domid, c.devid);
      throw new ToolstackError('FAIL', `cannot write vbd ${p.disk.vdev}: ${w.error}`);
    }
    const out = (yield waitVbdAttached(this.ctx, rec.domid, w.value)) as Outcome;
    if (!out.ok)
      throw new ToolstackError('FAIL', `device vbd ${p.disk.vdev} (${c.devid}): ${out.message}`);
    rec.vbds.set(c.devid, w.value);
  }

  *detachOp(rec: DomainRecord, vdev: string, force: boolean): Op<void> {
    const byNumber = /^[0-9]+$/.test(vdev) ? Number.parseInt(vdev, 10) : undefined;
    const devid = byNumber ?? vdevToDevid(vdev)?.devid;
    const v = devid === undefined ? undefined : rec.vbds.get(devid);
    if (!v) throw new ToolstackError('NOTFOUND', `Error: Device ${vdev} not connected.`);
    const out = (yield waitVbdDetached(this.ctx, rec.domid, v, force)) as Outcome;
    if (!out.ok)
      throw new ToolstackError('FAIL', `unable to detach device ${vdev}: ${out.message}`);
    rec.vbds.delete(v.devid);
  }

  list(rec: DomainRecord): DiskInfo[] {
    const xs = this.deps.xs;
    const out: DiskInfo[] = [];
    for (const d of [...rec.vbds.values()].sort((a, b) => a.devid - b.devid)) {
      const fe = vbdFrontendPath(rec.domid, d.devid);
      const st = parseXenbusState(xs.read(`${fe}/state`) ?? '0');
      const num = (p: string): number => {
        const n = Number.parseInt(xs.read(p) ?? '', 10);
        return Number.isFinite(n) ? n : -1;
      };
      out.push({
        devid: d.devid,
        backendId: 0,
        frontendId: rec.domid,
        state: st.ok ? st.value : 0,
        evtch: num(`${fe}/event-channel`),
        rref: num(`${fe}/ring-ref`),
        backendPath: d.backendPath,
      });
    }
    return out;
  }
}
