// The toolstack's part of attaching and detaching a device (libxl_device.c: libxl__wait_device_connection,
// device hotplug, libxl__initiate_device_generic_remove): after writing both xenstore directories it
// waits up to LIBXL_INIT_TIMEOUT (10 s) for backend InitWait, runs the hotplug script (40 s), and on
// detach writes online=0/state=5 and waits LIBXL_DESTROY_TIMEOUT (10 s) for Closed. Timeouts are
// events on the engine queue: the caller runs `startTimer`/`cancelTimer` actions and sends TIMEOUT.

import { setup } from 'xstate';
import { XenbusState } from '../../hypercalls/io/xenbus.js';

export const LIBXL_INIT_TIMEOUT_MS = 10_000;
export const LIBXL_HOTPLUG_TIMEOUT_MS = 40_000;
export const LIBXL_DESTROY_TIMEOUT_MS = 10_000;

export type DeviceAttachEvent =
  | { type: 'WRITTEN' }
  | { type: 'BACKEND_STATE'; state: number }
  | { type: 'HOTPLUG_DONE' }
  | { type: 'HOTPLUG_FAILED'; message: string }
  | { type: 'TIMEOUT' }
  | { type: 'DETACH'; force: boolean };

type E = { event: DeviceAttachEvent };
const be =
  (s: number) =>
  ({ event }: E) =>
    event.type === 'BACKEND_STATE' && event.state === s;
const timer = (ms: number) => ({ type: 'startTimer' as const, params: { ms } });
const fail = (message: string) => ({ type: 'fail' as const, params: { message } });

export const deviceAttachMachine = setup({
  types: { context: {} as { force: boolean }, events: {} as DeviceAttachEvent },
  actions: {
    startTimer: (_, _p: { ms: number }) => undefined,
    cancelTimer: () => undefined,
    runHotplug: () => undefined,
    runHotplugRemove: () => undefined,
    writeDetach: () => undefined,
    removePaths: () => undefined,
    fail: (_, _p: { message: string }) => undefined,
  },
}).createMachine({
  id: 'deviceAttach',
  initial: 'Writing',
  context: { force: false },
  states: {
    Writing: {
      on: { WRITTEN: { target: 'WaitInitWait', actions: [timer(LIBXL_INIT_TIMEOUT_MS)] } },
    },
    WaitInitWait: {
      on: {
        BACKEND_STATE: [
          {
            guard: be(XenbusState.InitWait),
            target: 'WaitHotplug',
            actions: ['cancelTimer', 'runHotplug', timer(LIBXL_HOTPLUG_TIMEOUT_MS)],
          },
          // A backend that skipped ahead (already Connected) has also passed InitWait.
          {
            guard: be(XenbusState.Connected),
            target: 'WaitHotplug',
            actions: ['cancelTimer', 'runHotplug', timer(LIBXL_HOTPLUG_TIMEOUT_MS)],
          },
        ],
        TIMEOUT: {
          target: 'Failed',
          actions: [
            fail('timed out waiting for the backend to reach InitWait (10 s)'),
            'removePaths',
          ],
        },
      },
    },
    WaitHotplug: {
      on: {
        HOTPLUG_DONE: { target: 'Attached', actions: ['cancelTimer'] },
        HOTPLUG_FAILED: {
          target: 'Failed',
          actions: [
            'cancelTimer',
            {
              type: 'fail',
              params: ({ event }) => ({
                message: event.type === 'HOTPLUG_FAILED' ? event.message : 'hotplug failed',
              }),
            },
            'removePaths',
          ],
        },
        TIMEOUT: {
          target: 'Failed',
          actions: [fail('hotplug script timed out (40 s)'), 'removePaths'],
        },
      },
    },
    Attached: {
      on: {
        DETACH: { target: 'WaitClosed', actions: ['writeDetach', timer(LIBXL_DESTROY_TIMEOUT_MS)] },
      },
    },
    WaitClosed: {
      on: {
        BACKEND_STATE: {
          guard: be(XenbusState.Closed),
          target: 'Detached',
          actions: ['cancelTimer', 'runHotplugRemove', 'removePaths'],
        },
        TIMEOUT: [
          {
            guard: ({ context }) => context.force,
            target: 'Detached',
            actions: ['runHotplugRemove', 'removePaths'],
          },
          {
            target: 'Failed',
            actions: [
              fail('timed out waiting for the backend to close the device (10 s); use -f to force'),
            ],
          },
        ],
      },
    },
    Detached: { type: 'final' },
    Failed: { type: 'final' },
  },
});
