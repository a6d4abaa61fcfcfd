// The netfront side of the vif XenBus handshake (Linux drivers/net/xen-netfront.c netback_changed,
// xen/include/public/io/netif.h): on backend InitWait it sets up both rings and goes straight to
// Connected, skipping Initialised; it refuses a backend without feature-rx-copy.
//
// Actions: setupRings (grant tx/rx ring pages, event channel, request-rx-copy and features),
// teardownRings, switchState {state}, reportError {message}.

import { setup } from 'xstate';
import { XenbusState } from '../../hypercalls/io/xenbus.js';

export type NetfrontEvent =
  /** The backend's `state` changed; `rxCopy` is the backend's feature-rx-copy as read on InitWait. */
  | { type: 'BACKEND_STATE'; state: number; rxCopy?: boolean }
  | { type: 'UNPLUG' }
  | { type: 'RECONNECT' };

const sw = (state: number) => ({ type: 'switchState' as const, params: { state } });
type E = { event: NetfrontEvent };
const initWait = ({ event }: E) =>
  event.type === 'BACKEND_STATE' && event.state === XenbusState.InitWait;
const closingOrClosed = ({ event }: E) =>
  event.type === 'BACKEND_STATE' &&
  (event.state === XenbusState.Closing || event.state === XenbusState.Closed);

const connectOrRefuse = [
  {
    guard: ({ event }: E) =>
      initWait({ event }) && event.type === 'BACKEND_STATE' && event.rxCopy !== true,
    target: 'Closed' as const,
    actions: [
      {
        type: 'reportError' as const,
        params: { message: 'backend does not support copying receive path' },
      },
      sw(XenbusState.Closed),
    ],
  },
  {
    guard: initWait,
    target: 'Connected' as const,
    actions: ['setupRings' as const, sw(XenbusState.Connected)],
  },
];

export const netfrontMachine = setup({
  types: { context: {}, events: {} as NetfrontEvent },
  actions: {
    setupRings: () => undefined,
    teardownRings: () => undefined,
    switchState: (_, _params: { state: number }) => undefined,
    reportError: (_, _params: { message: string }) => undefined,
  },
}).createMachine({
  id: 'netfront',
  initial: 'Initialising',
  context: {},
  states: {
    Initialising: { on: { BACKEND_STATE: connectOrRefuse } },
    Connected: {
      on: {
        BACKEND_STATE: {
          guard: closingOrClosed,
          target: 'Closed',
          actions: ['teardownRings', sw(XenbusState.Closed)],
        },
        UNPLUG: { target: 'Closing', actions: [sw(XenbusState.Closing)] },
      },
    },
    Closing: {
      on: {
        BACKEND_STATE: {
          guard: closingOrClosed,
          target: 'Closed',
          actions: ['teardownRings', sw(XenbusState.Closed)],
        },
      },
    },
    Closed: {
      on: {
        BACKEND_STATE: connectOrRefuse,
        RECONNECT: { target: 'Initialising', actions: [sw(XenbusState.Initialising)] },
      },
    },
  },
});
