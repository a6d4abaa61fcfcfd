// HYPERVISOR_vcpu_op sub-ops, runstates and argument structs (xen/include/public/vcpu.h).

export const VCPUOP_initialise = 0;
export const VCPUOP_up = 1;
export const VCPUOP_down = 2;
export const VCPUOP_is_up = 3;
export const VCPUOP_get_runstate_info = 4;
export const VCPUOP_register_runstate_memory_area = 5;
export const VCPUOP_set_periodic_timer = 6;
export const VCPUOP_stop_periodic_timer = 7;
export const VCPUOP_set_singleshot_timer = 8;
export const VCPUOP_stop_singleshot_timer = 9;
export const VCPUOP_register_vcpu_info = 10;
export const VCPUOP_send_nmi = 11;
export const VCPUOP_get_physid = 12;
export const VCPUOP_register_vcpu_time_memory_area = 13;

export const RUNSTATE_running = 0;
export const RUNSTATE_runnable = 1;
export const RUNSTATE_blocked = 2;
export const RUNSTATE_offline = 3;

/** Fail VCPUOP_set_singleshot_timer with -ETIME if the timeout is already in the past. */
export const VCPU_SSHOTTMR_future = 1 << 0;

/** struct vcpu_runstate_info (OUT, written by Xen). */
export interface VcpuRunstateInfo {
  state: number;
  state_entry_time: number;
  /** Nanoseconds spent in each RUNSTATE_*; four entries. */
  time: number[];
}

/** struct vcpu_set_periodic_timer (IN). */
export interface VcpuSetPeriodicTimer {
  period_ns: number;
}

/** struct vcpu_set_singleshot_timer (IN). */
export interface VcpuSetSingleshotTimer {
  timeout_abs_ns: number;
  flags: number;
}

/** struct vcpu_guest_context, reduced to what a simulated PV vCPU needs to be initialised (IN). */
export interface VcpuGuestContext {
  /** Opaque entry point tag; xensim starts the domain's registered program on the vCPU. */
  user_regs?: { rip: number };
}

/** Default PV periodic timer: 10 ms of VIRQ_TIMER (xen/common/sched/core.c). */
export const PV_DEFAULT_PERIODIC_TIMER_NS = 10_000_000;
/** Periods below 1 ms are refused with -EINVAL. */
export const PERIODIC_TIMER_MIN_NS = 1_000_000;
