import { describe, expect, it } from 'vitest';
import {
  SHARED_INFO_SIZE,
  SHARED_INFO_arch,
  SHARED_INFO_evtchn_mask,
  SHARED_INFO_evtchn_pending,
  SHARED_INFO_wc_version,
  VCPU_INFO_SIZE,
  VCPU_INFO_evtchn_pending_sel,
  VCPU_INFO_time,
  consumePendingEvents,
  decodeEvtchnWords,
  decodeVcpuInfo,
  encodeEvtchnWords,
  encodeVcpuInfo,
  setBit,
  vcpuInfoOffset,
} from '../../hypercalls/shared-info.js';

describe('shared_info layout (xen.h, x86-64)', () => {
  it('places vcpu_info[32], evtchn_pending, evtchn_mask, wallclock and arch at Xen offsets', () => {
    expect(VCPU_INFO_SIZE).toBe(64);
    expect(vcpuInfoOffset(31)).toBe(31 * 64);
    expect(SHARED_INFO_evtchn_pending).toBe(2048);
    expect(SHARED_INFO_evtchn_mask).toBe(2560);
    expect(SHARED_INFO_wc_version).toBe(3072);
    expect(SHARED_INFO_arch).toBe(3088);
    expect(VCPU_INFO_evtchn_pending_sel).toBe(8);
    expect(VCPU_INFO_time).toBe(32);
    expect(SHARED_INFO_SIZE).toBe(4096);
  });

  it('stores port n as bit n%64 of little-endian 64-bit word n/64', () => {
    const page = new Uint8Array(SHARED_INFO_SIZE);
    setBit(page, SHARED_INFO_evtchn_pending, 65);
    const words = decodeEvtchnWords(new DataView(page.buffer));
    expect(words.evtchn_pending[1]).toBe(2n);
    expect(words.evtchn_pending[0]).toBe(0n);
  });

  it('round-trips vcpu_info and the event words through DataView', () => {
    const page = new Uint8Array(SHARED_INFO_SIZE);
    const view = new DataView(page.buffer);
    const info = {
      evtchn_upcall_pending: 1,
      evtchn_upcall_mask: 0,
      evtchn_pending_sel: 0x8000_0000_0000_0001n,
      time: {
        version: 2,
        tsc_timestamp: 5n,
        system_time: 123456789n,
        tsc_to_system_mul: 7,
        tsc_shift: -1,
        flags: 1,
      },
    };
    encodeVcpuInfo(view, 3, info);
    expect(decodeVcpuInfo(view, 3)).toEqual(info);
    expect(page[3 * 64 + 8]).toBe(1);
    const words = {
      evtchn_pending: Array.from({ length: 64 }, (_, i) => BigInt(i)),
      evtchn_mask: Array.from({ length: 64 }, () => 0xffn),
    };
    encodeEvtchnWords(view, words);
    expect(decodeEvtchnWords(view)).toEqual(words);
  });

  it('consumePendingEvents dispatches unmasked pending ports in order and clears what it took', () => {
    const page = new Uint8Array(SHARED_INFO_SIZE);
    for (const p of [3, 70, 200]) setBit(page, SHARED_INFO_evtchn_pending, p);
    setBit(page, SHARED_INFO_evtchn_mask, 70);
    const o = vcpuInfoOffset(0);
    page[o] = 1;
    setBit(page, o + VCPU_INFO_evtchn_pending_sel, 0);
    setBit(page, o + VCPU_INFO_evtchn_pending_sel, 1);
    setBit(page, o + VCPU_INFO_evtchn_pending_sel, 3);
    const got: number[] = [];
    consumePendingEvents(page, 0, (p) => got.push(p));
    expect(got).toEqual([3, 200]);
    expect(page[o]).toBe(0);
    // The masked port stays pending for a later unmask.
    expect(decodeEvtchnWords(new DataView(page.buffer)).evtchn_pending[1]).toBe(1n << 6n);
  });
});
