// HYPERVISOR_domctl: the toolstack's per-domain control (xen/common/domctl.c do_domctl), control
// domain only under XSM's dummy policy.

import {
  XEN_DOMCTL_CDF_hvm,
  XEN_DOMCTL_INTERFACE_VERSION,
  XEN_DOMCTL_SCHEDOP_getinfo,
  XEN_DOMCTL_SCHEDOP_putinfo,
  XEN_DOMCTL_createdomain,
  XEN_DOMCTL_destroydomain,
  XEN_DOMCTL_getdomaininfo,
  XEN_DOMCTL_getvcpuaffinity,
  XEN_DOMCTL_getvcpuinfo,
  XEN_DOMCTL_max_mem,
  XEN_DOMCTL_max_vcpus,
  XEN_DOMCTL_pausedomain,
  XEN_DOMCTL_resumedomain,
  XEN_DOMCTL_scheduler_op,
  XEN_DOMCTL_set_virq_handler,
  XEN_DOMCTL_setvcpuaffinity,
  XEN_DOMCTL_setvcpucontext,
  XEN_DOMCTL_shadow_op,
  XEN_DOMCTL_subscribe,
  XEN_DOMCTL_unpausedomain,
  XEN_VCPUAFFINITY_HARD,
  XEN_VCPUAFFINITY_SOFT,
} from '../hypercalls/domctl.js';
import {
  XEN_EACCES,
  XEN_EFAULT,
  XEN_EINVAL,
  XEN_ENOSYS,
  XEN_EOPNOTSUPP,
  XEN_EPERM,
  XEN_ESRCH,
  err,
  ok,
  type XenResult,
} from '../hypercalls/errno.js';
import { asDomId } from '../hypercalls/types.js';
import { NR_VIRQS, VIRQ_KIND, virqKind } from '../hypercalls/virq.js';
import { DOMID_FIRST_RESERVED } from '../hypercalls/xen.js';
import { U16_MAX, U32_MAX, intField, struct } from './args.js';
import { fillDomainInfo } from './domain-info.js';
import type { Domain, Vcpu } from './domain.js';
import { MAX_VIRT_CPUS, type Hypervisor } from './hypervisor.js';
import { setVcpuContext } from './vcpu-context.js';

