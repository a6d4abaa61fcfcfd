// Model-based tests of the vbd XenBus handshake (reference 6.2; Linux xen-blkback/xenbus.c
// frontend_changed and xen-blkfront.c blkback_changed): @xstate/graph enumerates paths through the
// blkback and blkfront machines, and each path is replayed against the REAL drivers (BlkbackDevice
// under Blkback; blkfront on the FrontendBus) by doing what each event stands for in xenstore or in
// the guest. After every step the driver must be in the state the machine predicts, the xenstore
// `state` node must say so, the driver must have run exactly the actions the machine asked for, and
// the resources those actions stand for (mapped ring, bound port, the guest's disk) must exist
// exactly when the state says they do.
//
// Paths: the shortest path to every reachable snapshot (state and context), and each of those
// extended by every sample event once, so every transition out of every reachable snapshot is taken.

import * as path from 'node:path';
import { getShortestPaths } from '@xstate/graph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  initialTransition,
  transition,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type EventObject,
} from 'xstate';
import { blkbackMachine, type BackendEvent } from '../../dom0/backends/backend-machine.js';
import { blkfrontDriver, type BlkfrontData } from '../../domU/blkfront/blkfront-driver.js';
import { blkfrontMachine, type BlkfrontEvent } from '../../domU/xenbus/blkfront-machine.js';
import { FrontendBus } from '../../domU/xenbus/frontend.js';
import { XenbusState as S } from '../../hypercalls/io/xenbus.js';
import { fakeXs, kernelHost, Threads } from '../blk/frontend-rig.js';
import { VbdHost } from '../blk/vbd-rig.js';
import { makeImage, tempDir } from '../blk/world.js';

const DEVID = 51712;
const FE_DOMID = 1;
const BE = `/local/domain/0/backend/vbd/${FE_DOMID}/${DEVID}`;
const FE = `/local/domain/${FE_DOMID}/device/vbd/${DEVID}`;
const ALL_STATES = [
  S.Unknown,
  S.Initialising,
  S.InitWait,
  S.Initialised,
  S.Connected,
  S.Closing,
  S.Closed,
];

/** The `state` node each machine state writes (Removed leaves the last one, Closed). */
const NODE: Record<string, number> = {
  Initialising: S.Initialising,
  InitWait: S.InitWait,
  Initialised: S.Initialised,
  Connected: S.Connected,
  Closing: S.Closing,
  Closed: S.Closed,
  Removed: S.Closed,
};

interface Path<E> {
  /** Events after the starting snapshot. */
  events: E[];
}

/** Shortest path to every reachable snapshot, then each extended by every sample event. */
function enumeratePaths<E extends EventObject>(
  machine: AnyStateMachine,
  events: readonly E[],
  fromState: AnyMachineSnapshot,
  stopWhen: (s: AnyMachineSnapshot) => boolean = () => false,
): Path<E>[] {
  const shortest = getShortestPaths(machine, {
    events: events as never,
    fromState: fromState as never,
    stopWhen: stopWhen as never,
  });
  const out: Path<E>[] = [];
  for (const p of shortest) {
    const evs = p.steps.map((s) => s.event as E).filter((e) => !e.type.startsWith('xstate.'));
    out.push({ events: evs });
    for (const e of events) out.push({ events: [...evs, e] });
  }
  return out;
}

/** Replays `events` on the machine: the state after each, and the action log it asks for. */
function predict<E extends EventObject>(
  machine: AnyStateMachine,
  from: AnyMachineSnapshot,
  events: readonly E[],
): { states: string[]; logs: string[][] } {
  let snap = from;
  const log: string[] = [];
  const states: string[] = [];
  const logs: string[][] = [];
  for (const e of events) {
    const [next, actions] = transition(machine, snap, e as never);
    snap = next as AnyMachineSnapshot;
    for (const a of actions as readonly { type: string; params?: unknown }[]) {
      if (a.type.startsWith('xstate.')) continue;
      const params = a.params as { state?: number } | undefined;
      log.push(a.type === 'switchState' ? `switchState:${params?.state}` : a.type);
    }
    states.push(String(snap.value));
    logs.push([...log]);
  }
  return { states, logs };
}

const show = (events: readonly EventObject[]): string =>
  events
    .map((e) => {
      const { type, ...rest } = e as EventObject & Record<string, unknown>;
      const v = Object.values(rest);
      return v.length > 0 ? `${type}(${v.join(',')})` : type;
    })
    .join(' ');

let tmp: { dir: string; cleanup: () => void };
let image = '';
beforeAll(() => {
  tmp = tempDir();
  image = path.join(tmp.dir, 'disk.img');
  makeImage(image, 256);
});
afterAll(() => tmp.cleanup());

