import { describe, expect, it } from 'vitest';
import {
  EVTCHNOP_alloc_unbound,
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_bind_ipi,
  EVTCHNOP_bind_vcpu,
  EVTCHNOP_bind_virq,
  EVTCHNOP_close,
  EVTCHNOP_reset,
  EVTCHNOP_send,
  EVTCHNOP_status,
  EVTCHNOP_unmask,
  EVTCHNSTAT_closed,
  EVTCHNSTAT_interdomain,
  EVTCHNSTAT_unbound,
} from '../../hypercalls/event-channel.js';
import {
  XEN_EBUSY,
  XEN_EEXIST,
  XEN_EINVAL,
  XEN_ENOENT,
  XEN_ENOSPC,
  XEN_ENOSYS,
  XEN_EPERM,
  XEN_ESRCH,
} from '../../hypercalls/errno.js';
import { SCHEDOP_shutdown, SHUTDOWN_reboot } from '../../hypercalls/sched.js';
import {
  SHARED_INFO_evtchn_mask,
  SHARED_INFO_evtchn_pending,
  VCPU_INFO_evtchn_upcall_pending,
  setBit,
  testBit,
  vcpuInfoOffset,
} from '../../hypercalls/shared-info.js';
import { VIRQ_DEBUG, VIRQ_DOM_EXC, VIRQ_TIMER } from '../../hypercalls/virq.js';
import { DOMID_SELF } from '../../hypercalls/xen.js';
import type { Domain } from '../../hypervisor/domain.js';
import { guest, hc, makeHost } from './helpers.js';

const pending = (d: Domain, port: number): boolean =>
  testBit(d.sharedInfo, SHARED_INFO_evtchn_pending, port);

function pair() {
  const hv = makeHost();
  const dom0 = hv.createDom0({ maxVcpus: 1 });
  const a = guest(hv, { paused: true });
  const b = guest(hv, { paused: true });
  return { hv, dom0, a, b };
}

function connect(a: Domain, b: Domain): { ap: number; bp: number } {
  const alloc = { dom: DOMID_SELF, remote_dom: b.domid, port: 0 };
  expect(hc(a).event_channel_op(EVTCHNOP_alloc_unbound, alloc)).toBe(0);
  const bind = { remote_dom: a.domid, remote_port: alloc.port, local_port: 0 };
  expect(hc(b).event_channel_op(EVTCHNOP_bind_interdomain, bind)).toBe(0);
  return { ap: alloc.port, bp: bind.local_port };
}

