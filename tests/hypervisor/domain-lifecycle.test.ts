import { describe, expect, it } from 'vitest';
import {
  XEN_DOMCTL_INTERFACE_VERSION,
  XEN_DOMCTL_createdomain,
  XEN_DOMCTL_destroydomain,
  XEN_DOMCTL_getdomaininfo,
  XEN_DOMCTL_pausedomain,
  XEN_DOMCTL_resumedomain,
  XEN_DOMCTL_unpausedomain,
  XEN_DOMINF_blocked,
  XEN_DOMINF_paused,
  XEN_DOMINF_running,
  XEN_DOMINF_shutdown,
  XEN_DOMINF_shutdownshift,
} from '../../hypercalls/domctl.js';
import {
  XEN_EACCES,
  XEN_EEXIST,
  XEN_EINVAL,
  XEN_EPERM,
  XEN_ESRCH,
} from '../../hypercalls/errno.js';
import {
  SCHEDOP_remote_shutdown,
  SCHEDOP_shutdown,
  SCHEDOP_shutdown_code,
  SCHEDOP_watchdog,
  SHUTDOWN_crash,
  SHUTDOWN_reboot,
  SHUTDOWN_suspend,
  SHUTDOWN_watchdog,
} from '../../hypercalls/sched.js';
import {
  XEN_SYSCTL_INTERFACE_VERSION,
  XEN_SYSCTL_getdomaininfolist,
  XEN_SYSCTL_physinfo,
  XEN_SYSCTL_readconsole,
} from '../../hypercalls/sysctl.js';
import { CONSOLEIO_write } from '../../hypercalls/console-io.js';
import type { Domain } from '../../hypervisor/domain.js';
import type { Hypervisor } from '../../hypervisor/hypervisor.js';
import { cpuBound } from '../../hypervisor/workloads/cpu-bound.js';
import { guest, hc, makeHost } from './helpers.js';

const V = XEN_DOMCTL_INTERFACE_VERSION;
const domctl = (from: Domain, cmd: number, domain: number, u: unknown = {}) =>
  hc(from).domctl({ cmd, interface_version: V, domain, u });

interface Info {
  flags: number;
  cpu_time: number;
}

function info(dom0: Domain, domid: number): Info {
  const u = { flags: -1, cpu_time: -1 };
  expect(domctl(dom0, XEN_DOMCTL_getdomaininfo, domid, u)).toBe(0);
  return u;
}

function host(): { hv: Hypervisor; dom0: Domain } {
  const hv = makeHost();
  return { hv, dom0: hv.createDom0({ maxVcpus: 1 }) };
}

