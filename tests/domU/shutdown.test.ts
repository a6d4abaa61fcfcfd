// control/shutdown handling (Linux drivers/xen/manage.c): acknowledge by writing "" back in a
// transaction, then SCHEDOP_shutdown with the reason; suspend returns 1 when cancelled, 0 in a new domain.

import { describe, expect, it } from 'vitest';
import { EVTCHNOP_bind_virq } from '../../hypercalls/event-channel.js';
import { SHUTDOWN_poweroff, SHUTDOWN_reboot, SHUTDOWN_suspend } from '../../hypercalls/sched.js';
import { XS_TRANSACTION_END, XS_WATCH } from '../../hypercalls/io/xs-wire.js';
import { FakeXen } from './fake-xen.js';
import { FakeXenstored } from './fake-xenstored.js';
import { bootKernel } from './kernel-harness.js';

const booted = () => {
  const b = bootKernel();
  b.runUntil(() => b.xsd.watches.length >= 4 && b.kernel().xs.outstanding === 0);
  return b;
};

describe('control/shutdown', () => {
  it('poweroff: acknowledged with "" then SCHEDOP_shutdown(poweroff)', () => {
    const { xen, xsd, kernel, runUntil } = booted();
    xsd.set('control/shutdown', 'poweroff');
    expect(runUntil(() => xen.shutdownReason !== null)).toBe(true);
    expect(xen.shutdownReason).toBe(SHUTDOWN_poweroff);
    expect(xsd.get('control/shutdown')).toBe('');
    expect(kernel().shutdownWatcher.handled).toEqual(['poweroff']);
    // The acknowledgement is a committed transaction.
    expect(xsd.requests.some((m) => m.type === XS_TRANSACTION_END && m.payload[0] === 0x54)).toBe(
      true,
    );
  });

  it('reboot: SCHEDOP_shutdown(reboot)', () => {
    const { xen, xsd, runUntil } = booted();
    xsd.set('control/shutdown', 'reboot');
    expect(runUntil(() => xen.shutdownReason !== null)).toBe(true);
    expect(xen.shutdownReason).toBe(SHUTDOWN_reboot);
    expect(xsd.get('control/shutdown')).toBe('');
  });

  it('the acknowledgement is retried when its transaction meets EAGAIN', () => {
    const { xen, xsd, kernel, runUntil } = booted();
    xsd.failCommits = 1;
    xsd.set('control/shutdown', 'poweroff');
    expect(runUntil(() => xen.shutdownReason !== null)).toBe(true);
    expect(kernel().xs.txRetries).toBe(1);
    expect(xsd.get('control/shutdown')).toBe('');
  });

  it('an unknown command is neither acknowledged nor acted on', () => {
    const { xen, xsd, kernel, runUntil } = booted();
    xsd.set('control/shutdown', 'dance');
    runUntil(() => kernel().shutdownWatcher.ignored.length > 0);
    expect(kernel().shutdownWatcher.ignored).toEqual(['dance']);
    expect(xsd.get('control/shutdown')).toBe('dance');
    expect(xen.shutdownReason).toBeNull();
  });

  it('suspend cancelled (SCHEDOP_shutdown returns 1): resumes in place with the same xenstore connection', () => {
    const { xen, xsd, kernel, runUntil } = booted();
    xen.suspendResult = 1;
    const watchesBefore = xsd.requests.filter((m) => m.type === XS_WATCH).length;
    xsd.set('control/shutdown', 'suspend');
    expect(runUntil(() => kernel().shutdownWatcher.suspendResults.length === 1)).toBe(true);
    expect(xen.suspends).toBe(1);
    expect(kernel().shutdownWatcher.suspendResults).toEqual([1]);
    expect(
      xen.calls.some(
        (c) =>
          c.op === 'sched_op' &&
          (c.arg as { reason?: number } | undefined)?.reason === SHUTDOWN_suspend,
      ),
    ).toBe(true);
    // No re-registration after a cancelled suspend; xenstore still answers.
    expect(xsd.requests.filter((m) => m.type === XS_WATCH).length).toBe(watchesBefore);
    xsd.set('control/shutdown', 'poweroff');
    expect(runUntil(() => xen.shutdownReason !== null)).toBe(true);
    expect(xen.shutdownReason).toBe(SHUTDOWN_poweroff);
  });

  it('a suspended domain resumed in place (no restore) is a cancelled suspend even if 0 comes back', () => {
    const { xen, xsd, kernel, runUntil } = booted();
    xen.suspendResult = 0;
    xsd.set('control/shutdown', 'suspend');
    expect(runUntil(() => kernel().shutdownWatcher.suspendResults.length === 1)).toBe(true);
    expect(kernel().shutdownWatcher.suspendResults).toEqual([1]);
    // Nothing was rebound: the same VIRQ_TIMER port and watches serve on.
    expect(xen.count('event_channel_op', EVTCHNOP_bind_virq)).toBe(1);
    xsd.set('control/shutdown', 'reboot');
    expect(runUntil(() => xen.shutdownReason !== null)).toBe(true);
    expect(xen.shutdownReason).toBe(SHUTDOWN_reboot);
  });

  it('restore into a new domain: the program called again on vCPU 0 adopts the new env, suspend returns 0', () => {
    const { xen, xsd, kernel, runUntil, program } = booted();
    xen.freezeOnSuspend = true;
    xsd.set('control/shutdown', 'suspend');
    expect(runUntil(() => xen.shutdownReason === SHUTDOWN_suspend)).toBe(true);
    expect(kernel().suspending).toBe(true);
    // The toolstack restores the memory image into a new domain with a fresh xenstore connection.
    const xen2 = new FakeXen({ memory: xen.memory });
    const xsd2 = new FakeXenstored(xen2);
    for (const [k, v] of xsd.store) xsd2.store.set(k, v);
    const co2 = program(xen2.env, 0);
    expect(xen2.run(co2, () => kernel().shutdownWatcher.suspendResults.length === 1)).toBe(true);
    expect(kernel().shutdownWatcher.suspendResults).toEqual([0]);
    expect(kernel().platform.env).toBe(xen2.env);
    expect(xen2.upcall).not.toBeNull();
    expect(xen2.count('event_channel_op', EVTCHNOP_bind_virq)).toBe(1);
    expect(xen2.run(co2, () => xsd2.watches.length >= 4)).toBe(true);
    xsd2.set('control/shutdown', 'poweroff');
    expect(xen2.run(co2, () => xen2.shutdownReason !== null)).toBe(true);
    expect(xen2.shutdownReason).toBe(SHUTDOWN_poweroff);
    expect(xen.shutdownReason).toBe(SHUTDOWN_suspend);
  });
});
