// HYPERVISOR_sysctl: host-wide control for the toolstack (xen/common/sysctl.c do_sysctl), control domain only.

import {
  XEN_EACCES,
  XEN_EFAULT,
  XEN_EINVAL,
  XEN_ENOSYS,
  XEN_EPERM,
  XEN_ESRCH,
  err,
  ok,
  type XenResult,
} from '../hypercalls/errno.js';
import {
  XEN_SYSCTL_INTERFACE_VERSION,
  XEN_SYSCTL_PHYSCAP_pv,
  XEN_SYSCTL_SCHEDOP_getinfo,
  XEN_SYSCTL_SCHEDOP_putinfo,
  XEN_SYSCTL_getdomaininfolist,
  XEN_SYSCTL_physinfo,
  XEN_SYSCTL_readconsole,
  XEN_SYSCTL_sched_id,
  XEN_SYSCTL_scheduler_op,
} from '../hypercalls/sysctl.js';
import { U16_MAX, U32_MAX, intField, struct } from './args.js';
import { fillDomainInfo } from './domain-info.js';
import type { Domain } from './domain.js';
import type { Hypervisor } from './hypervisor.js';

export function sysctl(hv: Hypervisor, caller: Domain, arg: unknown): XenResult<number> {
  const op = struct(arg);
  if (!op) return err(XEN_EFAULT);
  if (op.interface_version !== XEN_SYSCTL_INTERFACE_VERSION) return err(XEN_EACCES);
  if (!caller.privileged) return err(XEN_EPERM);
  const o = struct(op.u);
  if (!o) return err(XEN_EFAULT);
  switch (op.cmd) {
    case XEN_SYSCTL_readconsole: {
      const buf = o.buffer;
      const count = intField(o, 'count', 0, U32_MAX);
      if (!(buf instanceof Uint8Array) || Number.isNaN(count)) return err(XEN_EFAULT);
      const index = intField(o, 'index', 0, Number.MAX_SAFE_INTEGER);
      const r = hv.console.read(
        buf.subarray(0, Math.min(count, buf.length)),
        o.incremental === 1 || o.incremental === true,
        Number.isNaN(index) ? 0 : index,
        o.clear === 1 || o.clear === true,
      );
      o.count = r.count;
      o.index = r.index;
      return ok(0);
    }
    case XEN_SYSCTL_physinfo: {
      const total = hv.totalPages;
      o.threads_per_core = 1;
      o.cores_per_socket = hv.nrPcpus;
      o.nr_cpus = hv.nrPcpus;
      o.max_cpu_id = hv.nrPcpus - 1;
      o.nr_nodes = 1;
      o.max_node_id = 0;
      o.cpu_khz = hv.cpuKhz;
      o.capabilities = XEN_SYSCTL_PHYSCAP_pv;
      o.total_pages = total;
      o.free_pages = Math.max(0, total - hv.usedPages());
      o.scrub_pages = 0;
      o.outstanding_pages = 0;
      o.max_mfn = total - 1;
      o.hw_cap = [0, 0, 0, 0, 0, 0, 0, 0];
      return ok(0);
    }
    case XEN_SYSCTL_sched_id:
      o.sched_id = hv.sched.id;
      return ok(0);
    case XEN_SYSCTL_getdomaininfolist: {
      const first = intField(o, 'first_domain', 0, U16_MAX);
      const max = intField(o, 'max_domains', 0, U32_MAX);
      const buf = o.buffer;
      if (Number.isNaN(first) || Number.isNaN(max) || !Array.isArray(buf)) return err(XEN_EFAULT);
      let n = 0;
      for (const d of hv.domains()) {
        if (n >= max) break;
        if (d.domid < first) continue;
        const info: Record<string, unknown> = {};
        fillDomainInfo(hv, d, info);
        buf[n++] = info;
      }
      o.num_domains = n;
      return ok(0);
    }
    case XEN_SYSCTL_scheduler_op: {
      if (o.cpupool_id !== 0) return err(XEN_ESRCH);
      if (o.sched_id !== hv.sched.id) return err(XEN_EINVAL);
      if (o.cmd === XEN_SYSCTL_SCHEDOP_getinfo) {
        const p = hv.sched.getParams();
        o.u = {
          tslice_ms: p.tsliceMs,
          ratelimit_us: p.ratelimitUs,
          vcpu_migr_delay_us: p.vcpuMigrDelayUs,
        };
        return ok(0);
      }
      if (o.cmd !== XEN_SYSCTL_SCHEDOP_putinfo) return err(XEN_EINVAL);
      const u = struct(o.u);
      if (!u) return err(XEN_EFAULT);
      const cur = hv.sched.getParams();
      return hv.sched.setParams({
        tsliceMs: u.tslice_ms === undefined ? cur.tsliceMs : numOrNaN(u.tslice_ms),
        ratelimitUs: u.ratelimit_us === undefined ? cur.ratelimitUs : numOrNaN(u.ratelimit_us),
        vcpuMigrDelayUs:
          u.vcpu_migr_delay_us === undefined ? cur.vcpuMigrDelayUs : numOrNaN(u.vcpu_migr_delay_us),
      });
    }
    default:
      return err(XEN_ENOSYS);
  }
}

const numOrNaN = (x: unknown): number => (typeof x === 'number' ? x : NaN);
