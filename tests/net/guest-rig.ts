// Guests on a FakeHost: the toolstack's vif nodes, netback's probe and the vif-bridge hotplug, a
// NetfrontCore doing netfront's part of the handshake, and a NetStack over it.

import { Netback } from '../../dom0/backends/netback/netback.js';
import type { NetbackDevice } from '../../dom0/backends/netback/netback-device.js';
import { vifBridgeOnline } from '../../dom0/backends/netback/vif-hotplug.js';
import { BridgeRegistry } from '../../dom0/net/bridge-registry.js';
import { parseIpv4, parseMac } from '../../domU/net/inet.js';
import { NetStack } from '../../domU/net/net-stack.js';
import { NetfrontCore } from '../../domU/net/netfront-core.js';
import { FakeHost } from './fake-host.js';

export interface GuestOptions {
  readonly domid: number;
  readonly devid?: number;
  readonly mac: string;
  readonly ip: string;
  readonly bridge?: string;
  readonly vlan?: string;
  readonly rate?: string;
  readonly mtu?: number;
}

export interface Guest {
  readonly domid: number;
  readonly core: NetfrontCore;
  readonly stack: NetStack;
  readonly vif: NetbackDevice;
  readonly port: number;
}

export class NetWorld {
  readonly host = new FakeHost();
  readonly registry: BridgeRegistry;
  readonly netback: Netback;

  constructor(bridges: readonly string[] = ['xenbr0']) {
    const p = this.host.platform();
    this.registry = new BridgeRegistry({ now: () => this.host.engine.now }, bridges);
    this.netback = new Netback(p);
    this.netback.start();
    this.run();
  }

  get engine() {
    return this.host.engine;
  }

  run(ns = 1_000_000): void {
    this.host.engine.runFor(ns);
  }

  /** Toolstack nodes (reference 6.3), hotplug, then netfront's part; returns the connected guest. */
  addGuest(o: GuestOptions): Guest {
    const h = this.host;
    const devid = o.devid ?? 0;
    const be = `/local/domain/0/backend/vif/${o.domid}/${devid}`;
    const fe = `/local/domain/${o.domid}/device/vif/${devid}`;
    const nodes: Record<string, string | undefined> = {
      frontend: fe,
      online: '1',
      state: '1',
      script: 'vif-bridge',
      mac: o.mac,
      bridge: o.bridge ?? 'xenbr0',
      handle: String(devid),
      type: 'vif',
      vlan: o.vlan,
      rate: o.rate,
      mtu: o.mtu === undefined ? undefined : String(o.mtu),
      'hotplug-status': '',
    };
    for (const [k, v] of Object.entries(nodes)) if (v !== undefined) h.write(`${be}/${k}`, v);
    h.write(`${be}/frontend-id`, String(o.domid));
    for (const [k, v] of Object.entries({
      backend: be,
      'backend-id': '0',
      state: '1',
      mac: o.mac,
    })) {
      h.write(`${fe}/${k}`, v);
    }
    this.run();
    const vif = this.netback.device(o.domid, devid);
    if (!vif) throw new Error('netback did not probe');
    const hp = vifBridgeOnline(h.platform().xs, this.registry, vif);
    if (!hp.ok) throw new Error(hp.error);
    this.run();
    let port = -1;
    const core = NetfrontCore.setup(h.guestIo(o.domid, () => port));
    if (!core.ok) throw new Error(core.error);
    port = h.allocUnbound(() => core.value.onEvent());
    h.write(`${fe}/tx-ring-ref`, String(core.value.txRef));
    h.write(`${fe}/rx-ring-ref`, String(core.value.rxRef));
    h.write(`${fe}/event-channel`, String(port));
    h.write(`${fe}/request-rx-copy`, '1');
    h.write(`${fe}/feature-rx-notify`, '1');
    h.write(`${fe}/feature-sg`, '1');
    h.write(`${fe}/state`, '4');
    this.run();
    const mac = parseMac(o.mac) as number;
    const stack = new NetStack(
      {
        mac,
        mtu: o.mtu ?? 1500,
        transmit: (f) => core.value.send(f),
        transmitFrags: (head, frags, done) => core.value.sendFrags(head, frags, done),
      },
      { ip: parseIpv4(o.ip) as number, prefixLen: 24 },
      { now: () => h.engine.now },
    );
    core.value.onFrame = (f) => stack.input(f);
    return { domid: o.domid, core: core.value, stack, vif, port };
  }
}