export function domctl(hv: Hypervisor, caller: Domain, arg: unknown): XenResult<number> {
  const op = struct(arg);
  if (!op) return err(XEN_EFAULT);
  if (op.interface_version !== XEN_DOMCTL_INTERFACE_VERSION) return err(XEN_EACCES);
  if (!caller.privileged) return err(XEN_EPERM);
  const cmd = op.cmd;
  if (cmd === XEN_DOMCTL_createdomain) return createDomain(hv, op);
  const domid = intField(op, 'domain', 0, U16_MAX);
  const d = Number.isNaN(domid) ? undefined : hv.domain(domid);
  if (!d) return typeof cmd === 'number' && isKnown(cmd) ? err(XEN_ESRCH) : err(XEN_ENOSYS);
  const u = op.u;
  switch (cmd) {
    case XEN_DOMCTL_destroydomain:
      if (d === caller) return err(XEN_EINVAL);
      hv.destroyDomain(d);
      return ok(0);
    case XEN_DOMCTL_pausedomain:
      if (d === caller) return err(XEN_EINVAL);
      if (d.dying) return err(XEN_EINVAL);
      return hv.pauseByController(d);
    case XEN_DOMCTL_unpausedomain:
      if (d.dying) return err(XEN_EINVAL);
      return hv.unpauseByController(d);
    case XEN_DOMCTL_resumedomain:
      if (d === caller) return err(XEN_EINVAL);
      hv.resumeDomain(d);
      return ok(0);
    case XEN_DOMCTL_getdomaininfo: {
      const o = struct(u);
      if (!o) return err(XEN_EFAULT);
      fillDomainInfo(hv, d, o);
      return ok(0);
    }
    case XEN_DOMCTL_max_vcpus: {
      const o = struct(u);
      if (!o) return err(XEN_EFAULT);
      const max = intField(o, 'max', 0, U32_MAX);
      if (Number.isNaN(max) || max > MAX_VIRT_CPUS || max < d.vcpus.length) return err(XEN_EINVAL);
      hv.growVcpus(d, max);
      return ok(0);
    }
    case XEN_DOMCTL_max_mem: {
      const o = struct(u);
      if (!o) return err(XEN_EFAULT);
      const kb = o.max_memkb;
      if (typeof kb !== 'number' || !Number.isSafeInteger(kb) || kb < 0) return err(XEN_EINVAL);
      d.maxMemKb = kb;
      hv.memory?.setMaxPages(asDomId(d.domid), Math.floor(kb / 4));
      return ok(0);
    }
    case XEN_DOMCTL_shadow_op:
      return hv.memory ? hv.memory.shadowOp(asDomId(d.domid), u) : err(XEN_ENOSYS);
    case XEN_DOMCTL_setvcpucontext:
      return setVcpuContext(hv, caller, d, u);
    case XEN_DOMCTL_setvcpuaffinity:
      return setAffinity(hv, d, u);
    case XEN_DOMCTL_getvcpuaffinity:
      return getAffinity(hv, d, u);
    case XEN_DOMCTL_getvcpuinfo: {
      const o = struct(u);
      if (!o) return err(XEN_EFAULT);
      const v = vcpuOf(d, o.vcpu);
      if (!v) return err(XEN_EINVAL);
      o.online = v.online ? 1 : 0;
      o.blocked = v.blocked ? 1 : 0;
      o.running = v.runningOn >= 0 ? 1 : 0;
      o.cpu_time = hv.runstateTime(v, 0);
      o.cpu = v.processor;
      return ok(0);
    }
    case XEN_DOMCTL_scheduler_op:
      return schedulerOp(hv, d, u);
    case XEN_DOMCTL_subscribe: {
      const o = struct(u);
      if (!o) return err(XEN_EFAULT);
      const port = intField(o, 'port', 0, U32_MAX);
      if (Number.isNaN(port)) return err(XEN_EINVAL);
      d.suspendEvtchn = port;
      return ok(0);
    }
    case XEN_DOMCTL_set_virq_handler: {
      const o = struct(u);
      if (!o) return err(XEN_EFAULT);
      const virq = intField(o, 'virq', 0, NR_VIRQS - 1);
      if (Number.isNaN(virq) || virqKind(virq) !== VIRQ_KIND.Global) return err(XEN_EINVAL);
      hv.globalVirqHandlerDom[virq] = d.domid;
      return ok(0);
    }
    default:
      return err(XEN_ENOSYS);
  }
}

function isKnown(cmd: number): boolean {
  return [2, 3, 4, 5, 9, 10, 11, 12, 14, 15, 16, 25, 27, 29, 66].includes(cmd);
}

function createDomain(hv: Hypervisor, op: Record<string, unknown>): XenResult<number> {
  const c = struct(op.u);
  if (!c) return err(XEN_EFAULT);
  const flags = intField(c, 'flags', 0, U32_MAX);
  const maxVcpus = intField(c, 'max_vcpus', 0, U32_MAX);
  const maxPort = intField(c, 'max_evtchn_port', 0, U32_MAX);
  const maxGrant =
    c.max_grant_frames === undefined ? 64 : intField(c, 'max_grant_frames', 0, U32_MAX);
  if ([flags, maxVcpus, maxPort, maxGrant].some(Number.isNaN)) return err(XEN_EINVAL);
  if ((flags & XEN_DOMCTL_CDF_hvm) !== 0) return err(XEN_EOPNOTSUPP); // PV-only host
  const want = intField(op, 'domain', 0, U32_MAX);
  const handle = c.handle instanceof Uint8Array && c.handle.length === 16 ? c.handle : undefined;
  const r = hv.createDomain({
    domid: Number.isNaN(want) || want >= DOMID_FIRST_RESERVED ? 0 : want,
    maxVcpus,
    maxEvtchnPort: maxPort,
    maxGrantFrames: maxGrant,
    ...(handle ? { handle } : {}),
  });
  if (!r.ok) return r;
  op.domain = r.value.domid;
  return ok(0);
}

