// The XenBus handshakes of reference section 6, driven through the pure xstate machines: each side
// alone, and both sides coupled through their `state` nodes as xenstore watches would couple them.

import { describe, expect, it } from 'vitest';
import {
  initialTransition,
  transition,
  type AnyStateMachine,
  type AnyMachineSnapshot,
} from 'xstate';
import { blkfrontMachine } from '../../domU/xenbus/blkfront-machine.js';
import { netfrontMachine } from '../../domU/xenbus/netfront-machine.js';
import { blkbackMachine, netbackMachine } from '../../dom0/backends/backend-machine.js';
import { deviceAttachMachine } from '../../dom0/toolstack/device-attach-machine.js';
import { XenbusState as S } from '../../hypercalls/io/xenbus.js';

type Ev = { type: string; [k: string]: unknown };

/** One side: its machine snapshot, the `state` node it writes, and every action it ran. */
class Side {
  snap: AnyMachineSnapshot;
  node: number = S.Initialising; // the toolstack writes state=1 for both ends
  log: string[] = [];
  private readonly machine: AnyStateMachine;
  constructor(machine: AnyStateMachine, input?: unknown) {
    this.machine = machine;
    const [snap, actions] = initialTransition(machine, input);
    this.snap = snap;
    this.apply(actions);
  }
  send(ev: Ev): void {
    const [snap, actions] = transition(this.machine, this.snap, ev as never);
    this.snap = snap;
    this.apply(actions);
  }
  get value(): string {
    return String(this.snap.value);
  }
  private apply(actions: readonly { type: string; params?: unknown }[]): void {
    for (const a of actions) {
      if (a.type === 'xstate.assign') continue;
      if (a.type === 'switchState') this.node = (a.params as { state: number }).state;
      this.log.push(a.params ? `${a.type}:${JSON.stringify(a.params)}` : a.type);
    }
  }
}

