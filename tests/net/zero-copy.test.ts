import { describe, expect, it } from 'vitest';
import { NETBACK_TX_COPY_LEN } from '../../dom0/net/net-frame.js';
import { addUplink } from '../../dom0/net/uplink.js';
import { NETFRONT_MAX_SLOTS } from '../../domU/net/netfront-core.js';
import type { PageFrag } from '../../domU/net/page-frag.js';
import { concat, ethHead, pattern, ZcRig, type ZcVif } from './zc-rig.js';

const BROADCAST = 0xffffffffffff;

/** A rig whose bridge learned every vif's MAC (each sent one small broadcast). */
function rigWith(mtus: number[]): { r: ZcRig; v: ZcVif[] } {
  const r = new ZcRig();
  const v = mtus.map((m, i) => r.addVif(i + 1, m));
  for (const x of v) x.core.send(ethHead(BROADCAST, x.mac, 50));
  r.pump();
  for (const x of v) x.got.length = 0;
  return { r, v };
}

/** Sends head + data from `from`'s pages; returns the expected frame and the `done` calls. */
function sendZc(r: ZcRig, from: ZcVif, dst: number, dataBytes: number, seed = 1) {
  const head = ethHead(dst, from.mac, 28);
  const data = pattern(dataBytes, seed);
  const frags = r.dataPages(from, data);
  const done: boolean[] = [];
  expect(from.core.sendFrags(head, frags, (ok) => done.push(ok))).toBe(true);
  return { frame: concat(head, data), done, frags };
}

