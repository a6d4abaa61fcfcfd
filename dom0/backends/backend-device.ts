// The xenbus side every split-driver backend device shares (Linux drivers/xen/xenbus/
// xenbus_probe_backend.c with each driver's frontend_changed and xenbus_dev_fatal): watches on the
// backend's and the frontend's nodes, the handshake machine of backend-machine.ts fed one event at
// a time through xstate's pure `transition`, and the actions it asks for. A driver (blkback,
// netback) supplies what is its own: the features it writes, connect and disconnect.

import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import { parseXenbusState, XenbusState } from '../../hypercalls/io/xenbus.js';
import type { BackendEvent, makeBackendMachine } from './backend-machine.js';
import type { BackendPlatform, BackendWatch } from './platform.js';
import { xenbusDevError } from './xenbus-error.js';

type BackendMachine = ReturnType<typeof makeBackendMachine>;

/** A xenstore node holding an unsigned decimal (ring-ref, event-channel, mtu), else undefined. */
export const parseUint = (s: string | undefined): number | undefined =>
  s !== undefined && /^[0-9]{1,10}$/.test(s) ? Number(s) : undefined;

export abstract class XenbusBackendDevice {
  readonly frontendDomid: number;
  readonly devid: number;
  /** `/local/domain/<B>/backend/<type>/<fe>/<devid>`. */
  readonly path: string;
  /** Errors reported (also written to xenstore). */
  readonly errors: string[] = [];
  /** Actions the machine ran, in order (what tests and labs look at). */
  readonly actionLog: string[] = [];
  removed = false;
  protected readonly p: BackendPlatform;
  protected frontendPath = '';
  private readonly machine: BackendMachine;
  private readonly errorErrno: number;
  private snap: AnyMachineSnapshot;
  private readonly queue: BackendEvent[] = [];
  private draining = false;
  private readonly watches: BackendWatch[] = [];
  /** connectRing failed inside the current batch of actions: skip its switchState(Connected). */
  private connectFailed = false;

  /**
   * `type` is the backend directory's (`vbd`, `vif`); `errorErrno` the errno xenbus_dev_fatal
   * prints for this driver's faults.
   */
  protected constructor(
    platform: BackendPlatform,
    frontendDomid: number,
    devid: number,
    type: string,
    machine: BackendMachine,
    errorErrno: number,
  ) {
    this.p = platform;
    this.frontendDomid = frontendDomid;
    this.devid = devid;
    this.path = `/local/domain/${platform.domid}/backend/${type}/${frontendDomid}/${devid}`;
    this.machine = machine;
    this.errorErrno = errorErrno;
    const [snap] = initialTransition(machine);
    this.snap = snap;
  }

  /** The handshake state (`InitWait`, `Connected`, ...). */
  get state(): string {
    return String(this.snap.value);
  }

  /** The backend directory went away (or dom0 shuts the device down): release everything. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    this.disconnect();
    for (const w of this.watches.splice(0)) this.p.xs.unwatch(w);
    this.released();
  }

  /** Feeds the machine one event at a time (an action may raise another: it waits its turn). */
  send(ev: BackendEvent): void {
    this.queue.push(ev);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let e = this.queue.shift(); e !== undefined; e = this.queue.shift()) {
        if (this.removed && e.type !== 'ONLINE') continue;
        const [snap, actions] = transition(this.machine, this.snap, e);
        this.snap = snap;
        this.connectFailed = false;
        for (const a of actions) this.run(a);
      }
    } finally {
      this.draining = false;
    }
  }

  /** The feature nodes written at probe. */
  protected abstract writeFeatures(): void;
  /** Reads the frontend's ring details, maps and binds, serves; `fail` on any problem. */
  protected abstract connect(): void;
  /** Unbinds and unmaps (nothing if not connected). */
  protected abstract disconnect(): void;
  /** What remove() releases beyond the connection and the watches. */
  protected released(): void {
    /* nothing by default */
  }

  /** A watch that stops firing once the device is removed. */
  protected addWatch(path: string, cb: () => void): void {
    const w = this.p.xs.watch(path, () => {
      if (!this.removed) cb();
    });
    if (w !== undefined) this.watches.push(w);
  }

  /** Watches the frontend's `state` (when the backend names a frontend). */
  protected watchFrontendState(): void {
    if (this.frontendPath !== '') {
      this.addWatch(`${this.frontendPath}/state`, () => this.frontendChanged());
    }
  }

  /** The connection attempt failed: no Connected in this batch, and a FAULT. */
  protected fail(message: string): void {
    this.connectFailed = true;
    this.send({ type: 'FAULT', message });
  }

  private frontendChanged(): void {
    const s = this.p.xs.read(`${this.frontendPath}/state`);
    if (s === undefined) return this.send({ type: 'FRONTEND_STATE', state: XenbusState.Unknown });
    const st = parseXenbusState(s);
    if (!st.ok) return this.send({ type: 'FAULT', message: `frontend state: ${st.error}` });
    this.send({ type: 'FRONTEND_STATE', state: st.value });
  }

  private run(a: { type: string; params?: unknown }): void {
    if (a.type.startsWith('xstate.')) return;
    switch (a.type) {
      case 'writeFeatures':
        this.actionLog.push(a.type);
        this.writeFeatures();
        return;
      case 'connectRing':
        this.actionLog.push(a.type);
        this.connect();
        return;
      case 'disconnectRing':
        this.actionLog.push(a.type);
        this.disconnect();
        return;
      case 'switchState': {
        const state = (a.params as { state: number }).state;
        if (this.connectFailed && state === XenbusState.Connected) return;
        this.actionLog.push(`switchState:${state}`);
        this.p.xs.write(`${this.path}/state`, String(state));
        return;
      }
      case 'reportError':
        this.actionLog.push(a.type);
        this.reportError((a.params as { message: string }).message);
        return;
      case 'removeDevice':
        this.actionLog.push(a.type);
        this.remove();
        return;
      default:
        this.actionLog.push(`unknown:${a.type}`);
    }
  }

  /**
   * xenbus_dev_fatal: the message goes to `error/<nodename>/error` under the backend domain's home
   * (`/local/domain/0/error/backend/<type>/<fe>/<devid>/error`), errno first as Linux prints it.
   */
  private reportError(message: string): void {
    this.errors.push(message);
    xenbusDevError(this.p.xs, this.p.domid, this.path, this.errorErrno, message);
  }
}
