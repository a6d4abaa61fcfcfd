// The frontend half of the xenbus bus (Linux drivers/xen/xenbus/xenbus_probe_frontend.c and
// xenbus_probe.c): devices are found under `device/<type>/<id>` by watching `device`, each is
// driven by its driver's handshake machine through xstate's pure `transition`, the machine's
// actions are run here (switchState writes `<dev>/state`, the rest go to driver hooks), and the
// backend's `state` node, watched, is fed back to the machine.

import {
  initialTransition,
  transition,
  type AnyEventObject,
  type AnyMachineSnapshot,
  type AnyStateMachine,
} from 'xstate';
import { parseXenbusState, XenbusState } from '../../hypercalls/io/xenbus.js';
import { waitUntil, type KThread } from '../kthread.js';
import type { XenbusClient } from './xs-client.js';

/** One action the machine asked for, as xstate returns it. */
export interface FrontendAction {
  readonly type: string;
  readonly params: unknown;
}

/** A driver for one device class (blkfront for `vbd`, netfront for `vif`, ...). */
export interface FrontendDriver {
  /** The directory under `device/` this driver serves. */
  readonly type: string;
  readonly machine: AnyStateMachine;
  machineInput?(dev: FrontendDevice): unknown;
  /** After the device is found and its machine started (blkfront's legacy order sends PROBE here). */
  probe?(dev: FrontendDevice, bus: FrontendBus): KThread;
  /** The machine event for a backend state change; default `{ type: 'BACKEND_STATE', state }`. */
  backendEvent?(dev: FrontendDevice, state: XenbusState, bus: FrontendBus): KThread<AnyEventObject>;
  /** Runs one of the machine's own actions (setupRing, readDiskInfo, teardownRing, ...). */
  runAction(dev: FrontendDevice, action: FrontendAction, bus: FrontendBus): KThread;
  /** The device went away from xenstore. */
  remove?(dev: FrontendDevice, bus: FrontendBus): KThread;
  /** Resumed in a new domain: forget rings and ports (they are gone), before the handshake reruns. */
  resume?(dev: FrontendDevice, bus: FrontendBus): KThread;
}

export class FrontendDevice {
  readonly type: string;
  readonly id: string;
  /** `device/<type>/<id>` (relative to the domain's home). */
  readonly nodename: string;
  backendPath = '';
  backendId = -1;
  /** The handshake machine's snapshot (set at probe, before anything reads it). */
  snapshot!: AnyMachineSnapshot;
  /** The state this end last wrote. */
  state: XenbusState = XenbusState.Initialising;
  /** The backend's state as last read. */
  backendState: XenbusState = XenbusState.Unknown;
  /** Token of the watch on `<backend>/state`. */
  watchToken: string | null = null;
  /** Driver-private data (ring, grant refs, port). */
  data: unknown = undefined;
  readonly errors: string[] = [];
  /** Actions run, in order (`setupRing`, `switchState:4`): what a lab or test looks at. */
  readonly actionLog: string[] = [];
  busy = false;
  removed = false;

  constructor(type: string, id: string) {
    this.type = type;
    this.id = id;
    this.nodename = `device/${type}/${id}`;
  }

  /** The machine's state name (`Connected`). */
  get machineState(): string {
    return typeof this.snapshot.value === 'string'
      ? this.snapshot.value
      : JSON.stringify(this.snapshot.value);
  }
}

const ID_RE = /^[A-Za-z0-9_-]+$/;

export class FrontendBus {
  readonly xs: XenbusClient;
  private readonly drivers = new Map<string, FrontendDriver>();
  readonly devices = new Map<string, FrontendDevice>();
  private watchToken: string | null = null;
  readonly errors: string[] = [];

  constructor(xs: XenbusClient, drivers: readonly FrontendDriver[]) {
    this.xs = xs;
    for (const d of drivers) this.drivers.set(d.type, d);
  }

