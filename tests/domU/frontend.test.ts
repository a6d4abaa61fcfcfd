// The frontend framework (xenbus_probe_frontend.c): devices found under device/<type>/<id>, the
// blkfront and netfront handshake machines driven through xstate's transition, their actions run
// against xenstore, the backend's state fed back through a watch.

import { describe, expect, it } from 'vitest';
import type { FrontendDriver } from '../../domU/xenbus/frontend.js';
import { blkfrontMachine } from '../../domU/xenbus/blkfront-machine.js';
import { netfrontMachine } from '../../domU/xenbus/netfront-machine.js';
import { XenbusState as S } from '../../hypercalls/io/xenbus.js';
import { bootKernel } from './kernel-harness.js';

const BE = '/local/domain/0/backend/vbd/5/51712';
const VIF_BE = '/local/domain/0/backend/vif/5/0';

/** A trivial vbd driver: the ring is pretend (fixed refs), disk info is read from the backend. */
function testBlkDriver(log: string[]): FrontendDriver {
  return {
    type: 'vbd',
    machine: blkfrontMachine,
    machineInput: () => ({ legacyOrder: false }),
    *runAction(dev, action, bus) {
      log.push(action.type);
      if (action.type === 'setupRing') {
        yield* bus.xs.write(`${dev.nodename}/ring-ref`, '8');
        yield* bus.xs.write(`${dev.nodename}/event-channel`, '9');
        yield* bus.xs.write(`${dev.nodename}/protocol`, 'x86_64-abi');
      } else if (action.type === 'readDiskInfo') {
        dev.data = { sectors: yield* bus.xs.readInt(`${dev.backendPath}/sectors`, 0) };
      }
    },
    *remove() {
      log.push('remove');
      yield 0;
    },
  };
}

function toolstackAddsVbd(xsd: { set(p: string, v: string): void }): void {
  xsd.set(`${BE}/frontend`, '/local/domain/5/device/vbd/51712');
  xsd.set(`${BE}/state`, '1');
  xsd.set('device/vbd/51712/backend', BE);
  xsd.set('device/vbd/51712/backend-id', '0');
  xsd.set('device/vbd/51712/virtual-device', '51712');
  xsd.set('device/vbd/51712/state', '1');
}

