// HYPERVISOR_sched_op sub-ops, shutdown reasons and argument structs (xen/include/public/sched.h).

export const SCHEDOP_yield = 0;
export const SCHEDOP_block = 1;
export const SCHEDOP_shutdown = 2;
export const SCHEDOP_poll = 3;
export const SCHEDOP_remote_shutdown = 4;
export const SCHEDOP_shutdown_code = 5;
export const SCHEDOP_watchdog = 6;
export const SCHEDOP_pin_override = 7;

export const SHUTDOWN_poweroff = 0;
export const SHUTDOWN_reboot = 1;
export const SHUTDOWN_suspend = 2;
export const SHUTDOWN_crash = 3;
export const SHUTDOWN_watchdog = 4;
export const SHUTDOWN_soft_reset = 5;
export const SHUTDOWN_MAX = 5;

/** struct sched_shutdown (IN): also the argument of SCHEDOP_shutdown_code. */
export interface SchedShutdown {
  reason: number;
}

/** struct sched_poll (IN): block until one of `ports` is pending or `timeout` (absolute system time in ns, 0 = none). */
export interface SchedPoll {
  ports: readonly number[];
  timeout: number;
}

/** struct sched_remote_shutdown (IN). */
export interface SchedRemoteShutdown {
  domain_id: number;
  reason: number;
}

/** struct sched_watchdog (IN/OUT): id 0 allocates a timer (its id is the return value); timeout 0 with an id frees it. */
export interface SchedWatchdog {
  id: number;
  /** Seconds. */
  timeout: number;
}

/** struct sched_pin_override (IN). */
export interface SchedPinOverride {
  pcpu: number;
}
