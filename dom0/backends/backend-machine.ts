// The backend side of a XenBus split-driver handshake (Linux drivers/block/xen-blkback/xenbus.c and
// drivers/net/xen-netback/xenbus.c frontend_changed; xen/include/public/io/xenbus.h), as a pure
// xstate machine shared by blkback and netback. The driver feeds it the frontend's state changes,
// hotplug completion, `online` and faults; it runs the returned actions and writes `state`.
//
// It tolerates both blkfront orders: a frontend that waited for InitWait and one (older Linux)
// that wrote its ring details and went Initialised at probe, before the backend was even ready.
//
// Actions: writeFeatures, connectRing (map the ring(s), bind the event channel, publish device info),
// disconnectRing, switchState {state}, reportError {message}, removeDevice.

import { assign, setup } from 'xstate';
import { XenbusState } from '../../hypercalls/io/xenbus.js';

export type BackendEvent =
  /** The backend device directory appeared (xenbus probe). */
  | { type: 'PROBE' }
  /** The hotplug script finished (physical-device for vbd, hotplug-status=connected for vif). */
  | { type: 'HOTPLUG_DONE' }
  /** The frontend's `state` node changed (already parsed). */
  | { type: 'FRONTEND_STATE'; state: number }
  /** The toolstack changed the backend's `online` node. */
  | { type: 'ONLINE'; online: boolean }
  /** The frontend misbehaved or connecting failed: close this one device and say why. */
  | { type: 'FAULT'; message: string };

export interface BackendContext {
  hotplugged: boolean;
  frontendReady: boolean;
  online: boolean;
}

export interface BackendKind {
  id: 'blkback' | 'netback';
  /** Frontend states on which the backend connects (blkback: Initialised or Connected; netback: Connected). */
  connectOn: readonly number[];
}

const sw = (state: number) => ({ type: 'switchState' as const, params: { state } });
type Args = { context: BackendContext; event: BackendEvent };
const fe =
  (...states: number[]) =>
  ({ event }: Args) =>
    event.type === 'FRONTEND_STATE' && states.includes(event.state);

export function makeBackendMachine(kind: BackendKind) {
  const feReady = ({ event }: Args) =>
    event.type === 'FRONTEND_STATE' && kind.connectOn.includes(event.state);
  const fault = {
    target: 'Closing' as const,
    actions: [
      {
        type: 'reportError' as const,
        params: ({ event }: Args) => ({
          message: event.type === 'FAULT' ? event.message : 'fault',
        }),
      },
      'disconnectRing' as const,
      sw(XenbusState.Closing),
    ],
  };
  return setup({
    types: { context: {} as BackendContext, events: {} as BackendEvent },
    actions: {
      writeFeatures: () => undefined,
      connectRing: () => undefined,
      disconnectRing: () => undefined,
      switchState: (_, _params: { state: number }) => undefined,
      reportError: (_, _params: { message: string }) => undefined,
      removeDevice: () => undefined,
    },
    guards: {
      canConnect: ({ context }) => context.hotplugged && context.frontendReady,
      offline: ({ context }) => !context.online,
    },
  }).createMachine({
    id: kind.id,
    initial: 'Initialising',
    context: { hotplugged: false, frontendReady: false, online: true },
    on: {
      HOTPLUG_DONE: { actions: assign({ hotplugged: true }) },
    },
    states: {
      Initialising: {
        on: {
          PROBE: { target: 'InitWait', actions: ['writeFeatures', sw(XenbusState.InitWait)] },
          // An old blkfront may be Initialised before we probed: remember it.
          FRONTEND_STATE: { guard: feReady, actions: assign({ frontendReady: true }) },
          ONLINE: { actions: assign({ online: ({ event }) => event.online }) },
        },
      },
      InitWait: {
        always: {
          guard: 'canConnect',
          target: 'Connected',
          actions: ['connectRing', sw(XenbusState.Connected)],
        },
        on: {
          FRONTEND_STATE: [
            { guard: feReady, actions: assign({ frontendReady: true }) },
            {
              guard: fe(XenbusState.Closing),
              target: 'Closing',
              actions: [sw(XenbusState.Closing)],
            },
            {
              guard: fe(XenbusState.Closed, XenbusState.Unknown),
              target: 'Closed',
              actions: [sw(XenbusState.Closed)],
            },
          ],
          ONLINE: {
            guard: ({ event }) => !event.online,
            target: 'Closing',
            actions: [assign({ online: false }), sw(XenbusState.Closing)],
          },
          FAULT: fault,
        },
      },
      Connected: {
        on: {
          FRONTEND_STATE: [
            {
              guard: fe(XenbusState.Closing),
              target: 'Closing',
              actions: ['disconnectRing', sw(XenbusState.Closing)],
            },
            {
              guard: fe(XenbusState.Closed, XenbusState.Unknown),
              target: 'Closed',
              actions: ['disconnectRing', sw(XenbusState.Closed)],
            },
          ],
          ONLINE: {
            guard: ({ event }) => !event.online,
            target: 'Closing',
            actions: [assign({ online: false }), sw(XenbusState.Closing)],
          },
          FAULT: fault,
        },
      },
      Closing: {
        on: {
          FRONTEND_STATE: {
            guard: fe(XenbusState.Closed, XenbusState.Unknown),
            target: 'Closed',
            actions: ['disconnectRing', sw(XenbusState.Closed)],
          },
          ONLINE: { actions: assign({ online: ({ event }) => event.online }) },
          FAULT: {
            actions: [
              {
                type: 'reportError',
                params: ({ event }) => ({
                  message: event.type === 'FAULT' ? event.message : 'fault',
                }),
              },
            ],
          },
        },
      },
      Closed: {
        always: { guard: 'offline', target: 'Removed', actions: ['removeDevice'] },
        on: {
          // blkback/netback: a frontend re-initialising after Closed means "prepare for reconnect".
          FRONTEND_STATE: {
            guard: fe(XenbusState.Initialising),
            target: 'InitWait',
            actions: [assign({ frontendReady: false }), sw(XenbusState.InitWait)],
          },
          ONLINE: { actions: assign({ online: ({ event }) => event.online }) },
        },
      },
      Removed: { type: 'final' },
    },
  });
}

/** blkback connects once the frontend is Initialised (or already Connected) and the hotplug script ran. */
export const blkbackMachine = makeBackendMachine({
  id: 'blkback',
  connectOn: [XenbusState.Initialised, XenbusState.Connected],
});
/** netback connects when netfront says Connected (netfront skips Initialised) and hotplug-status is connected. */
export const netbackMachine = makeBackendMachine({
  id: 'netback',
  connectOn: [XenbusState.Connected],
});
