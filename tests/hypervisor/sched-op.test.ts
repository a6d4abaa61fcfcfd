import { describe, expect, it } from 'vitest';
import {
  XEN_DOMCTL_INTERFACE_VERSION,
  XEN_DOMCTL_SCHEDOP_getinfo,
  XEN_DOMCTL_SCHEDOP_putinfo,
  XEN_DOMCTL_scheduler_op,
  XEN_SCHEDULER_CREDIT,
  XEN_SCHEDULER_CREDIT2,
} from '../../hypercalls/domctl.js';
import { XEN_EINVAL } from '../../hypercalls/errno.js';
import { EVTCHNOP_bind_ipi, EVTCHNOP_send } from '../../hypercalls/event-channel.js';
import { poll, type GuestCoroutine, type GuestEnv } from '../../hypercalls/guest-interface.js';
import { SCHEDOP_poll } from '../../hypercalls/sched.js';
import {
  XEN_SYSCTL_INTERFACE_VERSION,
  XEN_SYSCTL_SCHEDOP_getinfo,
  XEN_SYSCTL_SCHEDOP_putinfo,
  XEN_SYSCTL_sched_id,
  XEN_SYSCTL_scheduler_op,
} from '../../hypercalls/sysctl.js';
import { consumePendingEvents } from '../../hypercalls/shared-info.js';
import { guest, hc, makeHost } from './helpers.js';

describe('scheduler parameters through domctl/sysctl scheduler_op', () => {
  it('reads and sets weight and cap per domain, and tslice/ratelimit per host, with range checks', () => {
    const hv = makeHost({ scheduler: 'credit' });
    const dom0 = hv.createDom0({ maxVcpus: 1 });
    const d = guest(hv);
    const dop = (u: unknown) =>
      hc(dom0).domctl({
        cmd: XEN_DOMCTL_scheduler_op,
        interface_version: XEN_DOMCTL_INTERFACE_VERSION,
        domain: d.domid,
        u,
      });
    expect(
      dop({
        sched_id: XEN_SCHEDULER_CREDIT,
        cmd: XEN_DOMCTL_SCHEDOP_putinfo,
        u: { weight: 512, cap: 0xffff },
      }),
    ).toBe(0);
    const get = {
      sched_id: XEN_SCHEDULER_CREDIT,
      cmd: XEN_DOMCTL_SCHEDOP_getinfo,
      u: { weight: 0, cap: 0 },
    };
    expect(dop(get)).toBe(0);
    expect(get.u).toEqual({ weight: 512, cap: 0 });
    expect(dop({ sched_id: XEN_SCHEDULER_CREDIT2, cmd: XEN_DOMCTL_SCHEDOP_getinfo, u: {} })).toBe(
      -XEN_EINVAL,
    );
    expect(
      dop({
        sched_id: XEN_SCHEDULER_CREDIT,
        cmd: XEN_DOMCTL_SCHEDOP_putinfo,
        u: { weight: 70000, cap: 0 },
      }),
    ).toBe(-XEN_EINVAL);
    const sop = (u: unknown) =>
      hc(dom0).sysctl({
        cmd: XEN_SYSCTL_scheduler_op,
        interface_version: XEN_SYSCTL_INTERFACE_VERSION,
        u,
      });
    const g = {
      cpupool_id: 0,
      sched_id: XEN_SCHEDULER_CREDIT,
      cmd: XEN_SYSCTL_SCHEDOP_getinfo,
      u: {},
    };
    expect(sop(g)).toBe(0);
    expect(g.u).toEqual({ tslice_ms: 30, ratelimit_us: 1000, vcpu_migr_delay_us: 0 });
    expect(
      sop({
        cpupool_id: 0,
        sched_id: XEN_SCHEDULER_CREDIT,
        cmd: XEN_SYSCTL_SCHEDOP_putinfo,
        u: { tslice_ms: 5, ratelimit_us: 6000 },
      }),
    ).toBe(-XEN_EINVAL);
    expect(
      sop({
        cpupool_id: 0,
        sched_id: XEN_SCHEDULER_CREDIT,
        cmd: XEN_SYSCTL_SCHEDOP_putinfo,
        u: { tslice_ms: 10, ratelimit_us: 500 },
      }),
    ).toBe(0);
    expect(hv.sched.getParams()).toEqual({ tsliceMs: 10, ratelimitUs: 500, vcpuMigrDelayUs: 0 });
    const id = { sched_id: 0 };
    expect(
      hc(dom0).sysctl({
        cmd: XEN_SYSCTL_sched_id,
        interface_version: XEN_SYSCTL_INTERFACE_VERSION,
        u: id,
      }),
    ).toBe(0);
    expect(id.sched_id).toBe(XEN_SCHEDULER_CREDIT);
  });
});

describe('guest execution', () => {
  it('runs the event upcall on the notified vCPU before its coroutine resumes', () => {
    const hv = makeHost({ scheduler: 'credit2' });
    const log: string[] = [];
    let ipi = 0;
    function* prog(env: GuestEnv): GuestCoroutine {
      env.setUpcallHandler((e, vcpu) => {
        consumePendingEvents(e.sharedInfo, vcpu, (p) => log.push(`upcall ${p} at ${e.now()}`));
        return 5_000;
      });
      const b = { vcpu: 0, port: 0 };
      env.hypercalls.event_channel_op(EVTCHNOP_bind_ipi, b);
      ipi = b.port;
      yield 1_000_000;
      log.push(`resumed at ${env.now()}`);
      for (;;) yield 1_000_000;
    }
    const d = guest(hv, { program: prog });
    hv.engine.runFor(500_000);
    expect(hc(d).event_channel_op(EVTCHNOP_send, { port: ipi })).toBe(0);
    hv.engine.runFor(2_000_000);
    expect(log[0]).toBe(`upcall ${ipi} at 500000`);
    // The handler's 5 us of CPU delay the interrupted computation.
    expect(log[1]).toMatch(/^resumed at /);
    const resumed = Number(log[1]?.split(' ')[2]);
    expect(resumed).toBeGreaterThanOrEqual(1_005_000);
  });

  it('SCHEDOP_poll sleeps until a polled port is pending or the timeout passes', () => {
    const hv = makeHost({ scheduler: 'credit2' });
    const wakes: number[] = [];
    let port = 0;
    function* prog(env: GuestEnv): GuestCoroutine {
      const b = { vcpu: 0, port: 0 };
      env.hypercalls.event_channel_op(EVTCHNOP_bind_ipi, b);
      port = b.port;
      // Masked upcalls: poll works without a handler, as a kernel polling a spinlock port does.
      yield* poll(env.hypercalls, [port], env.now() + 3_000_000);
      wakes.push(env.now());
      yield* poll(env.hypercalls, [port], 0);
      wakes.push(env.now());
      for (;;) yield 1_000_000;
    }
    const d = guest(hv, { program: prog });
    hv.engine.runFor(10_000_000);
    expect(wakes.length).toBe(1);
    expect(wakes[0]).toBeGreaterThanOrEqual(3_000_000);
    expect(wakes[0]).toBeLessThan(3_100_000);
    hc(d).event_channel_op(EVTCHNOP_send, { port });
    hv.engine.runFor(1_000_000);
    expect(wakes.length).toBe(2);
    expect(hc(d).sched_op(SCHEDOP_poll, { ports: new Array(129).fill(port), timeout: 0 })).toBe(
      -XEN_EINVAL,
    );
  });
});
