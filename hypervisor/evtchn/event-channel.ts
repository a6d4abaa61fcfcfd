// Event channel operations with the 2-level ABI (xen/common/event_channel.c, xen/common/event_2l.c):
// semantic functions returning XenResult; pending, mask and selector bits live in the domain's
// shared_info page.

import {
  EVTCHNSTAT_closed,
  EVTCHNSTAT_interdomain,
  EVTCHNSTAT_ipi,
  EVTCHNSTAT_pirq,
  EVTCHNSTAT_unbound,
  EVTCHNSTAT_virq,
  type EvtchnStatus,
} from '../../hypercalls/event-channel.js';
import {
  XEN_EBUSY,
  XEN_EEXIST,
  XEN_EINVAL,
  XEN_ENOENT,
  XEN_ENOSPC,
  XEN_EPERM,
  XEN_ESRCH,
  err,
  ok,
  type XenResult,
} from '../../hypercalls/errno.js';
import {
  SHARED_INFO_evtchn_mask,
  SHARED_INFO_evtchn_pending,
  VCPU_INFO_evtchn_pending_sel,
  VCPU_INFO_evtchn_upcall_pending,
  clearBit,
  testAndClearBit,
  testAndSetBit,
  testBit,
  vcpuInfoOffset,
} from '../../hypercalls/shared-info.js';
import { NR_VIRQS, VIRQ_KIND, virqKind } from '../../hypercalls/virq.js';
import { DOMID_SELF } from '../../hypercalls/xen.js';
import type { Domain, Vcpu } from '../domain.js';
import { OK0 } from '../args.js';
import { ECS } from './evtchn-table.js';

/** What event channels need from the core. */
export interface EvtchnHost {
  /** A live (not dying) domain, or undefined. */
  domain(domid: number): Domain | undefined;
  /** vcpu_mark_events_pending() happened: unblock it, or interrupt it if it runs. */
  kickVcpu(v: Vcpu): void;
  /** SCHEDOP_poll waiters on `port` in `d` wake up. */
  wakePollers(d: Domain, port: number): void;
  /** The domain that handles global `virq` (the hardware domain unless set_virq_handler moved it). */
  globalVirqHandler(virq: number): number;
  /** The engine's trace switch: when enabled, `traceSend` records an instant per send. */
  readonly trace: { readonly enabled: boolean };
  traceSend(d: Domain, port: number): void;
}

const isU16 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffff;

/** evtchn_2l_set_pending(). */
export function setPending(host: EvtchnHost, d: Domain, port: number): void {
  setPendingOn(host, d, d.vcpus[d.evtchn.notifyVcpu[port] as number], port);
}

/** evtchn_port_set_pending() towards vCPU `v` (the port's notify vCPU; a per-vCPU VIRQ's own vCPU). */
function setPendingOn(host: EvtchnHost, d: Domain, v: Vcpu | undefined, port: number): void {
  const page = d.sharedInfo;
  if (testAndSetBit(page, SHARED_INFO_evtchn_pending, port)) return; // edge already recorded
  if (v === undefined) return;
  if (!testBit(page, SHARED_INFO_evtchn_mask, port)) {
    const vi = vcpuInfoOffset(v.id);
    if (!testAndSetBit(page, vi + VCPU_INFO_evtchn_pending_sel, port >>> 6)) {
      markEventsPending(host, v);
    }
  }
  host.wakePollers(d, port);
}

/** vcpu_mark_events_pending(): raise upcall_pending and kick the vCPU. */
function markEventsPending(host: EvtchnHost, v: Vcpu): void {
  const page = v.dom.sharedInfo;
  const o = vcpuInfoOffset(v.id) + VCPU_INFO_evtchn_upcall_pending;
  if (page[o] !== 0) return;
  page[o] = 1;
  host.kickVcpu(v);
}

/** Resolves DOMID_SELF and looks the domain up. */
function lookup(host: EvtchnHost, caller: Domain, domid: number): Domain | undefined {
  return domid === DOMID_SELF ? caller : host.domain(domid);
}

export function allocUnbound(
  host: EvtchnHost,
  caller: Domain,
  dom: number,
  remoteDom: number,
): XenResult<number> {
  if (!isU16(dom) || !isU16(remoteDom)) return err(XEN_EINVAL);
  const d = lookup(host, caller, dom);
  if (!d) return err(XEN_ESRCH);
  if (d !== caller && !caller.privileged) return err(XEN_EPERM); // XSM_TARGET
  const port = d.evtchn.allocate();
  if (port < 0) return err(XEN_ENOSPC);
  d.evtchn.state[port] = ECS.UNBOUND;
  d.evtchn.remoteDom[port] = remoteDom === DOMID_SELF ? caller.domid : remoteDom;
  return ok(port);
}