describe('zero-copy transmit (netfront sendFrags, netback foreign fragments)', () => {
  it('a frame forwarded to one vif is copied once, straight from the sender grants, and its tx slots complete once', () => {
    const { r, v } = rigWith([9000, 9000]);
    const [a, b] = v as [ZcVif, ZcVif];
    const s = sendZc(r, a, b.mac, 8000);
    r.tx();
    // The frame sits in B's queue holding A's slots: not answered yet.
    expect(s.done).toEqual([]);
    expect(a.proc.zc?.outstanding).toBe(1);
    r.rx();
    expect(b.got).toEqual([s.frame]);
    expect(s.done).toEqual([true]);
    expect(a.proc.metrics.txZeroCopy).toBe(1);
    expect(a.proc.metrics.txLinearized).toBe(0);
    expect(a.proc.zc?.outstanding).toBe(0);
    // The answers were written outside A's tx round, so netback asked for a push.
    expect(a.state.completions).toBe(1);
    r.pump();
    expect(s.done).toEqual([true]);
  });

  it('netback copies only the first XEN_NETBACK_TX_COPY_LEN bytes at tx; a short frame is copied whole', () => {
    const { r, v } = rigWith([1500, 1500]);
    const [a, b] = v as [ZcVif, ZcVif];
    const small = sendZc(r, a, b.mac, NETBACK_TX_COPY_LEN - 42);
    r.tx();
    // At most 128 bytes: no fragments, answered at once.
    expect(a.proc.metrics.txZeroCopy).toBe(0);
    r.rx();
    expect(small.done).toEqual([true]);
    expect(b.got).toEqual([small.frame]);
  });

  it('a flooded frame reaches every other vif intact, copied once, and completes once', () => {
    const { r, v } = rigWith([9000, 9000, 9000]);
    const [a, b, c] = v as [ZcVif, ZcVif, ZcVif];
    const s = sendZc(r, a, 0x00163e0000ee, 6000, 2); // nobody has this MAC: flood
    r.pump();
    expect(b.got).toEqual([s.frame]);
    expect(c.got).toEqual([s.frame]);
    expect(a.got).toEqual([]);
    expect(s.done).toEqual([true]);
    expect(a.proc.metrics.txLinearized).toBe(1);
    expect(r.bridge.counters.floods).toBeGreaterThan(0);
  });

  it('a captured frame is seen intact by the tap and by the receiver, and completes once', () => {
    const { r, v } = rigWith([9000, 9000]);
    const [a, b] = v as [ZcVif, ZcVif];
    const seen: Uint8Array[] = [];
    a.port.taps.push((f, _t, dir) => {
      if (dir === 'in') seen.push(f.slice());
    });
    const s = sendZc(r, a, b.mac, 7000, 3);
    r.pump();
    expect(seen).toEqual([s.frame]);
    expect(b.got).toEqual([s.frame]);
    expect(s.done).toEqual([true]);
    expect(a.proc.metrics.txLinearized).toBe(1);
  });

  it('a frame to the uplink leaves the host intact and completes once', () => {
    const { r, v } = rigWith([9000]);
    const [a] = v as [ZcVif];
    const wire: Uint8Array[] = [];
    const up = addUplink(r.bridge, (f) => wire.push(f.slice()), { mtu: 9000 });
    if (!up.ok) throw new Error(up.error);
    const far = 0x00163e0000aa;
    r.bridge.input(up.port, ethHead(BROADCAST, far, 50)); // the bridge learns `far` on eth0
    wire.length = 0;
    const s = sendZc(r, a, far, 5000, 4);
    r.pump();
    expect(wire).toEqual([s.frame]);
    expect(s.done).toEqual([true]);
  });

  it('a frame whose sender revoked its grant before the rx copy is dropped with a counted reason; the receiver and bridge carry on', () => {
    const { r, v } = rigWith([9000, 9000]);
    const [a, b] = v as [ZcVif, ZcVif];
    const before = a.grants.length;
    const s = sendZc(r, a, b.mac, 8000, 5);
    const dataGrants = a.grants.slice(before);
    expect(dataGrants.length).toBe(s.frags.length);
    r.tx();
    // The guest ends access to its data pages behind netback's back (no mapping holds them).
    for (const ref of dataGrants) expect(a.dom.client.endAccess(ref)).toBe(true);
    r.rx();
    expect(b.got).toEqual([]);
    expect(b.proc.metrics.rxFragErrors).toBe(1);
    expect(b.proc.metrics.lastDrop).toMatch(/sender's grant/);
    expect(b.core.counters.rxErrors).toBeGreaterThan(0);
    // A's slots were answered once; its grants were gone already, so done reports failure.
    expect(s.done).toEqual([false]);
    const next = sendZc(r, a, b.mac, 8000, 6);
    r.pump();
    expect(b.got).toEqual([next.frame]);
    expect(next.done).toEqual([true]);
    expect(b.core.broken).toBeNull();
  });

  it('a frame over the vif mtu is dropped by netback with a reason; one over the egress port mtu by the bridge', () => {
    const r = new ZcRig();
    const a = r.addVif(1, 1500);
    const b = r.addVif(2, 9000, 1500); // its bridge port carries at most 1500
    const c = r.addVif(3, 9000);
    for (const x of [a, b, c]) x.core.send(ethHead(BROADCAST, x.mac, 50));
    r.pump();
    b.got.length = 0;
    const big = sendZc(r, a, b.mac, 3000, 7);
    r.pump();
    expect(a.proc.metrics.txDropped).toBe(1);
    expect(a.proc.metrics.lastDrop).toMatch(/exceeds MTU 1500/);
    expect(big.done).toEqual([false]);
    const toB = sendZc(r, c, b.mac, 3000, 8);
    r.pump();
    expect(b.got).toEqual([]);
    expect(b.port.counters.txDropped).toBe(1);
    expect(toB.done).toEqual([true]);
    // Within the MTU the same path delivers.
    const ok = sendZc(r, c, b.mac, 1400, 9);
    r.pump();
    expect(b.got).toEqual([ok.frame]);
  });

  it('the hold bound copies a frame the receiver does not take into dom0 and answers the sender', () => {
    const { r, v } = rigWith([9000, 9000]);
    const [a, b] = v as [ZcVif, ZcVif];
    const s = sendZc(r, a, b.mac, 8000, 10);
    r.tx();
    expect(a.proc.zc?.expire(0)).toBe(1);
    a.proc.pushTxCompletions();
    a.core.collectTx();
    expect(s.done).toEqual([true]);
    // The sender may reuse its pages now; the receiver still gets the bytes it sent.
    for (const f of s.frags) (a.dom.mem.writableView(f.pfn) as Uint8Array).fill(0xee);
    r.rx();
    expect(b.got).toEqual([s.frame]);
    expect(a.proc.metrics.txLinearized).toBe(1);
  });

  it('frames of a vif that goes away are copied into dom0 first, so receivers still get them', () => {
    const { r, v } = rigWith([9000, 9000]);
    const [a, b] = v as [ZcVif, ZcVif];
    const s = sendZc(r, a, b.mac, 8000, 11);
    r.tx();
    a.proc.zc?.close();
    r.bridge.removePort(a.port.name);
    b.proc.processRx(64);
    b.core.pollRx();
    expect(b.got).toEqual([s.frame]);
  });

  it('a maximum-MTU frame spans 17 tx slots and arrives byte-exact', () => {
    const mtu = 65535 - 18;
    const { r, v } = rigWith([mtu, mtu]);
    const [a, b] = v as [ZcVif, ZcVif];
    const s = sendZc(r, a, b.mac, mtu - 28, 12);
    expect(s.frags.length + 1).toBeLessThanOrEqual(NETFRONT_MAX_SLOTS);
    r.pump();
    expect(b.got).toEqual([s.frame]);
    expect(s.done).toEqual([true]);
  });
});

describe('NetfrontCore.sendFrags', () => {
  it('grants each data page read-only, and ends every grant before done', () => {
    const { r, v } = rigWith([9000, 9000]);
    const [a, b] = v as [ZcVif, ZcVif];
    const before = a.grants.length;
    const s = sendZc(r, a, b.mac, 5000, 13);
    const refs = a.grants.slice(before);
    for (const ref of refs) expect(a.dom.client.entry(ref)?.flags).toBe(0x1 | 0x4); // permit | readonly
    r.pump();
    expect(s.done).toEqual([true]);
    // Ended: the entries are cleared, so the backend can no longer reach the pages.
    for (const ref of refs) expect(a.dom.client.entry(ref)?.flags).toBe(0);
  });

  it('refuses a frame with more pieces than netback accepts, or a piece past its page, without touching the ring', () => {
    const { v } = rigWith([9000]);
    const [a] = v as [ZcVif];
    const prod = a.core.tx.reqProdPvt;
    const many: PageFrag[] = Array.from({ length: NETFRONT_MAX_SLOTS }, (_, i) => ({
      pfn: 600 + i,
      offset: 0,
      length: 100,
    }));
    const calls: boolean[] = [];
    expect(a.core.sendFrags(ethHead(BROADCAST, a.mac), many, (ok) => calls.push(ok))).toBe(false);
    const past = [{ pfn: 600, offset: 4000, length: 200 }];
    expect(a.core.sendFrags(ethHead(BROADCAST, a.mac), past, (ok) => calls.push(ok))).toBe(false);
    expect(a.core.tx.reqProdPvt).toBe(prod);
    expect(calls).toEqual([]);
  });
});
