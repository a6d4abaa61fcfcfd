// HYPERVISOR_sched_op (xen/common/sched/core.c do_sched_op, domain_watchdog).

import {
  XEN_EFAULT,
  XEN_EINVAL,
  XEN_ENOSPC,
  XEN_ENOSYS,
  XEN_EPERM,
  XEN_ESRCH,
  err,
  ok,
  type XenResult,
} from '../hypercalls/errno.js';
import { EVTCHN_2L_NR_CHANNELS } from '../hypercalls/event-channel.js';
import {
  SCHEDOP_block,
  SCHEDOP_pin_override,
  SCHEDOP_poll,
  SCHEDOP_remote_shutdown,
  SCHEDOP_shutdown,
  SCHEDOP_shutdown_code,
  SCHEDOP_watchdog,
  SCHEDOP_yield,
} from '../hypercalls/sched.js';
import { OK0, U16_MAX, U32_MAX, intField, struct } from './args.js';
import type { Vcpu } from './domain.js';
import { isValidShutdownReason, type Hypervisor } from './hypervisor.js';
import { NR_DOMAIN_WATCHDOG_TIMERS } from './timers.js';

/** Xen refuses polls on more than 128 ports. */
const MAX_POLL_PORTS = 128;

export function schedOp(hv: Hypervisor, v: Vcpu, cmd: unknown, arg: unknown): XenResult<number> {
  switch (cmd) {
    case SCHEDOP_yield:
      if (v.runningOn >= 0) {
        hv.sched.yieldVcpu(v);
        hv.engine.emit('sched.yield', v.dom.domid, v.id);
      }
      return OK0;
    case SCHEDOP_block:
      hv.block(v);
      return OK0;
    case SCHEDOP_shutdown: {
      const o = struct(arg);
      if (!o) return err(XEN_EFAULT);
      if (!isValidShutdownReason(o.reason)) return err(XEN_EINVAL);
      hv.shutdownDomain(v.dom, o.reason);
      return OK0;
    }
    case SCHEDOP_poll:
      return poll(hv, v, arg);
    case SCHEDOP_remote_shutdown: {
      const o = struct(arg);
      if (!o) return err(XEN_EFAULT);
      const id = intField(o, 'domain_id', 0, U16_MAX);
      const d = Number.isNaN(id) ? undefined : hv.liveDomain(id);
      if (!d) return err(XEN_ESRCH);
      if (!v.dom.privileged) return err(XEN_EPERM); // XSM_DM_PRIV
      if (!isValidShutdownReason(o.reason)) return err(XEN_EINVAL);
      hv.shutdownDomain(d, o.reason);
      return OK0;
    }
    case SCHEDOP_shutdown_code: {
      const o = struct(arg);
      if (!o) return err(XEN_EFAULT);
      if (!isValidShutdownReason(o.reason)) return err(XEN_EINVAL);
      if (v.dom.shutdownCode === -1) v.dom.shutdownCode = o.reason;
      return OK0;
    }
    case SCHEDOP_watchdog:
      return watchdog(hv, v, arg);
    case SCHEDOP_pin_override: {
      const o = struct(arg);
      if (!o) return err(XEN_EFAULT);
      if (v.dom.domid !== 0) return err(XEN_EPERM);
      const pcpu = o.pcpu;
      if (
        pcpu !== -1 &&
        (typeof pcpu !== 'number' || !Number.isInteger(pcpu) || pcpu < 0 || pcpu >= hv.nrPcpus)
      )
        return err(XEN_EINVAL);
      // DEVIATION(xen): accepted but without effect; dom0 vCPUs are not temporarily pinned.
      return OK0;
    }
    default:
      return err(XEN_ENOSYS);
  }
}

function poll(hv: Hypervisor, v: Vcpu, arg: unknown): XenResult<number> {
  const o = struct(arg);
  if (!o) return err(XEN_EFAULT);
  const ports = o.ports;
  if (!Array.isArray(ports)) return err(XEN_EFAULT);
  if (ports.length > MAX_POLL_PORTS) return err(XEN_EINVAL);
  const timeout = o.timeout;
  if (typeof timeout !== 'number' || !Number.isSafeInteger(timeout) || timeout < 0)
    return err(XEN_EFAULT);
  const copy: number[] = [];
  for (const p of ports as unknown[]) {
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > U32_MAX)
      return err(XEN_EFAULT);
    if (p >= Math.min(v.dom.evtchn.maxPort + 1, EVTCHN_2L_NR_CHANNELS)) return err(XEN_EINVAL);
    copy.push(p);
  }
  hv.poll(v, copy, timeout);
  return OK0;
}

/** domain_watchdog(): id 0 allocates one of two timers (returns id+1); timeout 0 frees one. */
function watchdog(hv: Hypervisor, v: Vcpu, arg: unknown): XenResult<number> {
  const o = struct(arg);
  if (!o) return err(XEN_EFAULT);
  const id = intField(o, 'id', 0, U32_MAX);
  const timeout = intField(o, 'timeout', 0, U32_MAX);
  if (Number.isNaN(id) || Number.isNaN(timeout)) return err(XEN_EINVAL);
  const d = v.dom;
  if (id > NR_DOMAIN_WATCHDOG_TIMERS) return err(XEN_EINVAL);
  if (id === 0) {
    for (let i = 0; i < NR_DOMAIN_WATCHDOG_TIMERS; i++) {
      if (d.watchdogInUse[i]) continue;
      d.watchdogInUse[i] = true;
      hv.timers.setWatchdog(d, i, timeout);
      return ok(i + 1);
    }
    return err(XEN_ENOSPC);
  }
  const slot = id - 1;
  if (!d.watchdogInUse[slot]) return err(XEN_EINVAL);
  if (timeout === 0) {
    hv.timers.stopWatchdog(d, slot);
    d.watchdogInUse[slot] = false;
  } else hv.timers.setWatchdog(d, slot, timeout);
  return OK0;
}