describe('event channels (event_channel.c, event_2l.c)', () => {
  it('never hands out port 0 and allocates the lowest free port first', () => {
    const { a } = pair();
    const ports = [0, 1, 2].map(() => {
      const o = { dom: DOMID_SELF, remote_dom: 0, port: 0 };
      hc(a).event_channel_op(EVTCHNOP_alloc_unbound, o);
      return o.port;
    });
    expect(ports).toEqual([1, 2, 3]);
    expect(hc(a).event_channel_op(EVTCHNOP_close, { port: 2 })).toBe(0);
    const o = { dom: DOMID_SELF, remote_dom: 0, port: 0 };
    hc(a).event_channel_op(EVTCHNOP_alloc_unbound, o);
    expect(o.port).toBe(2);
    expect(hc(a).event_channel_op(EVTCHNOP_close, { port: 0 })).toBe(-XEN_EINVAL);
  });

  it('EVTCHNOP_alloc_unbound for another domain needs privilege (-EPERM) and a live domain (-ESRCH)', () => {
    const { a, b, dom0 } = pair();
    expect(
      hc(a).event_channel_op(EVTCHNOP_alloc_unbound, { dom: b.domid, remote_dom: 0, port: 0 }),
    ).toBe(-XEN_EPERM);
    expect(
      hc(a).event_channel_op(EVTCHNOP_alloc_unbound, { dom: 999, remote_dom: 0, port: 0 }),
    ).toBe(-XEN_ESRCH);
    const o = { dom: b.domid, remote_dom: 0, port: 0 };
    expect(hc(dom0).event_channel_op(EVTCHNOP_alloc_unbound, o)).toBe(0);
    expect(o.port).toBe(1);
  });

  it('EVTCHNOP_bind_interdomain marks the new local port pending (event_channel.h)', () => {
    const { a, b } = pair();
    const { ap, bp } = connect(a, b);
    expect(pending(b, bp)).toBe(true);
    expect(pending(a, ap)).toBe(false);
    const st = { dom: DOMID_SELF, port: ap, status: -1, vcpu: -1 } as Record<string, number>;
    expect(hc(a).event_channel_op(EVTCHNOP_status, st)).toBe(0);
    expect(st.status).toBe(EVTCHNSTAT_interdomain);
    expect(st.interdomain_dom).toBe(b.domid);
    expect(st.interdomain_port).toBe(bp);
  });

  it('EVTCHNOP_bind_interdomain needs an unbound remote port that accepts the caller (-EINVAL)', () => {
    const { hv, a, b } = pair();
    const c = guest(hv, { paused: true });
    const alloc = { dom: DOMID_SELF, remote_dom: b.domid, port: 0 };
    hc(a).event_channel_op(EVTCHNOP_alloc_unbound, alloc);
    expect(
      hc(c).event_channel_op(EVTCHNOP_bind_interdomain, {
        remote_dom: a.domid,
        remote_port: alloc.port,
        local_port: 0,
      }),
    ).toBe(-XEN_EINVAL);
    expect(
      hc(b).event_channel_op(EVTCHNOP_bind_interdomain, {
        remote_dom: a.domid,
        remote_port: 4000,
        local_port: 0,
      }),
    ).toBe(-XEN_EINVAL);
    expect(
      hc(b).event_channel_op(EVTCHNOP_bind_interdomain, {
        remote_dom: 777,
        remote_port: 1,
        local_port: 0,
      }),
    ).toBe(-XEN_ESRCH);
  });

  it('EVTCHNOP_send sets the peer pending and raises its upcall; to an unbound port it is dropped and returns 0', () => {
    const { a, b } = pair();
    const { ap, bp } = connect(a, b);
    b.sharedInfo[vcpuInfoOffset(0) + VCPU_INFO_evtchn_upcall_pending] = 0;
    b.sharedInfo.fill(0, SHARED_INFO_evtchn_pending, SHARED_INFO_evtchn_pending + 512);
    b.sharedInfo.fill(0, vcpuInfoOffset(0) + 8, vcpuInfoOffset(0) + 16);
    expect(hc(a).event_channel_op(EVTCHNOP_send, { port: ap })).toBe(0);
    expect(pending(b, bp)).toBe(true);
    expect(b.sharedInfo[vcpuInfoOffset(0) + VCPU_INFO_evtchn_upcall_pending]).toBe(1);
    const un = { dom: DOMID_SELF, remote_dom: b.domid, port: 0 };
    hc(a).event_channel_op(EVTCHNOP_alloc_unbound, un);
    expect(hc(a).event_channel_op(EVTCHNOP_send, { port: un.port })).toBe(0);
    expect(hc(a).event_channel_op(EVTCHNOP_send, { port: 500 })).toBe(-XEN_EINVAL);
    expect(hc(a).event_channel_op(EVTCHNOP_send, { port: 5000 })).toBe(-XEN_EINVAL);
  });

  it('EVTCHNOP_close of an interdomain end puts the peer back to unbound, accepting the closer', () => {
    const { a, b } = pair();
    const { ap, bp } = connect(a, b);
    expect(hc(a).event_channel_op(EVTCHNOP_close, { port: ap })).toBe(0);
    const st = { dom: DOMID_SELF, port: bp, status: -1, vcpu: -1 } as Record<string, number>;
    hc(b).event_channel_op(EVTCHNOP_status, st);
    expect(st.status).toBe(EVTCHNSTAT_unbound);
    expect(st.unbound_dom).toBe(a.domid);
    const st2 = { dom: DOMID_SELF, port: ap, status: -1, vcpu: -1 } as Record<string, number>;
    hc(a).event_channel_op(EVTCHNOP_status, st2);
    expect(st2.status).toBe(EVTCHNSTAT_closed);
    // The closer can bind again to the port it left unbound.
    const again = { remote_dom: b.domid, remote_port: bp, local_port: 0 };
    expect(hc(a).event_channel_op(EVTCHNOP_bind_interdomain, again)).toBe(0);
  });

  it('EVTCHNOP_status of another domain needs privilege; out-of-range ports are -EINVAL', () => {
    const { a, b, dom0 } = pair();
    expect(hc(a).event_channel_op(EVTCHNOP_status, { dom: b.domid, port: 1 })).toBe(-XEN_EPERM);
    expect(
      hc(dom0).event_channel_op(EVTCHNOP_status, { dom: b.domid, port: 1, status: -1, vcpu: 0 }),
    ).toBe(0);
    expect(hc(a).event_channel_op(EVTCHNOP_status, { dom: DOMID_SELF, port: 1024 })).toBe(
      -XEN_EINVAL,
    );
  });

  it('EVTCHNOP_bind_virq enforces the VIRQ rules (per-vCPU, global owner, duplicates)', () => {
    const { a, dom0 } = pair();
    const v = { virq: VIRQ_TIMER, vcpu: 0, port: 0 };
    expect(hc(a).event_channel_op(EVTCHNOP_bind_virq, v)).toBe(0);
    expect(hc(a).event_channel_op(EVTCHNOP_bind_virq, { virq: VIRQ_TIMER, vcpu: 0, port: 0 })).toBe(
      -XEN_EEXIST,
    );
    expect(hc(a).event_channel_op(EVTCHNOP_bind_virq, { virq: 24, vcpu: 0, port: 0 })).toBe(
      -XEN_EINVAL,
    );
    expect(hc(a).event_channel_op(EVTCHNOP_bind_virq, { virq: VIRQ_DEBUG, vcpu: 5, port: 0 })).toBe(
      -XEN_ENOENT,
    );
    expect(
      hc(a).event_channel_op(EVTCHNOP_bind_virq, { virq: VIRQ_DOM_EXC, vcpu: 1, port: 0 }),
    ).toBe(-XEN_EINVAL);
    expect(
      hc(a).event_channel_op(EVTCHNOP_bind_virq, { virq: VIRQ_DOM_EXC, vcpu: 0, port: 0 }),
    ).toBe(-XEN_EBUSY);
    expect(
      hc(dom0).event_channel_op(EVTCHNOP_bind_virq, { virq: VIRQ_DOM_EXC, vcpu: 0, port: 0 }),
    ).toBe(0);
    // A per-vCPU VIRQ cannot be re-targeted; an interdomain port can, to an existing vCPU only.
    expect(hc(a).event_channel_op(EVTCHNOP_bind_vcpu, { port: v.port, vcpu: 0 })).toBe(-XEN_EINVAL);
    expect(hc(a).event_channel_op(EVTCHNOP_bind_vcpu, { port: v.port, vcpu: 3 })).toBe(-XEN_ENOENT);
  });

  it('VIRQ_DOM_EXC reaches dom0 when a domain shuts down', () => {
    const { a, dom0 } = pair();
    const v = { virq: VIRQ_DOM_EXC, vcpu: 0, port: 0 };
    expect(hc(dom0).event_channel_op(EVTCHNOP_bind_virq, v)).toBe(0);
    expect(pending(dom0, v.port)).toBe(false);
    expect(hc(a).sched_op(SCHEDOP_shutdown, { reason: SHUTDOWN_reboot })).toBe(0);
    expect(pending(dom0, v.port)).toBe(true);
  });

  it('EVTCHNOP_unmask re-raises an event that became pending while masked', () => {
    const { a } = pair();
    const ipi = { vcpu: 0, port: 0 };
    expect(hc(a).event_channel_op(EVTCHNOP_bind_ipi, ipi)).toBe(0);
    setBit(a.sharedInfo, SHARED_INFO_evtchn_mask, ipi.port);
    const up = vcpuInfoOffset(0) + VCPU_INFO_evtchn_upcall_pending;
    a.sharedInfo[up] = 0;
    expect(hc(a).event_channel_op(EVTCHNOP_send, { port: ipi.port })).toBe(0);
    expect(pending(a, ipi.port)).toBe(true);
    expect(a.sharedInfo[up]).toBe(0);
    expect(hc(a).event_channel_op(EVTCHNOP_unmask, { port: ipi.port })).toBe(0);
    expect(a.sharedInfo[up]).toBe(1);
    expect(hc(a).event_channel_op(EVTCHNOP_bind_ipi, { vcpu: 9, port: 0 })).toBe(-XEN_ENOENT);
  });

  it('the per-domain limit (default 1023) ends allocation with -ENOSPC', () => {
    const hv = makeHost();
    const r = hv.createDomain({ maxVcpus: 1, maxEvtchnPort: 5 });
    if (!r.ok) throw new Error('create');
    const d = r.value;
    const got: number[] = [];
    for (let i = 0; i < 6; i++)
      got.push(
        hc(d).event_channel_op(EVTCHNOP_alloc_unbound, { dom: DOMID_SELF, remote_dom: 0, port: 0 }),
      );
    expect(got).toEqual([0, 0, 0, 0, 0, -XEN_ENOSPC]);
    const def = guest(hv, { paused: true });
    expect(def.evtchn.maxPort).toBe(1023);
  });

  it('EVTCHNOP_reset closes every channel of the caller; of another domain only when paused by the controller', () => {
    const { a, b, dom0 } = pair();
    connect(a, b);
    expect(hc(a).event_channel_op(EVTCHNOP_reset, { dom: DOMID_SELF })).toBe(0);
    expect(a.evtchn.inUse).toBe(1);
    hc(b).event_channel_op(EVTCHNOP_alloc_unbound, { dom: DOMID_SELF, remote_dom: 0, port: 0 });
    expect(hc(a).event_channel_op(EVTCHNOP_reset, { dom: b.domid })).toBe(-XEN_EPERM);
    expect(hc(dom0).event_channel_op(EVTCHNOP_reset, { dom: b.domid })).toBe(0); // b is still paused from creation
  });

  it('garbage arguments give an errno, never a throw', () => {
    const { a } = pair();
    const h = hc(a);
    expect(h.event_channel_op(EVTCHNOP_send, null)).toBe(-14);
    expect(h.event_channel_op(EVTCHNOP_send, { port: 'x' })).toBe(-XEN_EINVAL);
    expect(h.event_channel_op(EVTCHNOP_alloc_unbound, { dom: -1, remote_dom: 1.5 })).toBe(
      -XEN_EINVAL,
    );
    expect(h.event_channel_op(99, {})).toBe(-XEN_ENOSYS);
    const evil = Object.freeze({ dom: DOMID_SELF, remote_dom: 0, port: 0 });
    expect(h.event_channel_op(EVTCHNOP_alloc_unbound, evil)).toBe(-14);
    const throwing = {
      get port(): number {
        throw new Error('boom');
      },
    };
    expect(h.event_channel_op(EVTCHNOP_send, throwing)).toBe(-14);
  });
});
