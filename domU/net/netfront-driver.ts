// The vif frontend driver (Linux drivers/net/xen-netfront.c netfront_probe, talk_to_netback,
// xennet_connect, netback_changed, xennet_disconnect_backend) on the kernel's frontend bus: runs
// the netfront handshake machine's actions. On backend InitWait it reads feature-rx-copy (the
// machine refuses a backend without it); setupRings grants both rings, allocates the event
// channel, writes the nodes of reference 6.3 and brings up an interface with its IPv4 stack.
// After a resume in a new domain the handshake runs again, and once the backend is Connected the
// interface announces its address with a gratuitous ARP (netback_changed: netdev_notify_peers).

import { allocFrontendEvtchn } from '../xenbus/frontend-evtchn.js';
import { frontendIo, type FrontendHost } from '../xenbus/frontend-io.js';
import { XenbusState } from '../../hypercalls/io/xenbus.js';
import type { KThread } from '../kthread.js';
import type {
  FrontendAction,
  FrontendBus,
  FrontendDevice,
  FrontendDriver,
} from '../xenbus/frontend.js';
import { netfrontMachine } from '../xenbus/netfront-machine.js';
import { parseIpv4, parseMac } from './inet.js';
import { NetStack, type StackConfig } from './net-stack.js';
import { NetfrontCore } from './netfront-core.js';

export const NETFRONT_DEFAULT_MTU = 1500;

/** What netfront needs of the guest kernel (PvKernel plus a list of network interfaces). */
export interface NetfrontHost extends FrontendHost {
  /** The kernel's network interfaces: netfront adds and removes its own. */
  readonly netDevices: XenNetDevice[];
  /** Virtual time (the stack's clock). */
  now(): number;
}

/** A guest network interface (`eth<N>`) over one vif. */
export class XenNetDevice {
  readonly name: string;
  readonly mac: number;
  readonly mtu: number;
  readonly core: NetfrontCore;
  readonly stack: NetStack;

  constructor(
    name: string,
    mac: number,
    mtu: number,
    core: NetfrontCore,
    config: StackConfig,
    now: () => number,
  ) {
    this.name = name;
    this.mac = mac;
    this.mtu = mtu;
    this.core = core;
    this.stack = new NetStack(
      {
        mac,
        mtu,
        transmit: (f) => core.send(f),
        transmitFrags: (head, frags, done) => core.sendFrags(head, frags, done),
      },
      config,
      { now },
    );
    core.onFrame = (f) => this.stack.input(f);
  }
}

export interface NetfrontOptions {
  /**
   * The address of interface `devid`: the guest's own configuration, else the backend's `ip`
   * node (from `ip=` in the vif spec) with a /24. Undefined: no address (0.0.0.0).
   */
  addressFor?(devid: number, backendIp: string | undefined): StackConfig | undefined;
}

interface NetfrontData {
  core: NetfrontCore | null;
  port: number;
  dev: XenNetDevice | null;
  /**
   * The interface was up before a resume: when the backend reaches Connected again, netfront
   * notifies peers (netback_changed: netdev_notify_peers). At first connect Linux's interface has
   * no address yet, so nothing is announced then.
   */
  notifyPeers: boolean;
}

const freshData = (notifyPeers: boolean): NetfrontData => ({
  core: null,
  port: -1,
  dev: null,
  notifyPeers,
});

const dataOf = (dev: FrontendDevice): NetfrontData => {
  if (dev.data === undefined) dev.data = freshData(false);
  return dev.data as NetfrontData;
};

export function netfrontDriver(
  host: () => NetfrontHost | null,
  opts: NetfrontOptions = {},
): FrontendDriver {
  return {
    type: 'vif',
    machine: netfrontMachine,
    *backendEvent(dev: FrontendDevice, state: XenbusState, bus: FrontendBus) {
      if (state === XenbusState.Connected) notifyPeers(dev);
      if (state !== XenbusState.InitWait) return { type: 'BACKEND_STATE', state };
      const rxCopy = (yield* bus.xs.readInt(`${dev.backendPath}/feature-rx-copy`, 0)) === 1;
      return { type: 'BACKEND_STATE', state, rxCopy };
    },
    *runAction(dev: FrontendDevice, action: FrontendAction, bus: FrontendBus): KThread {
      const k = host();
      if (!k) {
        dev.errors.push('netfront: no kernel');
        return;
      }
      switch (action.type) {
        case 'setupRings':
          return yield* setupRings(k, dev, bus, opts);
        case 'teardownRings':
          teardown(k, dev);
          return;
        case 'reportError': {
          const msg = (action.params as { message: string }).message;
          dev.errors.push(msg);
          yield* bus.xs.write(`error/${dev.nodename}/error`, `95 ${msg}`);
          return;
        }
        default:
          dev.errors.push(`netfront: unknown action ${action.type}`);
      }
    },
    remove(dev: FrontendDevice): KThread {
      const k = host();
      if (k) teardown(k, dev);
      return nothing();
    },
    resume(dev: FrontendDevice): KThread {
      const k = host();
      const d = dataOf(dev);
      if (k && d.dev) removeIface(k, d.dev);
      // The rings died with the old domain; the handshake runs again and reconnects.
      dev.data = freshData(d.dev !== null || d.notifyPeers);
      return nothing();
    },
  };
}