// ---- blkback -----------------------------------------------------------------------------------

const BACKEND_EVENTS: BackendEvent[] = [
  { type: 'HOTPLUG_DONE' },
  ...ALL_STATES.map((state) => ({ type: 'FRONTEND_STATE' as const, state })),
  { type: 'ONLINE', online: true },
  { type: 'ONLINE', online: false },
  { type: 'FAULT', message: 'frontend state: bad' },
];

/**
 * A dom0 running Blkback, a guest whose ring page is granted and whose port is unbound (what
 * blkfront's setupRing leaves), and the toolstack's nodes: writing `frontend-id` last makes
 * Blkback probe the device (PROBE). Hotplug has not run.
 */
function backendRig() {
  const h = new VbdHost();
  const g = h.w.guest(FE_DOMID);
  const xs = h.w.xs;
  for (const [p, v] of [
    [`${BE}/frontend`, FE],
    [`${BE}/params`, image],
    [`${BE}/mode`, 'w'],
    [`${BE}/device-type`, 'disk'],
    [`${BE}/online`, '1'],
    [`${BE}/state`, '1'],
    [`${FE}/backend`, BE],
    [`${FE}/backend-id`, '0'],
    [`${FE}/state`, '1'],
  ] as const)
    xs.write(p, v);
  const vbd = { be: BE, fe: FE, ring: null, port: -1, disk: null };
  h.setupFrontend(g, vbd);
  xs.write(`${BE}/frontend-id`, String(FE_DOMID));
  h.w.q.drain();
  return { h, xs };
}

/** What each event stands for, done to xenstore (the driver learns of it through its watches). */
function applyBackendEvent(xs: VbdHost['w']['xs'], e: BackendEvent): void {
  switch (e.type) {
    case 'HOTPLUG_DONE':
      xs.write(`${BE}/physical-device`, '7:0');
      return;
    case 'FRONTEND_STATE':
      xs.write(`${FE}/state`, String(e.state));
      return;
    case 'ONLINE':
      xs.write(`${BE}/online`, e.online ? '1' : '0');
      return;
    case 'FAULT':
      // A frontend `state` node that does not parse: frontend_changed reports it and closes.
      xs.write(`${FE}/state`, 'bad');
      return;
    case 'PROBE':
      throw new Error('PROBE is the rig itself');
  }
}

describe('blkback: the real device follows the handshake machine on every enumerated path', () => {
  const [init] = initialTransition(blkbackMachine);
  const [probed] = transition(blkbackMachine, init, { type: 'PROBE' });
  const paths = enumeratePaths(blkbackMachine, BACKEND_EVENTS, probed as AnyMachineSnapshot);

  it('enumerates a bounded set of paths covering every reachable state', () => {
    expect(paths.length).toBeGreaterThan(100);
    expect(paths.length).toBeLessThan(400);
    const reached = new Set(
      paths.flatMap((p) => predict(blkbackMachine, probed as AnyMachineSnapshot, p.events).states),
    );
    expect([...reached].sort()).toEqual(['Closed', 'Closing', 'Connected', 'InitWait', 'Removed']);
  });

  it('state, state node, action log and the ring mapping agree with the machine after every step', () => {
    for (const p of paths) {
      const { h, xs } = backendRig();
      const dev = h.blkback.device(FE_DOMID, DEVID);
      if (!dev) throw new Error('Blkback did not probe the device');
      const want = predict(blkbackMachine, probed as AnyMachineSnapshot, p.events);
      const probeLog = ['writeFeatures', `switchState:${S.InitWait}`];
      p.events.forEach((e, i) => {
        applyBackendEvent(xs, e);
        h.w.q.drain();
        const where = `${show(p.events.slice(0, i + 1))}`;
        const state = want.states[i] as string;
        expect(dev.state, where).toBe(state);
        expect(xs.read(`${BE}/state`), where).toBe(String(NODE[state]));
        expect(dev.actionLog, where).toEqual([...probeLog, ...(want.logs[i] ?? [])]);
        // The ring stays mapped from connectRing until disconnectRing (Closing after online=0 keeps it).
        const ringActions = (want.logs[i] ?? []).filter((a) => a.endsWith('connectRing'));
        expect(dev.connected, where).toBe(ringActions.at(-1) === 'connectRing');
        expect(dev.removed, where).toBe(state === 'Removed');
        if (state === 'Connected') expect(xs.read(`${BE}/sectors`), where).toBe('256');
      });
    }
  });
});

// ---- blkfront ----------------------------------------------------------------------------------

const FRONTEND_EVENTS: BlkfrontEvent[] = [
  ...ALL_STATES.map((state) => ({ type: 'BACKEND_STATE' as const, state })),
  { type: 'PROBE' },
  { type: 'DEVICE_OPENED' },
  { type: 'DEVICE_CLOSED' },
  { type: 'UNPLUG' },
  { type: 'RECONNECT' },
];

