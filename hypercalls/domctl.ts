// HYPERVISOR_domctl: per-domain control for the toolstack, commands and structs (xen/include/public/domctl.h).

export const XEN_DOMCTL_INTERFACE_VERSION = 0x18;

export const XEN_DOMCTL_createdomain = 1;
export const XEN_DOMCTL_destroydomain = 2;
export const XEN_DOMCTL_pausedomain = 3;
export const XEN_DOMCTL_unpausedomain = 4;
export const XEN_DOMCTL_getdomaininfo = 5;
export const XEN_DOMCTL_setvcpuaffinity = 9;
export const XEN_DOMCTL_shadow_op = 10;
export const XEN_DOMCTL_max_mem = 11;
export const XEN_DOMCTL_setvcpucontext = 12;
export const XEN_DOMCTL_getvcpucontext = 13;
export const XEN_DOMCTL_getvcpuinfo = 14;
export const XEN_DOMCTL_max_vcpus = 15;
export const XEN_DOMCTL_scheduler_op = 16;
export const XEN_DOMCTL_setdomainhandle = 17;
export const XEN_DOMCTL_settimeoffset = 24;
export const XEN_DOMCTL_getvcpuaffinity = 25;
export const XEN_DOMCTL_resumedomain = 27;
export const XEN_DOMCTL_sendtrigger = 28;
export const XEN_DOMCTL_subscribe = 29;
export const XEN_DOMCTL_set_target = 46;
export const XEN_DOMCTL_set_virq_handler = 66;
export const XEN_DOMCTL_soft_reset = 79;

// XEN_DOMINF_* flags of struct xen_domctl_getdomaininfo.
export const XEN_DOMINF_dying = 1 << 0;
export const XEN_DOMINF_hvm_guest = 1 << 1;
export const XEN_DOMINF_shutdown = 1 << 2;
export const XEN_DOMINF_paused = 1 << 3;
export const XEN_DOMINF_blocked = 1 << 4;
export const XEN_DOMINF_running = 1 << 5;
export const XEN_DOMINF_debugged = 1 << 6;
export const XEN_DOMINF_xs_domain = 1 << 7;
export const XEN_DOMINF_hap = 1 << 8;
export const XEN_DOMINF_shutdownshift = 16;
export const XEN_DOMINF_shutdownmask = 255;

// Scheduler ids (XEN_SCHEDULER_*) and scheduler_op commands.
export const XEN_SCHEDULER_CREDIT = 5;
export const XEN_SCHEDULER_CREDIT2 = 6;
export const XEN_SCHEDULER_ARINC653 = 7;
export const XEN_SCHEDULER_RTDS = 8;
export const XEN_SCHEDULER_NULL = 9;
export const XEN_DOMCTL_SCHEDOP_putinfo = 0;
export const XEN_DOMCTL_SCHEDOP_getinfo = 1;
export const XEN_DOMCTL_SCHEDOP_putvcpuinfo = 2;
export const XEN_DOMCTL_SCHEDOP_getvcpuinfo = 3;

// XEN_VCPUAFFINITY_* flags of setvcpuaffinity.
export const XEN_VCPUAFFINITY_HARD = 1 << 0;
export const XEN_VCPUAFFINITY_SOFT = 1 << 1;
export const XEN_VCPUAFFINITY_FORCE = 1 << 2;

/** struct xen_domctl_createdomain (IN). The new domid is written back into `XenDomctl.domain`. */
export interface XenDomctlCreateDomain {
  flags: number;
  max_vcpus: number;
  max_evtchn_port: number;
  max_grant_frames: number;
  max_maptrack_frames: number;
  /** 16-byte handle (UUID); optional. */
  handle?: Uint8Array;
}
/** XEN_DOMCTL_CDF_* flags. */
export const XEN_DOMCTL_CDF_hvm = 1 << 0;
export const XEN_DOMCTL_CDF_hap = 1 << 1;
export const XEN_DOMCTL_CDF_xs_domain = 1 << 4;

/** struct xen_domctl_getdomaininfo (OUT, written by Xen). */
export interface XenDomctlGetDomainInfo {
  domain: number;
  flags: number;
  tot_pages: number;
  max_pages: number;
  outstanding_pages: number;
  shr_pages: number;
  paged_pages: number;
  shared_info_frame: number;
  cpu_time: number;
  nr_online_vcpus: number;
  max_vcpu_id: number;
  ssidref: number;
  handle: Uint8Array;
  cpupool: number;
}

/** struct xen_domctl_max_vcpus (IN). */
export interface XenDomctlMaxVcpus {
  max: number;
}

/** struct xen_domctl_max_mem (IN), in KiB. */
export interface XenDomctlMaxMem {
  max_memkb: number;
}

/** struct xen_domctl_vcpuaffinity (IN/OUT). Cpumaps are arrays of pCPU booleans indexed by pCPU. */
export interface XenDomctlVcpuAffinity {
  vcpu: number;
  flags: number;
  cpumap_hard: boolean[];
  cpumap_soft: boolean[];
}

/** struct xen_domctl_getvcpuinfo (IN vcpu, OUT rest). */
export interface XenDomctlGetVcpuInfo {
  vcpu: number;
  online: number;
  blocked: number;
  running: number;
  cpu_time: number;
  cpu: number;
}

/** struct xen_domctl_sched_credit / sched_credit2 (IN for putinfo, OUT for getinfo). */
export interface XenDomctlSchedCredit {
  weight: number;
  cap: number;
}

/** struct xen_domctl_scheduler_op. */
export interface XenDomctlSchedulerOp {
  sched_id: number;
  cmd: number;
  u: XenDomctlSchedCredit;
}

/** struct xen_domctl_subscribe (IN): the suspend event channel port. */
export interface XenDomctlSubscribe {
  port: number;
}

/** struct xen_domctl_set_virq_handler (IN). */
export interface XenDomctlSetVirqHandler {
  virq: number;
}

/** struct xen_domctl: the command, version, target domain (OUT for createdomain) and per-command payload. */
export interface XenDomctl {
  cmd: number;
  interface_version: number;
  domain: number;
  u: unknown;
}