describe('frontend framework', () => {
  it('probes a vbd present at boot and runs the blkfront handshake to Connected', () => {
    const log: string[] = [];
    const { xsd, kernel, runUntil } = bootKernel(
      { drivers: [testBlkDriver(log)] },
      { setup: toolstackAddsVbd },
    );
    expect(runUntil(() => kernel().frontends.device('vbd', '51712') !== undefined)).toBe(true);
    const dev = kernel().frontends.device('vbd', '51712');
    if (!dev) throw new Error('no device');
    expect(dev.backendPath).toBe(BE);
    // blkback probe: InitWait.
    xsd.set(`${BE}/state`, String(S.InitWait));
    expect(runUntil(() => xsd.get('device/vbd/51712/state') === String(S.Initialised))).toBe(true);
    expect(xsd.get('device/vbd/51712/ring-ref')).toBe('8');
    expect(xsd.get('device/vbd/51712/event-channel')).toBe('9');
    // blkback connects after writing the disk's size.
    xsd.set(`${BE}/sectors`, '2097152');
    xsd.set(`${BE}/state`, String(S.Connected));
    expect(runUntil(() => xsd.get('device/vbd/51712/state') === String(S.Connected))).toBe(true);
    expect(dev.machineState).toBe('Connected');
    expect(dev.data).toEqual({ sectors: 2097152 });
    expect(log).toEqual(['setupRing', 'readDiskInfo']);
    expect(dev.actionLog).toEqual(['setupRing', 'switchState:3', 'readDiskInfo', 'switchState:4']);
  });

  it('finds a device hot-plugged after boot, and tears it down when the backend closes', () => {
    const log: string[] = [];
    const { xsd, kernel, runUntil } = bootKernel({ drivers: [testBlkDriver(log)] });
    runUntil(() => kernel().frontends.watching && kernel().xs.outstanding === 0);
    expect(kernel().frontends.devices.size).toBe(0);
    toolstackAddsVbd(xsd);
    xsd.set(`${BE}/state`, String(S.InitWait));
    expect(runUntil(() => xsd.get('device/vbd/51712/state') === String(S.Initialised))).toBe(true);
    xsd.set(`${BE}/state`, String(S.Connected));
    expect(runUntil(() => xsd.get('device/vbd/51712/state') === String(S.Connected))).toBe(true);
    xsd.set(`${BE}/state`, String(S.Closing));
    expect(runUntil(() => xsd.get('device/vbd/51712/state') === String(S.Closed))).toBe(true);
    expect(log).toContain('teardownRing');
  });

  it('removes a device whose directory disappears, dropping its backend watch', () => {
    const log: string[] = [];
    const { xsd, kernel, runUntil } = bootKernel(
      { drivers: [testBlkDriver(log)] },
      { setup: toolstackAddsVbd },
    );
    expect(
      runUntil(
        () =>
          kernel().frontends.device('vbd', '51712') !== undefined && kernel().xs.outstanding === 0,
      ),
    ).toBe(true);
    const watchesBefore = xsd.watches.length;
    // The toolstack removes the frontend directory.
    for (const k of [...xsd.store.keys()])
      if (k.startsWith('/local/domain/5/device/vbd/51712')) xsd.store.delete(k);
    xsd.fire('/local/domain/5/device/vbd/51712');
    expect(runUntil(() => kernel().frontends.device('vbd', '51712') === undefined)).toBe(true);
    expect(runUntil(() => log.includes('remove') && xsd.watches.length === watchesBefore - 1)).toBe(
      true,
    );
  });

  it('a garbled backend state is reported on the device and changes nothing', () => {
    const log: string[] = [];
    const { xsd, kernel, runUntil } = bootKernel(
      { drivers: [testBlkDriver(log)] },
      { setup: toolstackAddsVbd },
    );
    runUntil(() => kernel().frontends.device('vbd', '51712') !== undefined);
    xsd.set(`${BE}/state`, '4x');
    const dev = kernel().frontends.device('vbd', '51712');
    expect(runUntil(() => (dev?.errors.length ?? 0) > 0)).toBe(true);
    expect(dev?.machineState).toBe('Initialising');
  });

  it('netfront: reads feature-rx-copy on InitWait and goes straight to Connected', () => {
    const vif: FrontendDriver = {
      type: 'vif',
      machine: netfrontMachine,
      *backendEvent(dev, state, bus) {
        const rxCopy = (yield* bus.xs.readInt(`${dev.backendPath}/feature-rx-copy`, 0)) === 1;
        return { type: 'BACKEND_STATE', state, rxCopy };
      },
      *runAction(dev, action, bus) {
        if (action.type === 'setupRings') yield* bus.xs.write(`${dev.nodename}/tx-ring-ref`, '10');
      },
    };
    const { xsd, runUntil } = bootKernel(
      { drivers: [vif] },
      {
        setup: (x) => {
          x.set(`${VIF_BE}/state`, '1');
          x.set('device/vif/0/backend', VIF_BE);
          x.set('device/vif/0/backend-id', '0');
          x.set('device/vif/0/state', '1');
        },
      },
    );
    runUntil(() => xsd.watches.some((w) => w.path === `${VIF_BE}/state`));
    xsd.set(`${VIF_BE}/feature-rx-copy`, '1');
    xsd.set(`${VIF_BE}/state`, String(S.InitWait));
    expect(runUntil(() => xsd.get('device/vif/0/state') === String(S.Connected))).toBe(true);
    expect(xsd.get('device/vif/0/tx-ring-ref')).toBe('10');
  });

  it('poweroff closes a connected frontend first (Closing, then Closed once the backend closes)', () => {
    const log: string[] = [];
    const { xen, xsd, kernel, runUntil } = bootKernel(
      { drivers: [testBlkDriver(log)] },
      { setup: toolstackAddsVbd },
    );
    runUntil(() => kernel().frontends.device('vbd', '51712') !== undefined);
    xsd.set(`${BE}/state`, String(S.InitWait));
    expect(runUntil(() => xsd.get('device/vbd/51712/state') === String(S.Initialised))).toBe(true);
    xsd.set(`${BE}/state`, String(S.Connected));
    expect(runUntil(() => xsd.get('device/vbd/51712/state') === String(S.Connected))).toBe(true);
    xsd.set('control/shutdown', 'poweroff');
    expect(runUntil(() => xsd.get('device/vbd/51712/state') === String(S.Closing))).toBe(true);
    expect(xen.shutdownReason).toBeNull();
    xsd.set(`${BE}/state`, String(S.Closed));
    expect(runUntil(() => xen.shutdownReason !== null)).toBe(true);
    expect(xsd.get('device/vbd/51712/state')).toBe(String(S.Closed));
    expect(log).toContain('teardownRing');
  });

  it('poweroff does not wait more than 5 s for a backend that never closes', () => {
    const { xen, xsd, kernel, runUntil } = bootKernel(
      { drivers: [testBlkDriver([])] },
      { setup: toolstackAddsVbd },
    );
    runUntil(() => kernel().frontends.device('vbd', '51712') !== undefined);
    xsd.set(`${BE}/state`, String(S.InitWait));
    expect(runUntil(() => xsd.get('device/vbd/51712/state') === String(S.Initialised))).toBe(true);
    xsd.set(`${BE}/state`, String(S.Connected));
    expect(runUntil(() => xsd.get('device/vbd/51712/state') === String(S.Connected))).toBe(true);
    const t0 = xen.nowNs;
    xsd.set('control/shutdown', 'poweroff');
    expect(runUntil(() => xen.shutdownReason !== null, 20e9)).toBe(true);
    expect(xen.nowNs - t0).toBeGreaterThanOrEqual(5e9);
    expect(xen.nowNs - t0).toBeLessThan(6e9);
  });
});
