// getdomaininfo() of xen/common/domctl.c: the flags and counters the toolstack lists domains by.

import {
  XEN_DOMINF_blocked,
  XEN_DOMINF_dying,
  XEN_DOMINF_paused,
  XEN_DOMINF_running,
  XEN_DOMINF_shutdown,
  XEN_DOMINF_shutdownshift,
} from '../hypercalls/domctl.js';
import { asDomId } from '../hypercalls/types.js';
import { DOMDYING, type Domain } from './domain.js';
import type { Hypervisor } from './hypervisor.js';

/** XEN_DOMINF_* flags: blocked only if every online vCPU is blocked; running if any runs. */
export function domainFlags(d: Domain): number {
  let flags = XEN_DOMINF_blocked;
  for (const v of d.vcpus) {
    if (!v.online) continue;
    if (!v.blocked) flags &= ~XEN_DOMINF_blocked;
    if (v.runningOn >= 0) flags |= XEN_DOMINF_running;
  }
  if (d.dying === DOMDYING.dead) flags |= XEN_DOMINF_dying;
  if (d.isShutDown) flags |= XEN_DOMINF_shutdown;
  if (d.controllerPauseCount > 0) flags |= XEN_DOMINF_paused;
  if (d.isShuttingDown) flags |= (d.shutdownCode & 0xff) << XEN_DOMINF_shutdownshift;
  return flags >>> 0;
}

/** Writes struct xen_domctl_getdomaininfo into `o`. */
export function fillDomainInfo(hv: Hypervisor, d: Domain, o: Record<string, unknown>): void {
  const id = asDomId(d.domid);
  let online = 0;
  for (const v of d.vcpus) if (v.online) online++;
  o.domain = d.domid;
  o.flags = domainFlags(d);
  o.tot_pages = hv.memory ? hv.memory.totPages(id) : 0;
  o.max_pages = hv.memory ? hv.memory.maxPages(id) : Math.floor(d.maxMemKb / 4);
  o.outstanding_pages = 0;
  o.shr_pages = 0;
  o.paged_pages = 0;
  o.shared_info_frame = 0;
  o.cpu_time = hv.cpuTime(d);
  o.nr_online_vcpus = online;
  o.max_vcpu_id = d.vcpus.length - 1;
  o.ssidref = 0;
  o.handle = d.handle.slice();
  o.cpupool = 0;
}
