// libxenctrl for the toolstack (tools/libs/ctrl/xc_domain.c, xc_private.c, xc_evtchn.c): thin typed
// wrappers that fill the domctl/sysctl structs, make the hypercall and return a XenResult.

import {
  XEN_DOMCTL_INTERFACE_VERSION,
  XEN_DOMCTL_SCHEDOP_getinfo,
  XEN_DOMCTL_SCHEDOP_putinfo,
  XEN_DOMCTL_createdomain,
  XEN_DOMCTL_destroydomain,
  XEN_DOMCTL_getdomaininfo,
  XEN_DOMCTL_getvcpuinfo,
  XEN_DOMCTL_max_mem,
  XEN_DOMCTL_max_vcpus,
  XEN_DOMCTL_pausedomain,
  XEN_DOMCTL_resumedomain,
  XEN_DOMCTL_scheduler_op,
  XEN_DOMCTL_setvcpuaffinity,
  XEN_DOMCTL_shadow_op,
  XEN_DOMCTL_setvcpucontext,
  XEN_DOMCTL_getvcpuaffinity,
  XEN_DOMCTL_unpausedomain,
  type XenDomctl,
  type XenDomctlCreateDomain,
  type XenDomctlGetDomainInfo,
  type XenDomctlGetVcpuInfo,
  type XenDomctlSchedCredit,
  type XenDomctlVcpuAffinity,
} from '../../hypercalls/domctl.js';
import { err, ok, type XenResult } from '../../hypercalls/errno.js';
import { EVTCHNOP_alloc_unbound, type EvtchnAllocUnbound } from '../../hypercalls/event-channel.js';
import {
  GNTTABOP_setup_table,
  GNTST_okay,
  type gnttab_setup_table,
} from '../../hypercalls/grant-table.js';
import type { HypercallInterface } from '../../hypercalls/guest-interface.js';
import {
  XENMEM_decrease_reservation,
  XENMEM_populate_physmap,
  type xen_domctl_shadow_op,
  type xen_memory_reservation,
} from '../../hypercalls/memory.js';
import {
  XEN_SYSCTL_INTERFACE_VERSION,
  XEN_SYSCTL_SCHEDOP_getinfo,
  XEN_SYSCTL_SCHEDOP_putinfo,
  XEN_SYSCTL_physinfo,
  XEN_SYSCTL_readconsole,
  XEN_SYSCTL_sched_id,
  XEN_SYSCTL_scheduler_op,
  type XenSysctl,
  type XenSysctlCreditSchedule,
  type XenSysctlPhysinfo,
  type XenSysctlReadconsole,
  type XenSysctlSchedId,
} from '../../hypercalls/sysctl.js';
import type { KernelVcpuContext } from './kernel-image.js';

function rcResult<T>(rc: number, value: () => T): XenResult<T> {
  return rc < 0 ? err(-rc) : ok(value());
}

export class Xc {
  private readonly h: HypercallInterface;

  constructor(h: HypercallInterface) {
    this.h = h;
  }

  private domctl<U>(cmd: number, domain: number, u: U): { rc: number; op: XenDomctl } {
    const op: XenDomctl = { cmd, interface_version: XEN_DOMCTL_INTERFACE_VERSION, domain, u };
    return { rc: this.h.domctl(op), op };
  }

  private sysctl<U>(cmd: number, u: U): number {
    const op: XenSysctl = { cmd, interface_version: XEN_SYSCTL_INTERFACE_VERSION, u };
    return this.h.sysctl(op);
  }

  /** xc_domain_create: `domid` 0 lets Xen choose; the new domain is paused. */
  domainCreate(cfg: XenDomctlCreateDomain, domid = 0): XenResult<number> {
    const { rc, op } = this.domctl(XEN_DOMCTL_createdomain, domid, cfg);
    return rcResult(rc, () => op.domain);
  }

  destroy(domid: number): XenResult<number> {
    return rcResult(this.domctl(XEN_DOMCTL_destroydomain, domid, {}).rc, () => 0);
  }