/** Couples a frontend and a backend: after each step, each side sees the other's state node if it changed. */
function couple(
  front: Side,
  back: Side,
  feEvent: (s: number) => Ev,
  beEvent: (s: number) => Ev,
): () => void {
  let seenByBack = -1;
  let seenByFront = -1;
  return () => {
    for (let i = 0; i < 20; i++) {
      let moved = false;
      if (front.node !== seenByBack) {
        seenByBack = front.node;
        back.send(beEvent(front.node));
        moved = true;
      }
      if (back.node !== seenByFront) {
        seenByFront = back.node;
        front.send(feEvent(back.node));
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error('handshake did not settle');
  };
}

const vbd = (legacyOrder = false) => {
  const front = new Side(blkfrontMachine, { legacyOrder });
  const back = new Side(blkbackMachine);
  const settle = couple(
    front,
    back,
    (state) => ({ type: 'BACKEND_STATE', state }),
    (state) => ({ type: 'FRONTEND_STATE', state }),
  );
  return { front, back, settle };
};

describe('vbd handshake (blkif.h, xen-blkback/xenbus.c)', () => {
  it('modern blkfront: backend InitWait -> frontend Initialised -> backend Connected -> frontend Connected', () => {
    const { front, back, settle } = vbd();
    back.send({ type: 'PROBE' });
    settle();
    expect(back.node).toBe(S.InitWait);
    expect(front.node).toBe(S.Initialised); // rings set up on InitWait
    expect(back.value).toBe('InitWait'); // waits for the hotplug script
    back.send({ type: 'HOTPLUG_DONE' });
    settle();
    expect([front.node, back.node]).toEqual([S.Connected, S.Connected]);
    expect(front.log).toEqual([
      'setupRing',
      'switchState:{"state":3}',
      'readDiskInfo',
      'switchState:{"state":4}',
    ]);
    expect(back.log).toEqual([
      'writeFeatures',
      'switchState:{"state":2}',
      'connectRing',
      'switchState:{"state":4}',
    ]);
  });

  it('legacy blkfront that goes Initialised at probe, before the backend is ready, still connects', () => {
    const { front, back, settle } = vbd(true);
    back.send({ type: 'HOTPLUG_DONE' });
    front.send({ type: 'PROBE' });
    settle();
    expect(front.node).toBe(S.Initialised);
    expect(back.node).toBe(S.Initialising);
    back.send({ type: 'PROBE' });
    settle();
    expect([front.node, back.node]).toEqual([S.Connected, S.Connected]);
  });

  it('close and reconnect: Closing/Closed on both ends, then InitWait again when the frontend re-initialises', () => {
    const { front, back, settle } = vbd();
    back.send({ type: 'PROBE' });
    back.send({ type: 'HOTPLUG_DONE' });
    settle();
    front.send({ type: 'UNPLUG' });
    settle();
    expect([front.node, back.node]).toEqual([S.Closed, S.Closed]);
    expect(back.log).toContain('disconnectRing');
    expect(front.log).toContain('teardownRing');
    front.send({ type: 'RECONNECT' });
    settle();
    expect([front.node, back.node]).toEqual([S.Connected, S.Connected]);
  });

  it('a disk in use refuses to close (EBUSY) until its last opener goes', () => {
    const { front, back, settle } = vbd();
    back.send({ type: 'PROBE' });
    back.send({ type: 'HOTPLUG_DONE' });
    settle();
    front.send({ type: 'DEVICE_OPENED' });
    back.send({ type: 'ONLINE', online: false }); // xl block-detach: online=0, state=5
    settle();
    expect(front.node).toBe(S.Connected);
    expect(front.log).toContain('reportBusy');
    front.send({ type: 'DEVICE_CLOSED' });
    settle();
    expect(front.node).toBe(S.Closed);
    expect(back.value).toBe('Removed');
    expect(back.log.at(-1)).toBe('removeDevice');
  });

  it('a faulty frontend closes that one device and the error is reported', () => {
    const { front, back, settle } = vbd();
    back.send({ type: 'PROBE' });
    back.send({ type: 'HOTPLUG_DONE' });
    settle();
    back.send({ type: 'FAULT', message: 'bad req_prod 4294967295' });
    settle();
    expect(back.log).toContain('reportError:{"message":"bad req_prod 4294967295"}');
    expect([front.node, back.node]).toEqual([S.Closed, S.Closed]);
  });
});

describe('vif handshake (netif.h, xen-netfront.c, xen-netback/xenbus.c)', () => {
  const vif = (rxCopy: boolean) => {
    const front = new Side(netfrontMachine);
    const back = new Side(netbackMachine);
    const settle = couple(
      front,
      back,
      (state) => ({ type: 'BACKEND_STATE', state, rxCopy }),
      (state) => ({ type: 'FRONTEND_STATE', state }),
    );
    return { front, back, settle };
  };

  it('netfront skips Initialised: backend InitWait -> frontend Connected -> backend Connected after hotplug', () => {
    const { front, back, settle } = vif(true);
    back.send({ type: 'PROBE' });
    settle();
    expect(front.node).toBe(S.Connected);
    expect(back.node).toBe(S.InitWait);
    back.send({ type: 'HOTPLUG_DONE' });
    settle();
    expect(back.node).toBe(S.Connected);
    expect(front.log).not.toContain('switchState:{"state":3}');
  });

  it('netfront refuses a backend without feature-rx-copy', () => {
    const { front, back, settle } = vif(false);
    back.send({ type: 'PROBE' });
    settle();
    expect(front.log).toContain(
      'reportError:{"message":"backend does not support copying receive path"}',
    );
    expect(front.node).toBe(S.Closed);
    expect(back.node).toBe(S.Closed);
  });
});

describe('toolstack attach/detach waits (libxl_device.c)', () => {
  it('times out after 10 s without backend InitWait and removes what it wrote', () => {
    const t = new Side(deviceAttachMachine);
    t.send({ type: 'WRITTEN' });
    expect(t.log).toEqual(['startTimer:{"ms":10000}']);
    t.send({ type: 'TIMEOUT' });
    expect(t.value).toBe('Failed');
    expect(t.log).toContain('removePaths');
    expect(t.log.join()).toMatch(/InitWait \(10 s\)/);
  });

  it('runs the hotplug script on InitWait with a 40 s limit, then detaches on backend Closed', () => {
    const t = new Side(deviceAttachMachine);
    t.send({ type: 'WRITTEN' });
    t.send({ type: 'BACKEND_STATE', state: S.InitWait });
    expect(t.log.slice(1)).toEqual(['cancelTimer', 'runHotplug', 'startTimer:{"ms":40000}']);
    t.send({ type: 'HOTPLUG_DONE' });
    expect(t.value).toBe('Attached');
    t.send({ type: 'DETACH', force: false });
    t.send({ type: 'BACKEND_STATE', state: S.Closed });
    expect(t.value).toBe('Detached');
    expect(t.log.slice(-3)).toEqual(['cancelTimer', 'runHotplugRemove', 'removePaths']);
  });

  it('a detach that times out fails unless forced', () => {
    const t = new Side(deviceAttachMachine);
    t.send({ type: 'WRITTEN' });
    t.send({ type: 'BACKEND_STATE', state: S.InitWait });
    t.send({ type: 'HOTPLUG_DONE' });
    t.send({ type: 'DETACH', force: false });
    t.send({ type: 'TIMEOUT' });
    expect(t.value).toBe('Failed');
    expect(t.log.join()).toMatch(/use -f to force/);
  });
});