export function bindInterdomain(
  host: EvtchnHost,
  ld: Domain,
  remoteDom: number,
  remotePort: number,
): XenResult<number> {
  if (!isU16(remoteDom)) return err(XEN_EINVAL);
  const rd = lookup(host, ld, remoteDom);
  if (!rd) return err(XEN_ESRCH);
  const rt = rd.evtchn;
  if (!rt.valid(remotePort)) return err(XEN_EINVAL);
  if (rt.stateOf(remotePort) !== ECS.UNBOUND || rt.remoteDom[remotePort] !== ld.domid)
    return err(XEN_EINVAL);
  const lport = ld.evtchn.allocate();
  if (lport < 0) return err(XEN_ENOSPC);
  const lt = ld.evtchn;
  lt.state[lport] = ECS.INTERDOMAIN;
  lt.remoteDom[lport] = rd.domid;
  lt.remotePort[lport] = remotePort;
  rt.state[remotePort] = ECS.INTERDOMAIN;
  rt.remoteDom[remotePort] = ld.domid;
  rt.remotePort[remotePort] = lport;
  // Notifications sent while the remote end was unbound are lost: Xen always marks the new port pending.
  setPending(host, ld, lport);
  return ok(lport);
}

export function bindVirq(
  host: EvtchnHost,
  d: Domain,
  virq: number,
  vcpu: number,
): XenResult<number> {
  if (!Number.isInteger(virq) || virq < 0 || virq >= NR_VIRQS) return err(XEN_EINVAL);
  if (!Number.isInteger(vcpu)) return err(XEN_ENOENT);
  const kind = virqKind(virq);
  if (kind !== VIRQ_KIND.PerVcpu && vcpu !== 0) return err(XEN_EINVAL);
  if (kind === VIRQ_KIND.Global && host.globalVirqHandler(virq) !== d.domid) return err(XEN_EBUSY);
  const v = d.vcpus[vcpu];
  if (vcpu < 0 || !v) return err(XEN_ENOENT);
  if (v.virqPort[virq] !== 0) return err(XEN_EEXIST);
  const port = d.evtchn.allocate();
  if (port < 0) return err(XEN_ENOSPC);
  d.evtchn.state[port] = ECS.VIRQ;
  d.evtchn.irq[port] = virq;
  d.evtchn.notifyVcpu[port] = vcpu;
  v.virqPort[virq] = port;
  return ok(port);
}

export function bindIpi(d: Domain, vcpu: number): XenResult<number> {
  if (!Number.isInteger(vcpu) || vcpu < 0 || !d.vcpus[vcpu]) return err(XEN_ENOENT);
  const port = d.evtchn.allocate();
  if (port < 0) return err(XEN_ENOSPC);
  d.evtchn.state[port] = ECS.IPI;
  d.evtchn.notifyVcpu[port] = vcpu;
  return ok(port);
}

/** evtchn_close(): an interdomain peer goes back to UNBOUND, accepting a bind from the closer. */
export function close(host: EvtchnHost, d: Domain, port: number): XenResult<number> {
  const t = d.evtchn;
  if (!t.valid(port)) return err(XEN_EINVAL);
  switch (t.stateOf(port)) {
    case ECS.FREE:
    case ECS.RESERVED:
      return err(XEN_EINVAL);
    case ECS.VIRQ: {
      const virq = t.irq[port] as number;
      const holder = virqKind(virq) === VIRQ_KIND.PerVcpu ? t.notifyVcpu[port] : 0;
      const v = d.vcpus[holder as number];
      if (v && v.virqPort[virq] === port) v.virqPort[virq] = 0;
      break;
    }
    case ECS.INTERDOMAIN: {
      const rd = host.domain(t.remoteDom[port] as number) ?? peerEvenIfDying(host, d, port);
      const rport = t.remotePort[port] as number;
      if (rd && rd.evtchn.stateOf(rport) === ECS.INTERDOMAIN) {
        rd.evtchn.state[rport] = ECS.UNBOUND;
        rd.evtchn.remoteDom[rport] = d.domid;
        rd.evtchn.remotePort[rport] = 0;
      }
      break;
    }
    default:
      break;
  }
  freePort(d, port);
  return OK0;
}

function peerEvenIfDying(host: EvtchnHost, d: Domain, port: number): Domain | undefined {
  const id = d.evtchn.remoteDom[port] as number;
  return id === d.domid ? d : host.domain(id);
}

function freePort(d: Domain, port: number): void {
  clearBit(d.sharedInfo, SHARED_INFO_evtchn_pending, port);
  d.evtchn.free(port);
}

/** EVTCHNOP_send: to an unbound port the event is silently dropped. */
export function send(host: EvtchnHost, d: Domain, port: number): XenResult<number> {
  const t = d.evtchn;
  if (!t.valid(port)) return err(XEN_EINVAL);
  if (host.trace.enabled) host.traceSend(d, port);
  switch (t.stateOf(port)) {
    case ECS.INTERDOMAIN: {
      const rd = t.remoteDom[port] === d.domid ? d : host.domain(t.remoteDom[port] as number);
      if (rd) setPending(host, rd, t.remotePort[port] as number);
      return OK0;
    }
    case ECS.IPI:
      setPending(host, d, port);
      return OK0;
    case ECS.UNBOUND:
      return OK0;
    default:
      return err(XEN_EINVAL);
  }
}

