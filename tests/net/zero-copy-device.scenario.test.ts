import { describe, expect, it } from 'vitest';
import { NETBACK_MAX_MTU, NETBACK_ZC_HOLD_NS } from '../../dom0/backends/netback/netback-device.js';
import type { PageFrag } from '../../domU/net/page-frag.js';
import { NetWorld } from './guest-rig.js';
import { ethHead, pattern } from './zc-rig.js';

/** `bytes` in fresh frames of the fake host (pfn = mfn there): the pieces to send them from. */
function pages(w: NetWorld, bytes: Uint8Array): PageFrag[] {
  const out: PageFrag[] = [];
  for (let off = 0; off < bytes.length; off += 4096) {
    const pfn = w.host.allocFrame();
    const chunk = bytes.subarray(off, off + 4096);
    (w.host.frames.get(pfn) as Uint8Array).set(chunk);
    out.push({ pfn, offset: 0, length: chunk.length });
  }
  return out;
}

describe('zero-copy frames through netback devices', () => {
  it('answers the sender at once when the receiver takes a frame, and within NETBACK_ZC_HOLD_NS when it does not', () => {
    const w = new NetWorld();
    const a = w.addGuest({ domid: 1, mac: '00:16:3e:00:00:01', ip: '10.0.0.1', mtu: 9000 });
    const b = w.addGuest({ domid: 2, mac: '00:16:3e:00:00:02', ip: '10.0.0.2', mtu: 9000 });
    // Both MACs learned.
    a.core.send(ethHead(0xffffffffffff, 0x00163e000001, 50));
    b.core.send(ethHead(0xffffffffffff, 0x00163e000002, 50));
    w.run();
    const data = pattern(8000, 1);
    const frags = pages(w, data);
    const head = ethHead(0x00163e000002, 0x00163e000001, 28);
    let done = 0;
    let got = 0;
    b.core.onFrameParts = () => void got++;
    const burst = (n: number): void => {
      for (let i = 0; i < n; i++) {
        expect(a.core.sendFrags(head, frags, () => void done++, i < n - 1)).toBe(true);
      }
    };
    burst(40);
    w.run();
    expect(got).toBe(40);
    expect(done).toBe(40);
    expect(a.vif.metrics.txZeroCopy).toBe(40);
    // B stops taking frames: its 256 posted buffers (3 per frame) run out and frames wait in its
    // netback queue, holding A's tx slots, until the hold bound copies them into dom0 and answers A.
    const poll = b.core.pollRx.bind(b.core);
    b.core.pollRx = () => 0;
    burst(80);
    w.run();
    expect(done).toBe(120);
    burst(80);
    w.run();
    const early = done - 120;
    expect(early).toBe(Math.floor((256 - 240) / 3));
    expect(a.vif.metrics.txLinearized).toBe(0);
    w.run(NETBACK_ZC_HOLD_NS);
    expect(done).toBe(200);
    expect(a.vif.metrics.txLinearized).toBe(80 - early);
    // B drains again: every frame arrives, the held ones from their dom0 copies.
    b.core.pollRx = poll;
    b.core.onEvent();
    w.run(1_000_000);
    expect(got).toBe(200);
    expect(a.core.counters.txErrors).toBe(0);
  });

  it('a vif takes an mtu up to 65517 (65535 - VLAN_ETH_HLEN); a larger one leaves it at 1500, and its bridge port agrees', () => {
    const w = new NetWorld();
    const a = w.addGuest({
      domid: 1,
      mac: '00:16:3e:00:00:01',
      ip: '10.0.0.1',
      mtu: NETBACK_MAX_MTU,
    });
    const b = w.addGuest({ domid: 2, mac: '00:16:3e:00:00:02', ip: '10.0.0.2', mtu: 70000 });
    expect(a.vif.mtu).toBe(65517);
    expect(b.vif.mtu).toBe(1500);
    const br = w.registry.get('xenbr0');
    expect(br?.port('vif1.0')?.mtu).toBe(65517);
    expect(br?.port('vif2.0')?.mtu).toBe(1500);
  });
});
