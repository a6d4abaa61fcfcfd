// HYPERVISOR_event_channel_op: argument checking and OUT fields around the semantic functions of
// evtchn/event-channel.ts (xen/common/event_channel.c do_event_channel_op).

import {
  EVTCHNOP_alloc_unbound,
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_bind_ipi,
  EVTCHNOP_bind_pirq,
  EVTCHNOP_bind_vcpu,
  EVTCHNOP_bind_virq,
  EVTCHNOP_close,
  EVTCHNOP_reset,
  EVTCHNOP_send,
  EVTCHNOP_status,
  EVTCHNOP_unmask,
  type EvtchnStatus,
} from '../hypercalls/event-channel.js';
import {
  XEN_EFAULT,
  XEN_EINVAL,
  XEN_ENOSYS,
  XEN_EPERM,
  err,
  ok,
  type XenResult,
} from '../hypercalls/errno.js';
import { U32_MAX, intField, struct } from './args.js';
import type { Domain } from './domain.js';
import * as ev from './evtchn/event-channel.js';
import type { Hypervisor } from './hypervisor.js';

/** nr_pirqs of a PV domain without passthrough (nr_static_irqs + extra_domU_irqs). */
const NR_PIRQS = 288;

/** Reads an evtchn_port_t field: a uint32, else NaN. */
const portField = (o: Record<string, unknown>, k: string): number => intField(o, k, 0, U32_MAX);

export function eventChannelOp(
  hv: Hypervisor,
  d: Domain,
  cmd: unknown,
  arg: unknown,
): XenResult<number> {
  const o = struct(arg);
  if (!o)
    return typeof cmd === 'number' && cmd >= 0 && cmd <= 10 ? err(XEN_EFAULT) : err(XEN_ENOSYS);
  const host = hv.evtchnHost;
  switch (cmd) {
    case EVTCHNOP_send: {
      const port = portField(o, 'port');
      return Number.isNaN(port) ? err(XEN_EINVAL) : ev.send(host, d, port);
    }
    case EVTCHNOP_alloc_unbound: {
      const r = ev.allocUnbound(host, d, num(o.dom), num(o.remote_dom));
      if (r.ok) o.port = r.value;
      return r.ok ? ok(0) : r;
    }
    case EVTCHNOP_bind_interdomain: {
      const rport = portField(o, 'remote_port');
      if (Number.isNaN(rport)) return err(XEN_EINVAL);
      const r = ev.bindInterdomain(host, d, num(o.remote_dom), rport);
      if (r.ok) o.local_port = r.value;
      return r.ok ? ok(0) : r;
    }
    case EVTCHNOP_bind_virq: {
      const r = ev.bindVirq(host, d, num(o.virq), num(o.vcpu));
      if (r.ok) o.port = r.value;
      return r.ok ? ok(0) : r;
    }
    case EVTCHNOP_bind_ipi: {
      const r = ev.bindIpi(d, num(o.vcpu));
      if (r.ok) o.port = r.value;
      return r.ok ? ok(0) : r;
    }
    case EVTCHNOP_close: {
      const port = portField(o, 'port');
      return Number.isNaN(port) ? err(XEN_EINVAL) : ev.close(host, d, port);
    }
    case EVTCHNOP_status: {
      const port = portField(o, 'port');
      if (Number.isNaN(port)) return err(XEN_EINVAL);
      return ev.status(host, d, o as unknown as EvtchnStatus, num(o.dom), port);
    }
    case EVTCHNOP_bind_vcpu: {
      const port = portField(o, 'port');
      return ev.bindVcpu(d, Number.isNaN(port) ? -1 : port, num(o.vcpu));
    }
    case EVTCHNOP_unmask: {
      const port = portField(o, 'port');
      return Number.isNaN(port) ? err(XEN_EINVAL) : ev.unmask(host, d, port);
    }
    case EVTCHNOP_reset:
      return ev.reset(host, d, num(o.dom));
    case EVTCHNOP_bind_pirq: {
      // DEVIATION(xen): no physical IRQs are simulated, so no domain has access to any pirq.
      const pirq = num(o.pirq);
      return !Number.isInteger(pirq) || pirq < 0 || pirq >= NR_PIRQS
        ? err(XEN_EINVAL)
        : err(XEN_EPERM);
    }
    default:
      // bind_pirq needs physical IRQs; FIFO ops (init_control, expand_array, set_priority) are not offered.
      return err(XEN_ENOSYS);
  }
}

/** A number field or NaN (the semantic functions range-check). */
function num(x: unknown): number {
  return typeof x === 'number' ? x : NaN;
}
