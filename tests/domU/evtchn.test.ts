// The guest's 2-level event demultiplexer against real shared_info bytes (xen/common/event_2l.c on
// Xen's side, Linux drivers/xen/events/events_2l.c on the guest's).

import { describe, expect, it } from 'vitest';
import { EventChannels } from '../../domU/evtchn.js';
import {
  SHARED_INFO_evtchn_mask,
  SHARED_INFO_evtchn_pending,
  VCPU_INFO_evtchn_pending_sel,
  VCPU_INFO_evtchn_upcall_pending,
  setBit,
  testBit,
  vcpuInfoOffset,
} from '../../hypercalls/shared-info.js';
import { FakeXen } from './fake-xen.js';

function setup() {
  const xen = new FakeXen();
  const ev = new EventChannels(xen.env);
  ev.register();
  const got: number[] = [];
  for (const p of [1, 5, 63, 64, 100, 1023, 4095]) ev.on(p, (port) => got.push(port));
  return { xen, ev, got, s: xen.shared };
}

const upcallPending = (s: Uint8Array) => s[vcpuInfoOffset(0) + VCPU_INFO_evtchn_upcall_pending];

describe('2-level event demux', () => {
  it('dispatches pending ports lowest first, clears pending, selector and upcall_pending (events_2l.c)', () => {
    const { xen, got, s } = setup();
    for (const p of [100, 5, 4095, 64]) xen.raise(p);
    expect(upcallPending(s)).toBe(1);
    expect(xen.deliver()).toBe(true);
    expect(got).toEqual([5, 64, 100, 4095]);
    for (const p of [5, 64, 100, 4095])
      expect(testBit(s, SHARED_INFO_evtchn_pending, p)).toBe(false);
    expect(upcallPending(s)).toBe(0);
    const sel = new DataView(s.buffer).getBigUint64(
      vcpuInfoOffset(0) + VCPU_INFO_evtchn_pending_sel,
      true,
    );
    expect(sel).toBe(0n);
  });

  it('an edge already pending is not recorded twice: one dispatch per set_pending burst', () => {
    const { xen, got } = setup();
    xen.raise(1);
    xen.raise(1);
    xen.deliver();
    expect(got).toEqual([1]);
  });

  it('a masked port stays pending and is not delivered until unmask, which re-raises the upcall', () => {
    const { xen, ev, got, s } = setup();
    ev.mask(63);
    xen.raise(63);
    // Xen sets pending but neither the selector bit nor upcall_pending for a masked port.
    expect(testBit(s, SHARED_INFO_evtchn_pending, 63)).toBe(true);
    expect(upcallPending(s)).toBe(0);
    expect(xen.deliver()).toBe(false);
    expect(got).toEqual([]);
    ev.unmask(63);
    expect(testBit(s, SHARED_INFO_evtchn_mask, 63)).toBe(false);
    expect(upcallPending(s)).toBe(1);
    xen.deliver();
    expect(got).toEqual([63]);
  });

  it('a masked port whose selector bit was set by another port is skipped by the scan', () => {
    const { xen, ev, got, s } = setup();
    ev.mask(5);
    setBit(s, SHARED_INFO_evtchn_pending, 5);
    xen.raise(1); // same word 0: sets the selector bit
    xen.deliver();
    expect(got).toEqual([1]);
    expect(testBit(s, SHARED_INFO_evtchn_pending, 5)).toBe(true);
    ev.unmask(5);
    xen.deliver();
    expect(got).toEqual([1, 5]);
  });

  it('unmask of a port that is not pending raises nothing', () => {
    const { ev, s } = setup();
    ev.mask(100);
    ev.unmask(100);
    expect(upcallPending(s)).toBe(0);
  });

  it('an event raised by a handler during the upcall is dispatched in the same upcall (re-check loop)', () => {
    const { xen, ev, got } = setup();
    ev.on(5, (p) => {
      got.push(p);
      if (got.length === 1) xen.raise(5);
    });
    xen.raise(5);
    xen.deliver();
    expect(got).toEqual([5, 5]);
  });

  it('a pending port without a handler counts as spurious and is cleared', () => {
    const { xen, ev, s } = setup();
    xen.raise(7);
    xen.deliver();
    expect(ev.spurious).toBe(1);
    expect(testBit(s, SHARED_INFO_evtchn_pending, 7)).toBe(false);
  });

  it('upcall_mask set by Xen holds delivery back (no re-entry while the handler runs)', () => {
    const { xen, got, s } = setup();
    s[vcpuInfoOffset(0) + 1] = 1;
    xen.raise(1);
    expect(xen.deliver()).toBe(false);
    s[vcpuInfoOffset(0) + 1] = 0;
    expect(xen.deliver()).toBe(true);
    expect(got).toEqual([1]);
  });
});
