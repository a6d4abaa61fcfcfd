// HYPERVISOR_sysctl: host-wide control for the toolstack, commands and structs (xen/include/public/sysctl.h).

import type { XenDomctlGetDomainInfo } from './domctl.js';

export const XEN_SYSCTL_INTERFACE_VERSION = 0x16;

export const XEN_SYSCTL_readconsole = 1;
export const XEN_SYSCTL_tbuf_op = 2;
export const XEN_SYSCTL_physinfo = 3;
export const XEN_SYSCTL_sched_id = 4;
export const XEN_SYSCTL_getdomaininfolist = 6;
export const XEN_SYSCTL_debug_keys = 7;
export const XEN_SYSCTL_getcpuinfo = 8;
export const XEN_SYSCTL_cputopoinfo = 16;
export const XEN_SYSCTL_numainfo = 17;
export const XEN_SYSCTL_cpupool_op = 18;
export const XEN_SYSCTL_scheduler_op = 19;

/** struct xen_sysctl_readconsole (IN clear/incremental/index/count, OUT buffer bytes, count, index). */
export interface XenSysctlReadconsole {
  clear: number;
  incremental: number;
  /** IN: with `incremental`, the position to read from; OUT: the position after the last byte read. */
  index: number;
  /** IN: buffer size; OUT: bytes written. */
  count: number;
  buffer: Uint8Array;
}

/** struct xen_sysctl_physinfo (OUT). */
export interface XenSysctlPhysinfo {
  threads_per_core: number;
  cores_per_socket: number;
  nr_cpus: number;
  max_cpu_id: number;
  nr_nodes: number;
  max_node_id: number;
  cpu_khz: number;
  capabilities: number;
  total_pages: number;
  free_pages: number;
  scrub_pages: number;
  outstanding_pages: number;
  max_mfn: number;
  hw_cap: number[];
}
export const XEN_SYSCTL_PHYSCAP_hvm = 1 << 0;
export const XEN_SYSCTL_PHYSCAP_pv = 1 << 1;

/** struct xen_sysctl_sched_id (OUT). */
export interface XenSysctlSchedId {
  sched_id: number;
}

/** struct xen_sysctl_getdomaininfolist (IN first_domain, max_domains; OUT buffer, num_domains). */
export interface XenSysctlGetdomaininfolist {
  first_domain: number;
  max_domains: number;
  buffer: XenDomctlGetDomainInfo[];
  num_domains: number;
}

export const XEN_SYSCTL_SCHEDOP_putinfo = 0;
export const XEN_SYSCTL_SCHEDOP_getinfo = 1;

/** struct xen_sysctl_credit_schedule / credit2_schedule (tslice only for credit). */
export interface XenSysctlCreditSchedule {
  tslice_ms: number;
  ratelimit_us: number;
  vcpu_migr_delay_us: number;
}

/** struct xen_sysctl_scheduler_op. */
export interface XenSysctlSchedulerOp {
  cpupool_id: number;
  sched_id: number;
  cmd: number;
  u: XenSysctlCreditSchedule;
}

/** struct xen_sysctl. */
export interface XenSysctl {
  cmd: number;
  interface_version: number;
  u: unknown;
}
