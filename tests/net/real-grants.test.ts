// netfront and netback over the REAL grant-table engine and machine memory (tests/grant-tables/world.ts):
// rings mapped with GNTTABOP_map_grant_ref, packet data moved with GNTTABOP_copy.

import { describe, expect, it } from 'vitest';
import {
  NETBACK_BOUNCE_PAGES,
  NetifProcessor,
} from '../../dom0/backends/netback/netif-processor.js';
import { Bridge } from '../../dom0/net/bridge.js';
import { parseIpv4, parseMac } from '../../domU/net/inet.js';
import { NetStack } from '../../domU/net/net-stack.js';
import { NetfrontCore } from '../../domU/net/netfront-core.js';
import { GNTST_okay, GNTTABOP_copy } from '../../hypercalls/grant-table.js';
import { World, type Dom } from '../grant-tables/world.js';

function rig() {
  const w = new World(64 << 20);
  const dom0 = w.domain(0, 64, 4);
  const bridge = new Bridge('xenbr0', { now: () => 0 });
  let busy = true;
  const guests = [1, 2].map((id) => {
    const d: Dom = w.domain(id, 600, 4);
    let nextPfn = 0;
    const core = NetfrontCore.setup({
      allocPage: () => nextPfn++,
      freePage: () => undefined,
      pfnToMfn: (pfn) => d.mem.pfnToMfn(pfn),
      writableView: (pfn) => d.mem.writableView(pfn),
      view: (pfn) => d.mem.view(pfn),
      grantAccess: (mfn, ro) => d.client.grantAccess(0, mfn, ro),
      endAccess: (ref) => d.client.endAccess(ref),
      notify: () => {
        busy = true;
      },
    });
    if (!core.ok) throw new Error(core.error);
    const txMap = dom0.client.map(id, core.value.txRef, false);
    const rxMap = dom0.client.map(id, core.value.rxRef, false);
    expect([txMap.status, rxMap.status]).toEqual([GNTST_okay, GNTST_okay]);
    const bounce = Array.from({ length: NETBACK_BOUNCE_PAGES }, (_, i) => ({
      gmfn: dom0.mem.pfnToMfn(i + 8 * id),
      bytes: dom0.mem.writableView(i + 8 * id) as Uint8Array,
    }));
    const portName = `vif${id}.0`;
    const proc = NetifProcessor.attach(
      dom0.mem.mappedView(txMap.hostAddr) as Uint8Array,
      dom0.mem.mappedView(rxMap.hostAddr) as Uint8Array,
      {
        frontendDomid: id,
        copy: (ops, count) => dom0.op(GNTTABOP_copy, ops, count),
        bounce,
        mtu: 1500,
        rxSg: true,
        deliver: (f) => bridge.input(bridge.port(portName) as never, f),
        now: () => 0,
      },
    );
    if (!proc.ok) throw new Error(proc.error);
    bridge.addPort({ name: portName, kind: 'vif', deliver: (f) => proc.value.enqueueRx(f) });
    const mac = parseMac(`00:16:3e:00:00:0${id}`) as number;
    const stack = new NetStack(
      { mac, mtu: 1500, transmit: (f) => core.value.send(f) },
      { ip: parseIpv4(`10.1.0.${id}`) as number, prefixLen: 24 },
      { now: () => 0 },
    );
    core.value.onFrame = (f) => stack.input(f);
    return { d, core: core.value, proc: proc.value, stack };
  });
  /** Runs both backends and both frontends until nothing moves. */
  const settle = () => {
    for (let i = 0; i < 1000 && busy; i++) {
      busy = false;
      for (const g of guests) {
        const tx = g.proc.processTx(64);
        const rx = g.proc.processRx(64);
        if (tx.fault ?? rx.fault) throw new Error(tx.fault ?? rx.fault ?? '');
        if (tx.packets + rx.packets > 0 || tx.more || rx.more) busy = true;
      }
      for (const g of guests) g.core.onEvent();
    }
  };
  return { guests: guests as [(typeof guests)[0], (typeof guests)[0]], settle };
}

describe('netfront <-> netback over the real grant-table engine', () => {
  it('ping and a UDP datagram cross two vifs and a bridge with GNTTABOP_copy', () => {
    const { guests, settle } = rig();
    const [a, b] = guests;
    let replies = 0;
    a.stack.onEchoReply = () => replies++;
    a.stack.ping(parseIpv4('10.1.0.2') as number, 1, 1, new Uint8Array(56).fill(9));
    settle();
    expect(replies).toBe(1);
    const got: Uint8Array[] = [];
    b.stack.bindUdp(53, (p) => got.push(p.slice()));
    const payload = Uint8Array.from({ length: 1400 }, (_, i) => (i * 7) & 0xff);
    a.stack.sendUdp(parseIpv4('10.1.0.2') as number, 1000, 53, payload);
    settle();
    expect(got).toHaveLength(1);
    expect(Buffer.compare(got[0] as Uint8Array, payload)).toBe(0);
    expect(a.proc.metrics.txPackets).toBe(3); // ARP request, echo request, UDP
  });

  it('a tx slot naming a grant ref the guest never issued is dropped: invalid grant reference', () => {
    const { guests, settle } = rig();
    const [a] = guests;
    const v = a.core.tx.view;
    v.setUint32(64, 3000, true); // gref
    v.setUint16(64 + 4, 0, true);
    v.setUint16(64 + 6, 0, true);
    v.setUint16(64 + 8, 0, true); // id
    v.setUint16(64 + 10, 60, true); // size
    v.setUint32(0, 1, true);
    settle();
    a.proc.processTx(64);
    expect(a.proc.metrics.txDropped).toBe(1);
    expect(a.proc.metrics.lastDrop).toBe('grant copy of slot 0 failed: invalid grant reference');
  });
});
