import { describe, expect, it } from 'vitest';
import { XEN_EINVAL, XEN_ENOENT, XEN_ETIME, XEN_ENOSYS } from '../../hypercalls/errno.js';
import {
  RUNSTATE_blocked,
  VCPUOP_down,
  VCPUOP_get_runstate_info,
  VCPUOP_is_up,
  VCPUOP_set_periodic_timer,
  VCPUOP_set_singleshot_timer,
  VCPUOP_up,
  VCPU_SSHOTTMR_future,
} from '../../hypercalls/vcpu.js';
import {
  XENVER_get_features,
  XENVER_pagesize,
  XENVER_version,
  XENVER_commandline,
} from '../../hypercalls/version.js';
import { guest, hc, makeHost } from './helpers.js';

describe('vcpu_op, set_timer_op and xen_version', () => {
  it('VCPUOP_down on the last online vCPU powers the domain off', () => {
    const hv = makeHost();
    const d = guest(hv, { vcpus: 2 });
    expect(hc(d).vcpu_op(VCPUOP_down, 1)).toBe(0);
    expect(hc(d).vcpu_op(VCPUOP_is_up, 1)).toBe(0);
    expect(d.isShuttingDown).toBe(false);
    expect(hc(d).vcpu_op(VCPUOP_up, 1)).toBe(0);
    expect(hc(d).vcpu_op(VCPUOP_is_up, 1)).toBe(1);
    hc(d).vcpu_op(VCPUOP_down, 1);
    expect(hc(d).vcpu_op(VCPUOP_down, 0)).toBe(0);
    expect(d.isShuttingDown).toBe(true);
    expect(d.shutdownCode).toBe(0);
    expect(hc(d).vcpu_op(VCPUOP_is_up, 7)).toBe(-XEN_ENOENT);
  });

  it('a periodic timer under 1 ms is -EINVAL; runstate info accounts blocked time', () => {
    const hv = makeHost();
    const d = guest(hv);
    expect(hc(d).vcpu_op(VCPUOP_set_periodic_timer, 0, { period_ns: 999_999 })).toBe(-XEN_EINVAL);
    expect(hc(d).vcpu_op(VCPUOP_set_periodic_timer, 0, { period_ns: 1_000_000 })).toBe(0);
    hv.engine.runFor(50_000_000);
    const rs = { state: -1, state_entry_time: 0, time: [] as number[] };
    expect(hc(d).vcpu_op(VCPUOP_get_runstate_info, 0, rs)).toBe(0);
    expect(rs.state).toBe(RUNSTATE_blocked);
    expect(rs.time.reduce((a, b) => a + b, 0)).toBe(50_000_000);
    expect(rs.time[RUNSTATE_blocked]).toBeGreaterThan(40_000_000);
  });

  it('set_timer_op always returns 0; a singleshot timer in the past with VCPU_SSHOTTMR_future is -ETIME', () => {
    const hv = makeHost();
    const d = guest(hv, { paused: true });
    hv.engine.runFor(10_000_000);
    expect(hc(d).set_timer_op(-5)).toBe(0);
    expect(hc(d).set_timer_op(0)).toBe(0);
    expect(
      hc(d).vcpu_op(VCPUOP_set_singleshot_timer, 0, {
        timeout_abs_ns: 1,
        flags: VCPU_SSHOTTMR_future,
      }),
    ).toBe(-XEN_ETIME);
    expect(
      hc(d).vcpu_op(VCPUOP_set_singleshot_timer, 0, { timeout_abs_ns: 20_000_000, flags: 0 }),
    ).toBe(0);
    expect(hc(d).vcpu_op(99, 0, {})).toBe(-XEN_ENOSYS);
  });

  it('xen_version answers version, pagesize and features; commandline is privileged', () => {
    const hv = makeHost();
    const dom0 = hv.createDom0({ maxVcpus: 1 });
    const d = guest(hv);
    expect(hc(d).xen_version(XENVER_version)).toBe((4 << 16) | 17);
    expect(hc(d).xen_version(XENVER_pagesize)).toBe(4096);
    const f = { submap_idx: 0, submap: 0 };
    expect(hc(d).xen_version(XENVER_get_features, f)).toBe(0);
    expect(f.submap).not.toBe(0);
    expect(hc(d).xen_version(XENVER_get_features, { submap_idx: 1, submap: 0 })).toBe(-XEN_EINVAL);
    expect(hc(d).xen_version(XENVER_commandline, { value: '' })).toBe(-1);
    expect(hc(dom0).xen_version(XENVER_commandline, { value: '' })).toBe(0);
    expect(hc(d).hypercall(11)).toBe(-XEN_ENOSYS);
  });
});