  pause(domid: number): XenResult<number> {
    return rcResult(this.domctl(XEN_DOMCTL_pausedomain, domid, {}).rc, () => 0);
  }

  unpause(domid: number): XenResult<number> {
    return rcResult(this.domctl(XEN_DOMCTL_unpausedomain, domid, {}).rc, () => 0);
  }

  resume(domid: number): XenResult<number> {
    return rcResult(this.domctl(XEN_DOMCTL_resumedomain, domid, {}).rc, () => 0);
  }

  /**
   * xc_shadow_control: log-dirty on/off, and CLEAN/PEEK into `bitmap` (bit i = pfn i) for `pages`
   * pfns. Resolves with the op struct (pages reported, stats).
   */
  shadowControl(
    domid: number,
    op: number,
    bitmap: Uint8Array | null = null,
    pages = 0,
  ): XenResult<xen_domctl_shadow_op> {
    const u: xen_domctl_shadow_op = { op, dirty_bitmap: bitmap, pages };
    return rcResult(this.domctl(XEN_DOMCTL_shadow_op, domid, u).rc, () => u);
  }

  /** xc_domain_getinfo_single: ESRCH when the domain does not exist. */
  getInfo(domid: number): XenResult<XenDomctlGetDomainInfo> {
    const u = { domain: domid } as XenDomctlGetDomainInfo;
    const { rc } = this.domctl(XEN_DOMCTL_getdomaininfo, domid, u);
    return rcResult(rc, () => u);
  }

  maxVcpus(domid: number, max: number): XenResult<number> {
    return rcResult(this.domctl(XEN_DOMCTL_max_vcpus, domid, { max }).rc, () => 0);
  }

  maxMem(domid: number, maxMemKb: number): XenResult<number> {
    return rcResult(this.domctl(XEN_DOMCTL_max_mem, domid, { max_memkb: maxMemKb }).rc, () => 0);
  }

  /** XEN_DOMCTL_setvcpucontext carrying the kernel reference (see kernel-image.ts). */
  setVcpuContext(domid: number, ctxt: KernelVcpuContext): XenResult<number> {
    return rcResult(this.domctl(XEN_DOMCTL_setvcpucontext, domid, ctxt).rc, () => 0);
  }

  setVcpuAffinity(domid: number, a: XenDomctlVcpuAffinity): XenResult<number> {
    return rcResult(this.domctl(XEN_DOMCTL_setvcpuaffinity, domid, a).rc, () => 0);
  }

  getVcpuAffinity(domid: number, vcpu: number): XenResult<XenDomctlVcpuAffinity> {
    const u: XenDomctlVcpuAffinity = { vcpu, flags: 3, cpumap_hard: [], cpumap_soft: [] };
    return rcResult(this.domctl(XEN_DOMCTL_getvcpuaffinity, domid, u).rc, () => u);
  }

  getVcpuInfo(domid: number, vcpu: number): XenResult<XenDomctlGetVcpuInfo> {
    const u: XenDomctlGetVcpuInfo = {
      vcpu,
      online: 0,
      blocked: 0,
      running: 0,
      cpu_time: 0,
      cpu: 0,
    };
    return rcResult(this.domctl(XEN_DOMCTL_getvcpuinfo, domid, u).rc, () => u);
  }

  schedGet(domid: number, schedId: number): XenResult<XenDomctlSchedCredit> {
    const u = { sched_id: schedId, cmd: XEN_DOMCTL_SCHEDOP_getinfo, u: { weight: 0, cap: 0 } };
    return rcResult(this.domctl(XEN_DOMCTL_scheduler_op, domid, u).rc, () => u.u);
  }

  schedSet(domid: number, schedId: number, p: XenDomctlSchedCredit): XenResult<number> {
    const u = { sched_id: schedId, cmd: XEN_DOMCTL_SCHEDOP_putinfo, u: p };
    return rcResult(this.domctl(XEN_DOMCTL_scheduler_op, domid, u).rc, () => 0);
  }