export function status(
  host: EvtchnHost,
  caller: Domain,
  out: EvtchnStatus,
  dom: number,
  port: number,
): XenResult<number> {
  if (!isU16(dom)) return err(XEN_EINVAL);
  const d = lookup(host, caller, dom);
  if (!d) return err(XEN_ESRCH);
  if (d !== caller && !caller.privileged) return err(XEN_EPERM);
  const t = d.evtchn;
  if (!t.valid(port)) return err(XEN_EINVAL);
  out.vcpu = t.stateOf(port) === ECS.FREE ? 0 : (t.notifyVcpu[port] as number);
  switch (t.stateOf(port)) {
    case ECS.UNBOUND:
      out.status = EVTCHNSTAT_unbound;
      out.unbound_dom = t.remoteDom[port] as number;
      break;
    case ECS.INTERDOMAIN:
      out.status = EVTCHNSTAT_interdomain;
      out.interdomain_dom = t.remoteDom[port] as number;
      out.interdomain_port = t.remotePort[port] as number;
      break;
    case ECS.PIRQ:
      out.status = EVTCHNSTAT_pirq;
      out.pirq = t.irq[port] as number;
      break;
    case ECS.VIRQ:
      out.status = EVTCHNSTAT_virq;
      out.virq = t.irq[port] as number;
      break;
    case ECS.IPI:
      out.status = EVTCHNSTAT_ipi;
      break;
    default:
      out.status = EVTCHNSTAT_closed;
      break;
  }
  return OK0;
}

export function bindVcpu(d: Domain, port: number, vcpu: number): XenResult<number> {
  if (!Number.isInteger(vcpu) || vcpu < 0 || !d.vcpus[vcpu]) return err(XEN_ENOENT);
  const t = d.evtchn;
  if (!t.valid(port)) return err(XEN_EINVAL);
  switch (t.stateOf(port)) {
    case ECS.VIRQ:
      if (virqKind(t.irq[port] as number) === VIRQ_KIND.PerVcpu) return err(XEN_EINVAL);
      t.notifyVcpu[port] = vcpu;
      return OK0;
    case ECS.UNBOUND:
    case ECS.INTERDOMAIN:
    case ECS.PIRQ:
      t.notifyVcpu[port] = vcpu;
      return OK0;
    default:
      return err(XEN_EINVAL);
  }
}

/** evtchn_2l_unmask(): clears the mask; a pending event re-raises the upcall. */
export function unmask(host: EvtchnHost, d: Domain, port: number): XenResult<number> {
  if (!d.evtchn.valid(port)) return err(XEN_EINVAL);
  const page = d.sharedInfo;
  const v = d.vcpus[d.evtchn.notifyVcpu[port] as number];
  if (
    testAndClearBit(page, SHARED_INFO_evtchn_mask, port) &&
    testBit(page, SHARED_INFO_evtchn_pending, port) &&
    v !== undefined &&
    !testAndSetBit(page, vcpuInfoOffset(v.id) + VCPU_INFO_evtchn_pending_sel, port >>> 6)
  ) {
    markEventsPending(host, v);
  }
  return OK0;
}

/** EVTCHNOP_reset: closes every channel of `dom` (itself, or a domain paused by the controller). */
export function reset(host: EvtchnHost, caller: Domain, dom: number): XenResult<number> {
  if (!isU16(dom)) return err(XEN_EINVAL);
  const d = lookup(host, caller, dom);
  if (!d) return err(XEN_ESRCH);
  if (d !== caller && !caller.privileged) return err(XEN_EPERM);
  if (d !== caller && d.controllerPauseCount === 0) return err(XEN_EINVAL);
  closeAll(host, d);
  return OK0;
}

/** Closes every bound port (reset, and domain destruction). */
export function closeAll(host: EvtchnHost, d: Domain): void {
  const t = d.evtchn;
  for (let p = 1; p < t.state.length; p++) {
    const s = t.state[p] as number;
    if (s !== ECS.FREE && s !== ECS.RESERVED) close(host, d, p);
  }
}

/** Sends per-vCPU `virq` to `v` if bound (send_guest_vcpu_virq). */
export function sendVcpuVirq(host: EvtchnHost, v: Vcpu, virq: number): void {
  const port = v.virqPort[virq] as number;
  // As Xen does, straight to the vCPU (a per-vCPU VIRQ's notify vCPU is always its own).
  if (port !== 0) setPendingOn(host, v.dom, v, port);
}

/** Sends a global or per-domain `virq` to `d` if bound (send_guest_global_virq). */
export function sendDomainVirq(host: EvtchnHost, d: Domain, virq: number): void {
  const v0 = d.vcpus[0];
  if (!v0) return;
  const port = v0.virqPort[virq] as number;
  if (port !== 0) setPending(host, d, port);
}

/** Whether `port` is pending in `d` (for SCHEDOP_poll). */
export function isPending(d: Domain, port: number): boolean {
  return d.evtchn.valid(port) && testBit(d.sharedInfo, SHARED_INFO_evtchn_pending, port);
}