/**
 * A guest kernel's frontend bus with blkfront, over the fake xenstore, with the backend played by
 * the test: its directory holds what blkback publishes on connect, and its `state` is whatever the
 * path says. The bus probes device/vbd/51712 at start.
 */
function frontendRig() {
  const h = new VbdHost();
  const g = h.w.guest(FE_DOMID);
  const xs = h.w.xs;
  for (const [p, v] of [
    [`${BE}/state`, '1'],
    [`${BE}/sectors`, '256'],
    [`${BE}/info`, '0'],
    [`${BE}/sector-size`, '512'],
    [`${BE}/feature-flush-cache`, '1'],
    [`${FE}/backend`, BE],
    [`${FE}/backend-id`, '0'],
    [`${FE}/virtual-device`, String(DEVID)],
    [`${FE}/state`, '1'],
  ] as const)
    xs.write(p, v);
  h.w.q.drain();
  const threads = new Threads();
  const kernel = kernelHost(h, g);
  const bus = new FrontendBus(fakeXs(h, `/local/domain/${FE_DOMID}`, threads), [
    blkfrontDriver(() => kernel),
  ]);
  threads.spawn(bus.start());
  const settle = () => threads.settle(() => h.w.q.drain());
  settle();
  return { h, xs, bus, kernel, threads, settle };
}

type FrontendRig = ReturnType<typeof frontendRig>;

/** Backend states arrive through the `state` node; the guest's own events through the bus. */
function applyFrontendEvent(r: FrontendRig, e: BlkfrontEvent): void {
  if (e.type === 'BACKEND_STATE') {
    r.xs.write(`${BE}/state`, String(e.state));
  } else if (e.type === 'UNPLUG') {
    // xenbus_dev_shutdown: the kernel closes what is connected.
    r.threads.spawn(r.bus.closeAll());
  } else {
    const dev = r.bus.device('vbd', String(DEVID));
    if (dev) r.threads.spawn(r.bus.send(dev, e));
  }
  r.settle();
}

describe('blkfront: the real driver on the frontend bus follows the handshake machine on every enumerated path', () => {
  const [init] = initialTransition(blkfrontMachine, {});
  // openCount grows without bound: two openers are enough to cover "in use" and "last closer".
  const paths = enumeratePaths(
    blkfrontMachine,
    FRONTEND_EVENTS,
    init as AnyMachineSnapshot,
    (s) => (s.context as { openCount: number }).openCount >= 2,
  );

  it('enumerates a bounded set of paths covering every reachable state', () => {
    expect(paths.length).toBeGreaterThan(100);
    expect(paths.length).toBeLessThan(700);
    const reached = new Set(
      paths.flatMap((p) => predict(blkfrontMachine, init as AnyMachineSnapshot, p.events).states),
    );
    expect([...reached].sort()).toEqual([
      'Closed',
      'Closing',
      'Connected',
      'Initialised',
      'Initialising',
    ]);
  });

  it('state, state node, action log, ring and disk agree with the machine after every step', () => {
    for (const p of paths) {
      const r = frontendRig();
      const dev = r.bus.device('vbd', String(DEVID));
      if (!dev) throw new Error('the bus did not probe device/vbd/51712');
      const want = predict(blkfrontMachine, init as AnyMachineSnapshot, p.events);
      p.events.forEach((e, i) => {
        applyFrontendEvent(r, e);
        const where = show(p.events.slice(0, i + 1));
        const state = want.states[i] as string;
        const data = dev.data as BlkfrontData | undefined;
        expect(dev.machineState, where).toBe(state);
        expect(r.xs.read(`${FE}/state`), where).toBe(String(NODE[state]));
        expect(dev.actionLog, where).toEqual(want.logs[i]);
        expect(
          dev.errors.filter((m) => !m.startsWith('Device in use')),
          where,
        ).toEqual([]);
        const ringUp = state === 'Initialised' || state === 'Connected' || state === 'Closing';
        expect(data?.ring != null, where).toBe(ringUp);
        if (ringUp) expect(r.xs.read(`${FE}/ring-ref`), where).toBe(String(data?.ring?.ringRef));
        const diskUp = state === 'Connected' || state === 'Closing';
        expect(r.kernel.blockDevices.length, where).toBe(diskUp ? 1 : 0);
        const busy = (want.logs[i] ?? []).includes('reportBusy');
        expect(
          r.xs.read(`/local/domain/${FE_DOMID}/error/device/vbd/${DEVID}/error`) !== undefined,
          where,
        ).toBe(busy);
      });
    }
  });
});