function vcpuOf(d: Domain, x: unknown): Vcpu | undefined {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 ? d.vcpus[x] : undefined;
}

function readMap(hv: Hypervisor, x: unknown): Uint8Array | null {
  if (!Array.isArray(x)) return null;
  const m = new Uint8Array(hv.nrPcpus);
  for (let i = 0; i < hv.nrPcpus; i++) m[i] = x[i] === true ? 1 : 0;
  return m;
}

function setAffinity(hv: Hypervisor, d: Domain, u: unknown): XenResult<number> {
  const o = struct(u);
  if (!o) return err(XEN_EFAULT);
  const v = vcpuOf(d, o.vcpu);
  if (!v) return err(XEN_EINVAL);
  const flags = intField(o, 'flags', 0, U32_MAX);
  if (Number.isNaN(flags) || (flags & (XEN_VCPUAFFINITY_HARD | XEN_VCPUAFFINITY_SOFT)) === 0)
    return err(XEN_EINVAL);
  const hard = flags & XEN_VCPUAFFINITY_HARD ? readMap(hv, o.cpumap_hard) : v.hard;
  const soft = flags & XEN_VCPUAFFINITY_SOFT ? readMap(hv, o.cpumap_soft) : v.soft;
  if (!hard || !soft) return err(XEN_EFAULT);
  if (!hard.includes(1)) return err(XEN_EINVAL); // no online pCPU in the hard affinity
  hv.setAffinity(v, hard, soft);
  o.cpumap_hard = [...v.hard].map((b) => b === 1);
  o.cpumap_soft = [...v.soft].map((b, i) => b === 1 && v.hard[i] === 1);
  return ok(0);
}

function getAffinity(_hv: Hypervisor, d: Domain, u: unknown): XenResult<number> {
  const o = struct(u);
  if (!o) return err(XEN_EFAULT);
  const v = vcpuOf(d, o.vcpu);
  if (!v) return err(XEN_EINVAL);
  const flags = intField(o, 'flags', 0, U32_MAX);
  if (Number.isNaN(flags) || (flags & (XEN_VCPUAFFINITY_HARD | XEN_VCPUAFFINITY_SOFT)) === 0)
    return err(XEN_EINVAL);
  if (flags & XEN_VCPUAFFINITY_HARD) o.cpumap_hard = [...v.hard].map((b) => b === 1);
  if (flags & XEN_VCPUAFFINITY_SOFT) o.cpumap_soft = [...v.soft].map((b) => b === 1);
  return ok(0);
}

function schedulerOp(hv: Hypervisor, d: Domain, u: unknown): XenResult<number> {
  const o = struct(u);
  if (!o) return err(XEN_EFAULT);
  if (o.sched_id !== hv.sched.id) return err(XEN_EINVAL);
  if (o.cmd === XEN_DOMCTL_SCHEDOP_getinfo) {
    o.u = { weight: d.weight, cap: d.cap };
    return ok(0);
  }
  if (o.cmd !== XEN_DOMCTL_SCHEDOP_putinfo) return err(XEN_EINVAL);
  const p = struct(o.u);
  if (!p) return err(XEN_EFAULT);
  const r = hv.sched.setDomainParams(d, num(p.weight, 0), num(p.cap, 0xffff));
  if (r.ok) hv.sched.domainParamsChanged(d);
  return r;
}

const num = (x: unknown, dflt: number): number =>
  x === undefined ? dflt : typeof x === 'number' ? x : NaN;
