// The blkfront side of the vbd XenBus handshake (Linux drivers/block/xen-blkfront.c blkback_changed,
// xen/include/public/io/blkif.h and xenbus.h), as a pure xstate machine: the driver feeds it the
// backend's state changes and its own outcomes, runs the returned actions, and writes `state`.
//
// States are the frontend's XenbusState. Actions (run by the driver, in order):
//   setupRing      grant the ring page, allocate the event channel, write ring-ref/event-channel/protocol
//   readDiskInfo   read sectors, info, sector-size and feature-* from the backend, create the disk
//   teardownRing   end access to the ring page, close the event channel
//   switchState    write `state` = params.state
//   reportBusy     xenbus_dev_error(-EBUSY, "Device in use; refusing to close")

import { setup, assign } from 'xstate';
import { XenbusState } from '../../hypercalls/io/xenbus.js';

export type BlkfrontEvent =
  /** The backend's `state` node changed (already parsed). */
  | { type: 'BACKEND_STATE'; state: number }
  /** Probe: old blkfront wrote its ring details at probe, without waiting for InitWait. */
  | { type: 'PROBE' }
  /** The guest opened or closed the block device. */
  | { type: 'DEVICE_OPENED' }
  | { type: 'DEVICE_CLOSED' }
  /** The guest asks to unplug its disk. */
  | { type: 'UNPLUG' }
  /** After Closed with the backend still online: start again (re-probe). */
  | { type: 'RECONNECT' };

export interface BlkfrontInput {
  legacyOrder?: boolean;
}

export interface BlkfrontContext {
  /** Write ring details at probe (pre-InitWait Linux) instead of on backend InitWait. */
  legacyOrder: boolean;
  openCount: number;
  /** Backend asked to close while the disk was open: close as soon as the last opener goes. */
  closePending: boolean;
}

const sw = (state: number) => ({ type: 'switchState' as const, params: { state } });
const isState =
  (s: number) =>
  ({ event }: { event: BlkfrontEvent }) =>
    event.type === 'BACKEND_STATE' && event.state === s;
const isClosingOrClosed = ({ event }: { event: BlkfrontEvent }) =>
  event.type === 'BACKEND_STATE' &&
  (event.state === XenbusState.Closing || event.state === XenbusState.Closed);

export const blkfrontMachine = setup({
  types: {
    context: {} as BlkfrontContext,
    events: {} as BlkfrontEvent,
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- xstate infers the machine's input type from this phantom value
    input: {} as BlkfrontInput,
  },
  actions: {
    setupRing: () => undefined,
    readDiskInfo: () => undefined,
    teardownRing: () => undefined,
    switchState: (_, _params: { state: number }) => undefined,
    reportBusy: () => undefined,
  },
  guards: {
    legacy: ({ context }) => context.legacyOrder,
    inUse: ({ context }) => context.openCount > 0,
  },
}).createMachine({
  id: 'blkfront',
  initial: 'Initialising',
  context: ({ input }) => ({
    legacyOrder: input?.legacyOrder ?? false,
    openCount: 0,
    closePending: false,
  }),
  on: {
    DEVICE_OPENED: { actions: assign({ openCount: ({ context }) => context.openCount + 1 }) },
  },
  states: {
    Initialising: {
      on: {
        PROBE: {
          guard: 'legacy',
          target: 'Initialised',
          actions: ['setupRing', sw(XenbusState.Initialised)],
        },
        BACKEND_STATE: [
          {
            guard: isState(XenbusState.InitWait),
            target: 'Initialised',
            actions: ['setupRing', sw(XenbusState.Initialised)],
          },
          // A legacy frontend already initialised may see Connected before it saw InitWait.
        ],
      },
    },
    Initialised: {
      on: {
        BACKEND_STATE: [
          {
            guard: isState(XenbusState.Connected),
            target: 'Connected',
            actions: ['readDiskInfo', sw(XenbusState.Connected)],
          },
          {
            guard: isClosingOrClosed,
            target: 'Closed',
            actions: ['teardownRing', sw(XenbusState.Closed)],
          },
        ],
      },
    },
    Connected: {
      on: {
        BACKEND_STATE: [
          {
            guard: ({ context, event }) => isClosingOrClosed({ event }) && context.openCount > 0,
            actions: ['reportBusy', assign({ closePending: true })],
          },
          {
            guard: isClosingOrClosed,
            target: 'Closed',
            actions: ['teardownRing', sw(XenbusState.Closed)],
          },
        ],
        DEVICE_CLOSED: [
          {
            guard: ({ context }) => context.closePending && context.openCount <= 1,
            target: 'Closed',
            actions: [
              assign({ openCount: 0, closePending: false }),
              'teardownRing',
              sw(XenbusState.Closed),
            ],
          },
          { actions: assign({ openCount: ({ context }) => Math.max(0, context.openCount - 1) }) },
        ],
        UNPLUG: { target: 'Closing', actions: [sw(XenbusState.Closing)] },
      },
    },
    Closing: {
      on: {
        BACKEND_STATE: {
          guard: isClosingOrClosed,
          target: 'Closed',
          actions: ['teardownRing', sw(XenbusState.Closed)],
        },
      },
    },
    Closed: {
      on: {
        // Reconnect cycle: the backend is back in InitWait after our re-probe (blkback "prepare for reconnect").
        BACKEND_STATE: {
          guard: isState(XenbusState.InitWait),
          target: 'Initialised',
          actions: ['setupRing', sw(XenbusState.Initialised)],
        },
        RECONNECT: {
          target: 'Initialising',
          actions: [assign({ openCount: 0, closePending: false }), sw(XenbusState.Initialising)],
        },
      },
    },
  },
});
