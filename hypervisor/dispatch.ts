// The hypercall dispatcher (the hypercall table of xen/include/hypercall-defs.c, as one switch):
// semantic handlers return XenResult and only this file negates errnos. Nothing a guest passes may
// throw out of here.

import {
  XEN_EFAULT,
  XEN_EINVAL,
  XEN_ENOSYS,
  XEN_ESRCH,
  type XenResult,
} from '../hypercalls/errno.js';
import type { MulticallEntry } from '../hypercalls/guest-interface.js';
import { asDomId } from '../hypercalls/types.js';
import {
  __HYPERVISOR_console_io,
  __HYPERVISOR_domctl,
  __HYPERVISOR_event_channel_op,
  __HYPERVISOR_grant_table_op,
  __HYPERVISOR_memory_op,
  __HYPERVISOR_multicall,
  __HYPERVISOR_sched_op,
  __HYPERVISOR_set_timer_op,
  __HYPERVISOR_sysctl,
  __HYPERVISOR_vcpu_op,
  __HYPERVISOR_xen_version,
} from '../hypercalls/xen.js';
import { consoleIo } from './console-op.js';
import type { Vcpu } from './domain.js';
import { domctl } from './domctl-op.js';
import { eventChannelOp } from './evtchn-op.js';
import type { Hypervisor } from './hypervisor.js';
import { schedOp } from './sched-op.js';
import type { CallerContext } from './subsystems.js';
import { sysctl } from './sysctl-op.js';
import { setTimerOp, vcpuOp } from './vcpu-op.js';
import { xenVersion } from './version-op.js';

/** Entries a multicall may carry (Xen processes any number with continuations; we bound it). */
const MAX_MULTICALL = 4096;

/** Runs hypercall `nr` for vCPU `v`: a value >= 0, or -errno. Charges the caller the hypercall cost. */
export function hypercall(
  hv: Hypervisor,
  v: Vcpu,
  nr: unknown,
  a1: unknown,
  a2: unknown,
  a3: unknown,
): number {
  // A destroyed domain runs no more guest code; a stale reference to its hypercall page gets -ESRCH.
  if (v.dom.dying !== 0) return -XEN_ESRCH;
  v.chargeNs += hv.costs.hypercallNs;
  let r: XenResult<number>;
  try {
    r = route(hv, v, nr, a1, a2, a3, false);
  } catch {
    // A guest struct that cannot be read or written (a getter that throws, a frozen object): a bad guest pointer.
    return -XEN_EFAULT;
  }
  return r.ok ? r.value : -r.errno;
}

function route(
  hv: Hypervisor,
  v: Vcpu,
  nr: unknown,
  a1: unknown,
  a2: unknown,
  a3: unknown,
  inMulticall: boolean,
): XenResult<number> {
  const d = v.dom;
  switch (nr) {
    case __HYPERVISOR_xen_version:
      return xenVersion(hv, d, a1, a2);
    case __HYPERVISOR_event_channel_op:
      return eventChannelOp(hv, d, a1, a2);
    case __HYPERVISOR_sched_op:
      return schedOp(hv, v, a1, a2);
    case __HYPERVISOR_vcpu_op:
      return vcpuOp(hv, v, a1, a2, a3);
    case __HYPERVISOR_set_timer_op:
      return setTimerOp(hv, v, a1);
    case __HYPERVISOR_console_io:
      return consoleIo(hv, d, a1, a2, a3);
    case __HYPERVISOR_domctl:
      return domctl(hv, d, a1);
    case __HYPERVISOR_sysctl:
      return sysctl(hv, d, a1);
    case __HYPERVISOR_multicall:
      if (inMulticall) return { ok: false, errno: XEN_EINVAL };
      return multicall(hv, v, a1, a2);
    case __HYPERVISOR_memory_op:
      if (!hv.memory) return { ok: false, errno: XEN_ENOSYS };
      return hv.memory.memoryOp(callerOf(v), typeof a1 === 'number' ? a1 : -1, a2);
    case __HYPERVISOR_grant_table_op:
      if (!hv.grants) return { ok: false, errno: XEN_ENOSYS };
      return hv.grants.grantTableOp(
        callerOf(v),
        typeof a1 === 'number' ? a1 : -1,
        a2,
        typeof a3 === 'number' ? a3 : -1,
      );
    default:
      return { ok: false, errno: XEN_ENOSYS };
  }
}

function callerOf(v: Vcpu): CallerContext {
  return { domid: asDomId(v.dom.domid), privileged: v.dom.privileged };
}

/** do_multicall(): each entry's result is written back; a nested multicall fails with -EINVAL. */
function multicall(hv: Hypervisor, v: Vcpu, calls: unknown, nr: unknown): XenResult<number> {
  if (!Array.isArray(calls)) return { ok: false, errno: XEN_EFAULT };
  if (typeof nr !== 'number' || !Number.isInteger(nr) || nr < 0)
    return { ok: false, errno: XEN_EINVAL };
  if (nr > calls.length || nr > MAX_MULTICALL) return { ok: false, errno: XEN_EFAULT };
  for (let i = 0; i < nr; i++) {
    const e = calls[i] as Partial<MulticallEntry> | null;
    if (typeof e !== 'object' || e === null) return { ok: false, errno: XEN_EFAULT };
    const args = Array.isArray(e.args) ? e.args : [];
    v.chargeNs += hv.costs.hypercallNs;
    let r: XenResult<number>;
    try {
      r = route(hv, v, e.op, args[0], args[1], args[2], true);
    } catch {
      r = { ok: false, errno: XEN_EFAULT };
    }
    e.result = r.ok ? r.value : -r.errno;
  }
  return { ok: true, value: 0 };
}
