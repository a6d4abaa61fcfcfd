// HYPERVISOR_vcpu_op and HYPERVISOR_set_timer_op (xen/common/domain.c do_vcpu_op, sched/core.c do_set_timer_op).

import {
  XEN_EEXIST,
  XEN_EFAULT,
  XEN_EINVAL,
  XEN_ENOENT,
  XEN_ENOSYS,
  XEN_ETIME,
  err,
  ok,
  type XenResult,
} from '../hypercalls/errno.js';
import {
  PERIODIC_TIMER_MIN_NS,
  VCPUOP_down,
  VCPUOP_get_runstate_info,
  VCPUOP_initialise,
  VCPUOP_is_up,
  VCPUOP_set_periodic_timer,
  VCPUOP_set_singleshot_timer,
  VCPUOP_stop_periodic_timer,
  VCPUOP_stop_singleshot_timer,
  VCPUOP_up,
  VCPU_SSHOTTMR_future,
} from '../hypercalls/vcpu.js';
import { OK0, intField, struct } from './args.js';
import type { Vcpu } from './domain.js';
import type { Hypervisor } from './hypervisor.js';

/** STIME_DELTA_MAX: periods beyond this are refused. */
const STIME_DELTA_MAX = 2 ** 62;
/** set_timer_op: timeouts this far ahead (or behind) become 100 ms, a workaround for old Linux. */
const TIMER_SLOP_LIMIT_NS = 2 ** 50;

export function vcpuOp(
  hv: Hypervisor,
  caller: Vcpu,
  cmd: unknown,
  vcpuid: unknown,
  arg: unknown,
): XenResult<number> {
  const d = caller.dom;
  const v =
    typeof vcpuid === 'number' && Number.isInteger(vcpuid) && vcpuid >= 0
      ? d.vcpus[vcpuid]
      : undefined;
  if (v === undefined) return err(XEN_ENOENT);
  switch (cmd) {
    case VCPUOP_initialise: {
      if (!struct(arg)) return err(XEN_EFAULT);
      if (v.initialised) return err(XEN_EEXIST);
      v.initialised = true;
      if (d.program && d.env) v.program = d.program(d.env, v.id);
      return OK0;
    }
    case VCPUOP_up:
      if (!v.initialised) return err(XEN_EINVAL);
      if (!v.online) {
        v.online = true;
        if (v.program === null && d.program && d.env) v.program = d.program(d.env, v.id);
        hv.vcpuStateChanged(v);
      }
      return OK0;
    case VCPUOP_down:
      hv.vcpuDown(v);
      return OK0;
    case VCPUOP_is_up:
      return ok(v.online ? 1 : 0);
    case VCPUOP_get_runstate_info: {
      const o = struct(arg);
      if (!o) return err(XEN_EFAULT);
      o.state = v.runstate;
      o.state_entry_time = v.runstateEntryNs;
      o.time = [0, 1, 2, 3].map((s) => hv.runstateTime(v, s));
      return OK0;
    }
    case VCPUOP_set_periodic_timer: {
      const o = struct(arg);
      if (!o) return err(XEN_EFAULT);
      const p = o.period_ns;
      if (typeof p !== 'number' || !Number.isSafeInteger(p)) return err(XEN_EFAULT);
      if (p < PERIODIC_TIMER_MIN_NS || p > STIME_DELTA_MAX) return err(XEN_EINVAL);
      hv.timers.setPeriodic(v, p);
      return OK0;
    }
    case VCPUOP_stop_periodic_timer:
      hv.timers.setPeriodic(v, 0);
      return OK0;
    case VCPUOP_set_singleshot_timer: {
      if (v !== caller) return err(XEN_EINVAL);
      const o = struct(arg);
      if (!o) return err(XEN_EFAULT);
      const t = o.timeout_abs_ns;
      const flags = intField(o, 'flags', 0, 0xffff_ffff);
      if (typeof t !== 'number' || !Number.isSafeInteger(t) || Number.isNaN(flags))
        return err(XEN_EFAULT);
      if ((flags & VCPU_SSHOTTMR_future) !== 0 && t < hv.engine.now) return err(XEN_ETIME);
      hv.timers.setSingleshot(v, t);
      return OK0;
    }
    case VCPUOP_stop_singleshot_timer:
      if (v !== caller) return err(XEN_EINVAL);
      hv.timers.stopSingleshot(v);
      return OK0;
    default:
      return err(XEN_ENOSYS);
  }
}

/** do_set_timer_op(): 0 cancels; negative or absurd deltas become 100 ms; always 0 for a valid number. */
export function setTimerOp(hv: Hypervisor, v: Vcpu, timeout: unknown): XenResult<number> {
  if (typeof timeout !== 'number' || !Number.isSafeInteger(timeout)) return err(XEN_EINVAL);
  if (timeout === 0) {
    hv.timers.stopSingleshot(v);
    return OK0;
  }
  const now = hv.engine.now;
  const delta = timeout - now;
  const at = delta < 0 || delta >= TIMER_SLOP_LIMIT_NS ? now + 100_000_000 : timeout;
  hv.timers.setSingleshot(v, at);
  return OK0;
}
