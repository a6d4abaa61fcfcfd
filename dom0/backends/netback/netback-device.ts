// One vif in dom0 (Linux drivers/net/xen-netback/xenbus.c netback_probe, frontend_changed,
// connect, read_xenbus_vif_flags, xen_net_read_rate; interface.c xenvif_connect_data,
// xenvif_disconnect_data): the feature nodes of reference 6.3, the shared handshake machine
// (state changes wait for hotplug-status=connected), both rings mapped and the event channel(s)
// bound on connect, and a NetifProcessor serving them. The vif `vif<domid>.<devid>` is a bridge
// port once the hotplug step attached it. A fault disconnects this vif only. Tx is zero-copy
// (netif-zerocopy.ts): the answers to consumed frames are pushed by a kick at the same virtual
// instant (the dealloc thread), and a frame that still holds the guest's slots after
// NETBACK_ZC_HOLD_NS is linearized (the rx drain timeout's role).

import { XEN_EINVAL } from '../../../hypercalls/errno.js';
import { GNTST_okay, gntstMessage } from '../../../hypercalls/grant-table.js';
import { FramePool } from '../../net/frame-pool.js';
import { parseUint, XenbusBackendDevice } from '../backend-device.js';
import { netbackMachine } from '../backend-machine.js';
import type { BackendPlatform, BackendTimer, GrantMapping, LocalPage } from '../platform.js';
import { CreditLimiter, parseRateNode } from './credit.js';
import { newNetbackMetrics, type NetbackMetrics } from './metrics.js';
import type { Frame } from '../../net/net-frame.js';
import { NETBACK_BOUNCE_PAGES, NETBACK_POOL_PAGES, NetifProcessor } from './netif-processor.js';

/** Packets handled per event and direction before yielding to other devices (NAPI weight). */
const BUDGET_PER_RUN = 64;
export const NETBACK_DEFAULT_MTU = 1500;
/** The largest vif MTU with feature-sg (interface.c: ETH_MAX_MTU - VLAN_ETH_HLEN). */
export const NETBACK_MAX_MTU = 65535 - 18;
/**
 * Longest a zero-copy frame holds the guest's tx slots before it is copied into dom0 and the slots
 * answered: 10 ms of virtual time. Linux bounds this only through the receiving queue's
 * rx_drain_timeout_msecs (10 s, the frame is dropped then); a shorter bound that keeps the frame
 * keeps a slow receiver from stalling the sender's ring for seconds.
 */
export const NETBACK_ZC_HOLD_NS = 10_000_000;

/** Feature nodes netback writes at probe (reference 6.3, xenbus.c netback_probe). */
export const NETBACK_FEATURES: readonly (readonly [string, string])[] = [
  ['feature-sg', '1'],
  ['feature-gso-tcpv4', '1'],
  ['feature-gso-tcpv6', '1'],
  ['feature-ipv6-csum-offload', '1'],
  ['feature-rx-copy', '1'],
  ['feature-rx-flip', '0'],
  ['feature-multicast-control', '1'],
  ['feature-dynamic-multicast-control', '1'],
  ['feature-split-event-channels', '1'],
  ['multi-queue-max-queues', '1'],
  ['feature-ctrl-ring', '0'],
];

interface Connection {
  readonly txMap: GrantMapping;
  readonly rxMap: GrantMapping;
  readonly ports: number[];
  readonly bounce: LocalPage[];
  readonly framePool: FramePool;
  readonly proc: NetifProcessor;
}

export class NetbackDevice extends XenbusBackendDevice {
  readonly metrics: NetbackMetrics = newNetbackMetrics();
  /** Where the guest's frames go (the bridge port's input); set by the hotplug step. */
  transmit: ((frame: Frame) => void) | null = null;
  private conn: Connection | null = null;
  private scheduled = false;
  /** A kick for frames queued by receive() is due at the current virtual time. */
  private rxKickPending = false;
  private creditTimer: BackendTimer | null = null;
  private kicking = false;
  private kickAgain = false;
  /** A push of zero-copy completions is due at the current virtual time. */
  private txDonePending = false;
  private holdTimer: BackendTimer | null = null;

  constructor(platform: BackendPlatform, frontendDomid: number, devid: number) {
    super(platform, frontendDomid, devid, 'vif', netbackMachine, XEN_EINVAL);
  }

  /** The interface name: the backend's `vifname`, else `vif<domid>.<devid>`. */
  get vifName(): string {
    const v = this.p.xs.read(`${this.path}/vifname`);
    return v !== undefined && v !== '' ? v : `vif${this.frontendDomid}.${this.devid}`;
  }

  get connected(): boolean {
    return this.conn !== null;
  }

  /**
   * The vif's MTU: the backend's `mtu` when netback can take it (xenvif_change_mtu: at most
   * NETBACK_MAX_MTU), else 1500.
   */
  get mtu(): number {
    const m = parseUint(this.p.xs.read(`${this.path}/mtu`));
    return m !== undefined && m >= 68 && m <= NETBACK_MAX_MTU ? m : NETBACK_DEFAULT_MTU;
  }