  /** xenbus_probe_frontend: watch `device`; the watch's first event enumerates what is there. */
  *start(): KThread<boolean> {
    const r = yield* this.xs.watch('device', (path) => this.onDeviceEvent(path));
    if (!r.ok) {
      this.errors.push(`watch device: ${r.error}`);
      return false;
    }
    this.watchToken = r.value;
    return true;
  }

  /** Device types with a driver (`vbd`, `vif`). */
  get driverTypes(): string[] {
    return [...this.drivers.keys()];
  }

  get watching(): boolean {
    return this.watchToken !== null;
  }

  device(type: string, id: string): FrontendDevice | undefined {
    return this.devices.get(`${type}/${id}`);
  }

  /** Event paths are relative: `device`, `device/vbd`, `device/vbd/51712`, `device/vbd/51712/state`. */
  private *onDeviceEvent(path: string): KThread {
    const parts = path.split('/');
    if (parts[0] !== 'device') return;
    const type = parts[1];
    const id = parts[2];
    if (type === undefined) return yield* this.scanAll();
    if (!this.drivers.has(type)) return;
    if (id === undefined) return yield* this.scanType(type);
    const known = this.devices.get(`${type}/${id}`);
    // A change below a known device (often our own `state` write) is not a bus event.
    if (known && parts.length > 3) return;
    yield* this.checkDevice(type, id);
  }

  private *scanAll(): KThread {
    for (const type of this.drivers.keys()) yield* this.scanType(type);
  }

  private *scanType(type: string): KThread {
    const r = yield* this.xs.directory(`device/${type}`);
    const ids = r.ok ? r.value.filter((s) => ID_RE.test(s)) : [];
    for (const id of ids) yield* this.checkDevice(type, id);
    for (const dev of [...this.devices.values()]) {
      if (dev.type === type && !ids.includes(dev.id)) yield* this.removeDevice(dev);
    }
  }

  /** xenbus_dev_changed: probe a new device, remove one whose directory is gone. */
  private *checkDevice(type: string, id: string): KThread {
    if (!ID_RE.test(id)) return;
    const key = `${type}/${id}`;
    const exists = yield* this.xs.directory(`device/${type}/${id}`);
    const known = this.devices.get(key);
    if (!exists.ok) {
      if (known) yield* this.removeDevice(known);
      return;
    }
    if (known) return;
    yield* this.probe(type, id);
  }

  private *probe(type: string, id: string): KThread {
    const driver = this.drivers.get(type);
    if (!driver) return;
    const nodename = `device/${type}/${id}`;
    const backend = yield* this.xs.read(`${nodename}/backend`);
    const backendId = yield* this.xs.readInt(`${nodename}/backend-id`, -1);
    if (!backend.ok || !backend.value.startsWith('/') || backendId < 0) {
      // talk_to_otherend failed: the toolstack has not finished (or wrote garbage); a later event retries.
      this.errors.push(`${nodename}: no usable backend / backend-id`);
      return;
    }
    const dev = new FrontendDevice(type, id);
    dev.backendPath = backend.value;
    dev.backendId = backendId;
    const [snap, actions] = initialTransition(driver.machine, driver.machineInput?.(dev));
    dev.snapshot = snap as AnyMachineSnapshot;
    this.devices.set(`${type}/${id}`, dev);
    yield* this.runActions(driver, dev, actions);
    if (driver.probe) yield* driver.probe(dev, this);
    yield* this.watchOtherEnd(driver, dev);
  }

  private *watchOtherEnd(driver: FrontendDriver, dev: FrontendDevice): KThread {
    const w = yield* this.xs.watch(`${dev.backendPath}/state`, () =>
      this.otherEndChanged(driver, dev),
    );
    if (w.ok) dev.watchToken = w.value;
    else dev.errors.push(`watch ${dev.backendPath}/state: ${w.error}`);
  }

  /** otherend_changed: read the backend's state, hand it to the machine. */
  private *otherEndChanged(driver: FrontendDriver, dev: FrontendDevice): KThread {
    if (dev.removed) return;
    const r = yield* this.xs.read(`${dev.backendPath}/state`);
    if (!r.ok) {
      // The backend directory is gone: Linux reads XenbusStateUnknown and ignores it.
      return;
    }
    const s = parseXenbusState(r.value);
    if (!s.ok) {
      dev.errors.push(s.error);
      return;
    }
    dev.backendState = s.value;
    const ev = driver.backendEvent
      ? yield* driver.backendEvent(dev, s.value, this)
      : { type: 'BACKEND_STATE', state: s.value };
    yield* this.send(dev, ev);
  }