  /** EVTCHNOP_alloc_unbound in `dom` for `remote`: the new port. */
  allocUnbound(dom: number, remote: number): XenResult<number> {
    const a: EvtchnAllocUnbound = { dom, remote_dom: remote, port: 0 };
    const rc = this.h.event_channel_op(EVTCHNOP_alloc_unbound, a);
    return rcResult(rc, () => a.port);
  }

  /** XENMEM_populate_physmap for `domid` at `pfns` (order 0): pages done (may be partial). */
  /**
   * xc_domain_populate_physmap: the number of pfns populated, and for a PV domain each one's new
   * MFN (Xen writes it back over the pfn in extent_start, xen/common/memory.c populate_physmap).
   * `pfns` is left as it was.
   */
  populatePhysmap(
    domid: number,
    pfns: readonly number[],
  ): XenResult<{ count: number; mfns: number[] }> {
    const extents = [...pfns];
    const r: xen_memory_reservation = {
      extent_start: extents,
      nr_extents: pfns.length,
      extent_order: 0,
      mem_flags: 0,
      domid,
    };
    const rc = this.h.memory_op(XENMEM_populate_physmap, r);
    return rcResult(rc, () => ({ count: rc, mfns: extents.slice(0, rc) }));
  }

  decreaseReservation(domid: number, gmfns: number[]): XenResult<number> {
    const r: xen_memory_reservation = {
      extent_start: gmfns,
      nr_extents: gmfns.length,
      extent_order: 0,
      mem_flags: 0,
      domid,
    };
    const rc = this.h.memory_op(XENMEM_decrease_reservation, r);
    return rcResult(rc, () => rc);
  }

  /** GNTTABOP_setup_table on another domain: the MFNs of its first `nr` grant-table frames. */
  grantFrames(domid: number, nr: number): XenResult<number[]> {
    const op: gnttab_setup_table = {
      dom: domid,
      nr_frames: nr,
      frame_list: new Array<number>(nr).fill(0),
    };
    const rc = this.h.grant_table_op(GNTTABOP_setup_table, [op], 1);
    if (rc < 0) return err(-rc);
    if (op.status !== GNTST_okay || !op.frame_list) return err(22 /* EINVAL */);
    return ok(op.frame_list);
  }

  physinfo(): XenResult<XenSysctlPhysinfo> {
    const u = {} as XenSysctlPhysinfo;
    return rcResult(this.sysctl(XEN_SYSCTL_physinfo, u), () => u);
  }

  schedId(): XenResult<number> {
    const u: XenSysctlSchedId = { sched_id: 0 };
    return rcResult(this.sysctl(XEN_SYSCTL_sched_id, u), () => u.sched_id);
  }

  readConsole(clear: boolean): XenResult<Uint8Array> {
    const u: XenSysctlReadconsole = {
      clear: clear ? 1 : 0,
      incremental: 0,
      index: 0,
      count: 1 << 20,
      buffer: new Uint8Array(1 << 20),
    };
    const rc = this.sysctl(XEN_SYSCTL_readconsole, u);
    return rcResult(rc, () => u.buffer.subarray(0, u.count));
  }

  poolSchedGet(poolId: number, schedId: number): XenResult<XenSysctlCreditSchedule> {
    const u = {
      cpupool_id: poolId,
      sched_id: schedId,
      cmd: XEN_SYSCTL_SCHEDOP_getinfo,
      u: { tslice_ms: 0, ratelimit_us: 0, vcpu_migr_delay_us: 0 },
    };
    return rcResult(this.sysctl(XEN_SYSCTL_scheduler_op, u), () => u.u);
  }

  poolSchedSet(poolId: number, schedId: number, p: XenSysctlCreditSchedule): XenResult<number> {
    const u = { cpupool_id: poolId, sched_id: schedId, cmd: XEN_SYSCTL_SCHEDOP_putinfo, u: p };
    return rcResult(this.sysctl(XEN_SYSCTL_scheduler_op, u), () => 0);
  }
}