  /** netback_probe: features, InitWait (deferred until hotplug), watches. */
  start(): void {
    this.frontendPath = this.p.xs.read(`${this.path}/frontend`) ?? '';
    this.send({ type: 'PROBE' });
    this.addWatch(`${this.path}/hotplug-status`, () => {
      if (this.p.xs.read(`${this.path}/hotplug-status`) === 'connected') {
        this.send({ type: 'HOTPLUG_DONE' });
      }
    });
    this.addWatch(`${this.path}/online`, () => {
      const v = this.p.xs.read(`${this.path}/online`);
      if (v !== undefined) this.send({ type: 'ONLINE', online: v === '1' });
    });
    this.watchFrontendState();
  }

  protected writeFeatures(): void {
    for (const [k, v] of NETBACK_FEATURES) this.p.xs.write(`${this.path}/${k}`, v);
  }

  /** connect(): read the frontend's rings, flags and event channel(s); map, bind, serve. */
  protected connect(): void {
    const xs = this.p.xs;
    const fe = this.frontendPath;
    if (xs.read(`${fe}/request-rx-copy`) !== '1') {
      return this.fail(`${fe}: frontend must support rx-copy (request-rx-copy)`);
    }
    if (xs.read(`${fe}/feature-rx-notify`) !== '1') {
      return this.fail(`${fe}: feature-rx-notify is mandatory`);
    }
    const queues = parseUint(xs.read(`${fe}/multi-queue-num-queues`) ?? '1');
    if (queues !== 1) return this.fail(`${fe}: only 1 queue is supported`);
    const txRef = parseUint(xs.read(`${fe}/tx-ring-ref`));
    const rxRef = parseUint(xs.read(`${fe}/rx-ring-ref`));
    const one = parseUint(xs.read(`${fe}/event-channel`));
    const txEv = one ?? parseUint(xs.read(`${fe}/event-channel-tx`));
    const rxEv = one ?? parseUint(xs.read(`${fe}/event-channel-rx`));
    if (txRef === undefined || rxRef === undefined || txEv === undefined || rxEv === undefined) {
      return this.fail(`reading ${fe}/tx-ring-ref, rx-ring-ref and event-channel`);
    }
    const sg = xs.read(`${fe}/feature-sg`) === '1';
    const g = this.p.grants;
    const bounce = g.allocPages(NETBACK_BOUNCE_PAGES);
    if (!bounce) return this.fail('no dom0 pages for bounce buffers');
    const txMap = g.map(this.frontendDomid, txRef, false);
    const rxMap = txMap.status === GNTST_okay ? g.map(this.frontendDomid, rxRef, false) : txMap;
    if (txMap.bytes === undefined || rxMap.bytes === undefined || rxMap.status !== GNTST_okay) {
      if (txMap.status === GNTST_okay) g.unmap(txMap);
      g.freePages(bounce);
      const bad = txMap.status !== GNTST_okay ? txRef : rxRef;
      return this.fail(`mapping ring-ref ${bad}: ${gntstMessage(rxMap.status)}`);
    }
    // Frame buffers tx packets are grant-copied into; without spare pages, bounce pages serve.
    const poolPages = g.allocPages(NETBACK_POOL_PAGES) ?? [];
    const framePool = new FramePool(poolPages);
    const rate = parseRateNode(xs.read(`${this.path}/rate`));
    const now = () => this.p.clock.now();
    const proc = NetifProcessor.attach(txMap.bytes, rxMap.bytes, {
      frontendDomid: this.frontendDomid,
      copy: (ops, count) => g.copy(ops, count),
      bounce,
      // Without feature-sg a frame must fit one page: xenvif_change_mtu's limit is ETH_DATA_LEN.
      mtu: sg ? this.mtu : Math.min(this.mtu, NETBACK_DEFAULT_MTU),
      rxSg: sg,
      deliver: (f) => this.transmit?.(f),
      now,
      credit: rate && new CreditLimiter(rate.bytes, rate.intervalUs, now()),
      framePool,
      metrics: this.metrics,
      zeroCopy: true,
      onTxComplete: () => this.txCompleted(),
    });
    const release = (): void => {
      g.unmap(txMap);
      g.unmap(rxMap);
      g.freePages(bounce);
      framePool.close((page) => g.freePages([page]));
    };
    if (!proc.ok) {
      release();
      return this.fail(proc.error);
    }
    const ports: number[] = [];
    for (const ev of one !== undefined ? [one] : [txEv, rxEv]) {
      const port = this.p.evtchn.bindInterdomain(this.frontendDomid, ev);
      if (port < 0) {
        for (const q of ports) this.p.evtchn.close(q);
        release();
        return this.fail(`binding event channel ${ev}: errno ${-port}`);
      }
      ports.push(port);
    }
    this.conn = { txMap, rxMap, ports, bounce, framePool, proc: proc.value };
    for (const port of ports) this.p.evtchn.listen(port, () => this.kick());
    this.kick();
  }