  /** Feeds `event` to the device's machine and runs the resulting actions, one event at a time. */
  *send(dev: FrontendDevice, event: AnyEventObject): KThread {
    const driver = this.drivers.get(dev.type);
    if (!driver || dev.removed) return;
    yield* waitUntil(() => !dev.busy);
    dev.busy = true;
    try {
      const [snap, actions] = transition(driver.machine, dev.snapshot, event);
      dev.snapshot = snap as AnyMachineSnapshot;
      yield* this.runActions(driver, dev, actions);
    } finally {
      dev.busy = false;
    }
  }

  private *runActions(
    driver: FrontendDriver,
    dev: FrontendDevice,
    actions: readonly FrontendAction[],
  ): KThread {
    for (const a of actions) {
      if (a.type.startsWith('xstate.')) continue;
      if (a.type === 'switchState') {
        const state = (a.params as { state: XenbusState }).state;
        dev.actionLog.push(`switchState:${state}`);
        yield* this.switchState(dev, state);
        continue;
      }
      dev.actionLog.push(a.type);
      yield* driver.runAction(dev, a, this);
    }
  }

  /** xenbus_switch_state: write `<dev>/state` (Linux does it in a transaction to check the node exists). */
  *switchState(dev: FrontendDevice, state: XenbusState): KThread {
    const r = yield* this.xs.write(`${dev.nodename}/state`, String(state));
    if (r.ok) dev.state = state;
    else dev.errors.push(`writing ${dev.nodename}/state: ${r.error}`);
  }

  private *removeDevice(dev: FrontendDevice): KThread {
    dev.removed = true;
    this.devices.delete(`${dev.type}/${dev.id}`);
    if (dev.watchToken !== null) yield* this.xs.unwatch(dev.watchToken);
    dev.watchToken = null;
    const driver = this.drivers.get(dev.type);
    if (driver?.remove) yield* driver.remove(dev, this);
  }

  /**
   * xenbus_dev_shutdown's first half for every connected device: switch it to Closing (the machine's
   * UNPLUG). Returns the devices to wait for (until Closed, bounded by the caller's timeout).
   */
  *closeAll(): KThread<FrontendDevice[]> {
    const closing: FrontendDevice[] = [];
    for (const dev of [...this.devices.values()]) {
      if (dev.state !== XenbusState.Connected) continue;
      yield* this.send(dev, { type: 'UNPLUG' });
      closing.push(dev);
    }
    return closing;
  }

  /**
   * xenbus_dev_resume for every device, in a new domain: re-read the backend (its path names the new
   * domid), restart the machine from Initialising, let the driver drop dead rings, watch the backend again.
   */
  *resume(): KThread {
    for (const dev of [...this.devices.values()]) {
      const driver = this.drivers.get(dev.type);
      if (!driver) continue;
      if (dev.watchToken !== null) yield* this.xs.unwatch(dev.watchToken);
      dev.watchToken = null;
      const backend = yield* this.xs.read(`${dev.nodename}/backend`);
      if (backend.ok && backend.value.startsWith('/')) dev.backendPath = backend.value;
      dev.backendId = yield* this.xs.readInt(`${dev.nodename}/backend-id`, dev.backendId);
      const [snap, actions] = initialTransition(driver.machine, driver.machineInput?.(dev));
      dev.snapshot = snap as AnyMachineSnapshot;
      dev.state = XenbusState.Initialising;
      dev.backendState = XenbusState.Unknown;
      if (driver.resume) yield* driver.resume(dev, this);
      yield* this.runActions(driver, dev, actions);
      if (driver.probe) yield* driver.probe(dev, this);
      yield* this.watchOtherEnd(driver, dev);
    }
  }
}