function* nothing(): KThread {
  // empty
}

function* setupRings(
  k: NetfrontHost,
  dev: FrontendDevice,
  bus: FrontendBus,
  opts: NetfrontOptions,
): KThread {
  const d = dataOf(dev);
  if (d.core) teardown(k, dev);
  const g = k.grants();
  if (!g) {
    dev.errors.push('netfront: no grant table');
    return;
  }
  const base = dev.nodename;
  const macText = yield* bus.xs.read(`${base}/mac`);
  const mac = macText.ok ? parseMac(macText.value) : undefined;
  if (mac === undefined) {
    dev.errors.push(`netfront: ${base}/mac is missing or bad`);
    return;
  }
  const mtu = yield* bus.xs.readInt(`${base}/mtu`, NETFRONT_DEFAULT_MTU);
  const backend = dev.backendId;
  let port = -1;
  const core = NetfrontCore.setup(frontendIo(k, g, backend, () => port, false));
  if (!core.ok) {
    dev.errors.push(core.error);
    return;
  }
  const rc = allocFrontendEvtchn(k.h, k.events, backend, () => core.value.onEvent());
  if (rc < 0) {
    core.value.teardown();
    dev.errors.push(`netfront: EVTCHNOP_alloc_unbound failed (${rc})`);
    return;
  }
  port = rc;
  d.core = core.value;
  d.port = port;
  const nodes: [string, string][] = [
    ['tx-ring-ref', String(core.value.txRef)],
    ['rx-ring-ref', String(core.value.rxRef)],
    ['event-channel', String(port)],
    ['request-rx-copy', '1'],
    ['feature-rx-notify', '1'],
    ['feature-sg', '1'],
    ['feature-gso-tcpv4', '1'],
    ['feature-gso-tcpv6', '1'],
    ['feature-ipv6-csum-offload', '1'],
  ];
  for (const [key, v] of nodes) yield* bus.xs.write(`${base}/${key}`, v);
  const devid = Number(dev.id);
  const beIp = yield* bus.xs.read(`${dev.backendPath}/ip`);
  const beIpText = beIp.ok ? beIp.value.split(' ')[0] : undefined;
  const fromBackend = beIpText === undefined ? undefined : parseIpv4(beIpText);
  const config =
    opts.addressFor?.(devid, beIpText) ??
    (fromBackend !== undefined ? { ip: fromBackend, prefixLen: 24 } : { ip: 0, prefixLen: 0 });
  const name = `eth${k.netDevices.length}`;
  const iface = new XenNetDevice(name, mac, mtu, core.value, config, () => k.now());
  d.dev = iface;
  k.netDevices.push(iface);
  k.printk(`netfront: ${name}: vif ${dev.id} mac ${macText.ok ? macText.value : ''} mtu ${mtu}`);
}

/** netdev_notify_peers once the reconnected interface is up: a gratuitous ARP per address. */
function notifyPeers(dev: FrontendDevice): void {
  const d = dataOf(dev);
  if (!d.notifyPeers || d.dev === null) return;
  d.notifyPeers = false;
  d.dev.stack.announce();
}

function removeIface(k: NetfrontHost, iface: XenNetDevice): void {
  const i = k.netDevices.indexOf(iface);
  if (i >= 0) k.netDevices.splice(i, 1);
}

function teardown(k: NetfrontHost, dev: FrontendDevice): void {
  const d = dataOf(dev);
  if (d.dev) removeIface(k, d.dev);
  d.dev = null;
  if (d.port >= 0) k.events.close(d.port);
  d.port = -1;
  d.core?.teardown();
  d.core = null;
}