describe('domain lifecycle (domain.c, domctl.c)', () => {
  it('allocates domids after the last one allocated, never 0, and refuses a used explicit id', () => {
    const { dom0 } = host();
    const create = (domain: number) => {
      const op = {
        cmd: XEN_DOMCTL_createdomain,
        interface_version: V,
        domain,
        u: {
          flags: 0,
          max_vcpus: 1,
          max_evtchn_port: 1023,
          max_grant_frames: 32,
          max_maptrack_frames: 1024,
        },
      };
      const rc = hc(dom0).domctl(op);
      return rc === 0 ? op.domain : rc;
    };
    expect(create(0)).toBe(1);
    expect(create(0)).toBe(2);
    expect(create(10)).toBe(10);
    expect(create(10)).toBe(-XEN_EEXIST);
    expect(domctl(dom0, XEN_DOMCTL_destroydomain, 1)).toBe(0);
    expect(create(0)).toBe(3); // the rover moves on; a freed id is not reused at once
  });

  it('creates domains paused by the controller; pause counts nest; unpausing at 0 is -EINVAL; pausing yourself is -EINVAL', () => {
    const { hv, dom0 } = host();
    const d = guest(hv, { paused: true });
    expect(info(dom0, d.domid).flags & XEN_DOMINF_paused).toBe(XEN_DOMINF_paused);
    expect(domctl(dom0, XEN_DOMCTL_pausedomain, d.domid)).toBe(0);
    expect(domctl(dom0, XEN_DOMCTL_unpausedomain, d.domid)).toBe(0);
    expect(info(dom0, d.domid).flags & XEN_DOMINF_paused).toBe(XEN_DOMINF_paused);
    expect(domctl(dom0, XEN_DOMCTL_unpausedomain, d.domid)).toBe(0);
    expect(info(dom0, d.domid).flags & XEN_DOMINF_paused).toBe(0);
    expect(domctl(dom0, XEN_DOMCTL_unpausedomain, d.domid)).toBe(-XEN_EINVAL);
    expect(domctl(dom0, XEN_DOMCTL_pausedomain, 0)).toBe(-XEN_EINVAL);
    expect(domctl(dom0, XEN_DOMCTL_destroydomain, 0)).toBe(-XEN_EINVAL);
    expect(domctl(dom0, XEN_DOMCTL_resumedomain, 0)).toBe(-XEN_EINVAL);
    expect(domctl(dom0, XEN_DOMCTL_pausedomain, 4242)).toBe(-XEN_ESRCH);
  });

  it('domctl and sysctl are for the control domain (-EPERM); a wrong interface version is -EACCES', () => {
    const { hv, dom0 } = host();
    const d = guest(hv);
    expect(domctl(d, XEN_DOMCTL_getdomaininfo, 0)).toBe(-XEN_EPERM);
    expect(
      hc(d).sysctl({
        cmd: XEN_SYSCTL_physinfo,
        interface_version: XEN_SYSCTL_INTERFACE_VERSION,
        u: {},
      }),
    ).toBe(-XEN_EPERM);
    expect(
      hc(dom0).domctl({ cmd: XEN_DOMCTL_getdomaininfo, interface_version: 1, domain: 0, u: {} }),
    ).toBe(-XEN_EACCES);
    expect(hc(d).console_io(CONSOLEIO_write, 1, new Uint8Array([65]))).toBe(-XEN_EPERM);
  });

  it('reports running, blocked and shutdown flags by Xen rules', () => {
    const { hv, dom0 } = host();
    const idle = guest(hv);
    const busy = guest(hv, { program: cpuBound() });
    hv.engine.runFor(5_000_000);
    expect(info(dom0, idle.domid).flags & (XEN_DOMINF_blocked | XEN_DOMINF_running)).toBe(
      XEN_DOMINF_blocked,
    );
    expect(info(dom0, busy.domid).flags & (XEN_DOMINF_blocked | XEN_DOMINF_running)).toBe(
      XEN_DOMINF_running,
    );
    expect(info(dom0, busy.domid).cpu_time).toBeGreaterThan(4_000_000);
    expect(hc(idle).sched_op(SCHEDOP_shutdown, { reason: SHUTDOWN_crash })).toBe(0);
    const f = info(dom0, idle.domid).flags;
    expect(f & XEN_DOMINF_shutdown).toBe(XEN_DOMINF_shutdown);
    expect((f >>> XEN_DOMINF_shutdownshift) & 0xff).toBe(SHUTDOWN_crash);
  });

  it('the first shutdown reason wins, and SCHEDOP_shutdown_code latches one in advance', () => {
    const { hv, dom0 } = host();
    const a = guest(hv);
    hc(a).sched_op(SCHEDOP_shutdown, { reason: SHUTDOWN_reboot });
    hc(a).sched_op(SCHEDOP_shutdown, { reason: SHUTDOWN_crash });
    expect((info(dom0, a.domid).flags >>> XEN_DOMINF_shutdownshift) & 0xff).toBe(SHUTDOWN_reboot);
    const b = guest(hv);
    expect(hc(b).sched_op(SCHEDOP_shutdown_code, { reason: SHUTDOWN_suspend })).toBe(0);
    hc(b).sched_op(SCHEDOP_shutdown, { reason: SHUTDOWN_crash });
    expect((info(dom0, b.domid).flags >>> XEN_DOMINF_shutdownshift) & 0xff).toBe(SHUTDOWN_suspend);
    expect(hc(b).sched_op(SCHEDOP_shutdown, { reason: 99 })).toBe(-XEN_EINVAL);
  });

  it('resumedomain clears a suspend shutdown and the domain runs again', () => {
    const { hv, dom0 } = host();
    const d = guest(hv, { program: cpuBound() });
    hc(d).sched_op(SCHEDOP_shutdown, { reason: SHUTDOWN_suspend });
    hv.engine.runFor(1_000_000);
    const t0 = hv.cpuTime(d);
    hv.engine.runFor(5_000_000);
    expect(hv.cpuTime(d)).toBe(t0);
    expect(domctl(dom0, XEN_DOMCTL_resumedomain, d.domid)).toBe(0);
    expect(info(dom0, d.domid).flags & XEN_DOMINF_shutdown).toBe(0);
    hv.engine.runFor(5_000_000);
    expect(hv.cpuTime(d)).toBeGreaterThan(t0);
  });

  it('SCHEDOP_remote_shutdown needs privilege; the watchdog shuts a domain down when it expires', () => {
    const { hv, dom0 } = host();
    const a = guest(hv);
    const b = guest(hv);
    expect(hc(a).sched_op(SCHEDOP_remote_shutdown, { domain_id: b.domid, reason: 0 })).toBe(
      -XEN_EPERM,
    );
    expect(hc(a).sched_op(SCHEDOP_remote_shutdown, { domain_id: 999, reason: 0 })).toBe(-XEN_ESRCH);
    expect(hc(dom0).sched_op(SCHEDOP_remote_shutdown, { domain_id: b.domid, reason: 0 })).toBe(0);
    expect(b.isShutDown).toBe(true);
    expect(hc(a).sched_op(SCHEDOP_watchdog, { id: 0, timeout: 2 })).toBe(1);
    expect(hc(a).sched_op(SCHEDOP_watchdog, { id: 0, timeout: 2 })).toBe(2);
    expect(hc(a).sched_op(SCHEDOP_watchdog, { id: 0, timeout: 2 })).toBe(-28);
    expect(hc(a).sched_op(SCHEDOP_watchdog, { id: 2, timeout: 0 })).toBe(0);
    hv.engine.runFor(1_500_000_000);
    expect(hc(a).sched_op(SCHEDOP_watchdog, { id: 1, timeout: 1 })).toBe(0); // pet it
    hv.engine.runFor(900_000_000);
    expect(a.isShuttingDown).toBe(false);
    hv.engine.runFor(200_000_000);
    expect(a.shutdownCode).toBe(SHUTDOWN_watchdog);
  });

  it('destroy releases the domain: it is gone from getdomaininfo and the list', () => {
    const { hv, dom0 } = host();
    const d = guest(hv);
    expect(domctl(dom0, XEN_DOMCTL_destroydomain, d.domid)).toBe(0);
    expect(domctl(dom0, XEN_DOMCTL_getdomaininfo, d.domid, {})).toBe(-XEN_ESRCH);
    const list = {
      first_domain: 0,
      max_domains: 10,
      buffer: [] as Record<string, number>[],
      num_domains: 0,
    };
    expect(
      hc(dom0).sysctl({
        cmd: XEN_SYSCTL_getdomaininfolist,
        interface_version: XEN_SYSCTL_INTERFACE_VERSION,
        u: list,
      }),
    ).toBe(0);
    expect(list.num_domains).toBe(1);
    expect(list.buffer[0]?.domain).toBe(0);
  });

  it('dom0 console writes land in the console ring that readconsole returns', () => {
    const { dom0 } = host();
    const msg = new TextEncoder().encode('hello from dom0\n');
    expect(hc(dom0).console_io(CONSOLEIO_write, msg.length, msg)).toBe(0);
    const rc = { clear: 0, incremental: 0, index: 0, count: 4096, buffer: new Uint8Array(4096) };
    expect(
      hc(dom0).sysctl({
        cmd: XEN_SYSCTL_readconsole,
        interface_version: XEN_SYSCTL_INTERFACE_VERSION,
        u: rc,
      }),
    ).toBe(0);
    const text = new TextDecoder().decode(rc.buffer.subarray(0, rc.count));
    expect(text).toContain('(XEN) Xen version');
    expect(text).toContain('hello from dom0');
  });
});
