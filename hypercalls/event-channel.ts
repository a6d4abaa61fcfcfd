// HYPERVISOR_event_channel_op sub-ops, port states and argument structs (xen/include/public/event_channel.h).

export const EVTCHNOP_bind_interdomain = 0;
export const EVTCHNOP_bind_virq = 1;
export const EVTCHNOP_bind_pirq = 2;
export const EVTCHNOP_close = 3;
export const EVTCHNOP_send = 4;
export const EVTCHNOP_status = 5;
export const EVTCHNOP_alloc_unbound = 6;
export const EVTCHNOP_bind_ipi = 7;
export const EVTCHNOP_bind_vcpu = 8;
export const EVTCHNOP_unmask = 9;
export const EVTCHNOP_reset = 10;
export const EVTCHNOP_init_control = 11;
export const EVTCHNOP_expand_array = 12;
export const EVTCHNOP_set_priority = 13;

export const EVTCHNSTAT_closed = 0;
export const EVTCHNSTAT_unbound = 1;
export const EVTCHNSTAT_interdomain = 2;
export const EVTCHNSTAT_pirq = 3;
export const EVTCHNSTAT_virq = 4;
export const EVTCHNSTAT_ipi = 5;

/** 2-level ABI on 64-bit: sizeof(xen_ulong_t)^2 * 64 ports. */
export const EVTCHN_2L_NR_CHANNELS = 4096;
/** libxl's default `max_event_channels` for a domU. */
export const DEFAULT_MAX_EVTCHN_PORT = 1023;

/** EVTCHNOP_alloc_unbound: IN dom, remote_dom; OUT port. */
export interface EvtchnAllocUnbound {
  dom: number;
  remote_dom: number;
  port: number;
}

/** EVTCHNOP_bind_interdomain: IN remote_dom, remote_port; OUT local_port. */
export interface EvtchnBindInterdomain {
  remote_dom: number;
  remote_port: number;
  local_port: number;
}

/** EVTCHNOP_bind_virq: IN virq, vcpu; OUT port. */
export interface EvtchnBindVirq {
  virq: number;
  vcpu: number;
  port: number;
}

/** EVTCHNOP_bind_pirq: IN pirq, flags; OUT port. */
export interface EvtchnBindPirq {
  pirq: number;
  flags: number;
  port: number;
}
export const BIND_PIRQ__WILL_SHARE = 1;

/** EVTCHNOP_bind_ipi: IN vcpu; OUT port. */
export interface EvtchnBindIpi {
  vcpu: number;
  port: number;
}

/** EVTCHNOP_close, EVTCHNOP_send, EVTCHNOP_unmask: IN port. */
export interface EvtchnPort {
  port: number;
}

/** EVTCHNOP_status: IN dom, port; OUT status, vcpu and the state's details. */
export interface EvtchnStatus {
  dom: number;
  port: number;
  status: number;
  vcpu: number;
  /** EVTCHNSTAT_unbound: the domain allowed to bind. */
  unbound_dom?: number;
  /** EVTCHNSTAT_interdomain: the peer. */
  interdomain_dom?: number;
  interdomain_port?: number;
  pirq?: number;
  virq?: number;
}

/** EVTCHNOP_bind_vcpu: IN port, vcpu. */
export interface EvtchnBindVcpu {
  port: number;
  vcpu: number;
}

/** EVTCHNOP_reset: IN dom. */
export interface EvtchnReset {
  dom: number;
}