  protected disconnect(): void {
    const c = this.conn;
    if (c === null) return;
    this.conn = null;
    if (this.creditTimer !== null) this.p.clock.cancel(this.creditTimer);
    this.creditTimer = null;
    if (this.holdTimer !== null) this.p.clock.cancel(this.holdTimer);
    this.holdTimer = null;
    // Frames still holding the guest's slots are copied into dom0 while its grants are valid.
    c.proc.zc?.close();
    for (const port of c.ports) this.p.evtchn.close(port);
    this.p.grants.unmap(c.txMap);
    this.p.grants.unmap(c.rxMap);
    this.p.grants.freePages(c.bounce);
    // Frames still queued here or at other vifs keep their pages until released.
    c.proc.dropRxQueue();
    const g = this.p.grants;
    c.framePool.close((page) => g.freePages([page]));
  }

  /** Zero-copy frames were consumed: push their tx answers once at this instant, and notify. */
  private txCompleted(): void {
    if (this.txDonePending) return;
    this.txDonePending = true;
    this.p.clock.at(this.p.clock.now(), () => {
      this.txDonePending = false;
      const c = this.conn;
      if (c === null || !c.proc.pushTxCompletions()) return;
      this.metrics.notifications++;
      const txPort = c.ports[0];
      if (txPort !== undefined) this.p.evtchn.send(txPort);
    });
  }

  /** The hold bound: linearize the frames that held the guest's slots too long. */
  private armHoldTimer(c: Connection): void {
    const zc = c.proc.zc;
    if (this.holdTimer !== null || zc === null) return;
    const oldest = zc.oldestNs();
    if (oldest === null) return;
    this.holdTimer = this.p.clock.at(
      Math.max(oldest + NETBACK_ZC_HOLD_NS, this.p.clock.now()),
      () => {
        this.holdTimer = null;
        const cc = this.conn;
        if (cc === null || cc.proc.zc === null) return;
        cc.proc.zc.expire(this.p.clock.now() - NETBACK_ZC_HOLD_NS);
        this.armHoldTimer(cc);
      },
    );
  }

  /** A frame from the bridge for this guest (the vif's start_xmit). */
  receive(frame: Frame): void {
    const c = this.conn;
    if (c === null) {
      this.metrics.rxDropped++;
      return;
    }
    c.proc.enqueueRx(frame);
    // xenvif_kick_thread: the frames the bridge hands over in one instant (a sender's whole tx
    // batch) are put on the rx ring together, with one copy call and at most one event.
    if (this.rxKickPending) return;
    this.rxKickPending = true;
    this.p.clock.at(this.p.clock.now(), () => {
      this.rxKickPending = false;
      this.kick();
    });
  }

  /**
   * The interrupt handler. A frame this vif sends can come back to it through the bridge (another
   * vif answering at once), so a nested kick only asks the running one to go round again.
   */
  kick(): void {
    if (this.kicking) {
      this.kickAgain = true;
      return;
    }
    this.kicking = true;
    try {
      do {
        this.kickAgain = false;
        this.serve();
      } while (this.kickAgain && this.conn !== null);
    } finally {
      this.kicking = false;
    }
  }

  /** Serves tx then rx; a fault disconnects this vif only. */
  private serve(): void {
    const c = this.conn;
    if (c === null) return;
    const tx = c.proc.processTx(BUDGET_PER_RUN);
    const rx = tx.fault === null ? c.proc.processRx(BUDGET_PER_RUN) : tx;
    if (tx.notify || rx.notify) {
      this.metrics.notifications++;
      // With split channels, the last port is rx; notify both ends that have news.
      const [txPort, rxPort = txPort] = c.ports;
      if (tx.notify && txPort !== undefined) this.p.evtchn.send(txPort);
      if (rx.notify && rxPort !== undefined && (rxPort !== txPort || !tx.notify)) {
        this.p.evtchn.send(rxPort);
      }
    }
    const fault = tx.fault ?? rx.fault;
    if (fault !== null) {
      this.send({ type: 'FAULT', message: fault });
      return;
    }
    this.armHoldTimer(c);
    if (tx.throttledUntilNs !== null && this.creditTimer === null) {
      const credit = tx.throttledUntilNs;
      this.creditTimer = this.p.clock.at(Math.max(credit, this.p.clock.now()), () => {
        this.creditTimer = null;
        const cc = this.conn;
        if (cc === null) return;
        cc.proc.creditTimerFired();
        this.kick();
      });
    }
    if ((tx.more || rx.more) && !this.scheduled) {
      this.scheduled = true;
      this.p.clock.at(this.p.clock.now(), () => {
        this.scheduled = false;
        this.kick();
      });
    }
  }
}
