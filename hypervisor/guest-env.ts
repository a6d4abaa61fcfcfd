// Builds the interface a guest gets at boot (hypercalls/guest-interface.ts) for one domain: the
// hypercall page bound to the calling vCPU, shared_info, start_info and the event callback hook.

import type { XenDomctl } from '../hypercalls/domctl.js';
import type {
  GuestEnv,
  HypercallInterface,
  MulticallEntry,
  StartInfo,
} from '../hypercalls/guest-interface.js';
import type { XenSysctl } from '../hypercalls/sysctl.js';
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
  SIF_INITDOMAIN,
  SIF_PRIVILEGED,
} from '../hypercalls/xen.js';
import { hypercall } from './dispatch.js';
import type { Domain, Vcpu } from './domain.js';
import type { Hypervisor } from './hypervisor.js';

export function makeGuestEnv(hv: Hypervisor, d: Domain): GuestEnv {
  /** The calling vCPU: the one executing guest code of this domain, else vCPU 0 (code run from an event). */
  const me = (): Vcpu => {
    const c = hv.current;
    return c !== null && c.dom === d ? c : (d.vcpus[0] as Vcpu);
  };
  const h: HypercallInterface = {
    sched_op: (cmd, arg) => hypercall(hv, me(), __HYPERVISOR_sched_op, cmd, arg, undefined),
    vcpu_op: (cmd, vcpuid, arg) => hypercall(hv, me(), __HYPERVISOR_vcpu_op, cmd, vcpuid, arg),
    set_timer_op: (t) => hypercall(hv, me(), __HYPERVISOR_set_timer_op, t, undefined, undefined),
    event_channel_op: (cmd, arg) =>
      hypercall(hv, me(), __HYPERVISOR_event_channel_op, cmd, arg, undefined),
    xen_version: (cmd, arg) => hypercall(hv, me(), __HYPERVISOR_xen_version, cmd, arg, undefined),
    console_io: (cmd, count, buf) => hypercall(hv, me(), __HYPERVISOR_console_io, cmd, count, buf),
    memory_op: (cmd, arg) => hypercall(hv, me(), __HYPERVISOR_memory_op, cmd, arg, undefined),
    grant_table_op: (cmd, uops, count) =>
      hypercall(hv, me(), __HYPERVISOR_grant_table_op, cmd, uops, count),
    multicall: (calls: MulticallEntry[], nr: number) =>
      hypercall(hv, me(), __HYPERVISOR_multicall, calls, nr, undefined),
    domctl: (op: XenDomctl) => hypercall(hv, me(), __HYPERVISOR_domctl, op, undefined, undefined),
    sysctl: (op: XenSysctl) => hypercall(hv, me(), __HYPERVISOR_sysctl, op, undefined, undefined),
    hypercall: (nr, a1, a2, a3) => hypercall(hv, me(), nr, a1, a2, a3),
  };
  const v = hv.version;
  const startInfo: StartInfo = {
    magic: `xen-${v.major}.${v.minor}-x86_64`,
    flags: d.privileged ? SIF_PRIVILEGED | SIF_INITDOMAIN : 0,
    nr_pages: 0,
    store_mfn: 0,
    store_evtchn: 0,
    console_mfn: 0,
    console_evtchn: 0,
    cmd_line: '',
  };
  return {
    domid: d.domid,
    get maxVcpus() {
      return d.vcpus.length;
    },
    hypercalls: h,
    sharedInfo: d.sharedInfo,
    startInfo,
    now: () => hv.engine.now,
    setUpcallHandler: (handler) => {
      d.upcall = handler;
    },
  };
}
