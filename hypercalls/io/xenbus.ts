// XenBus device states, following xen/include/public/io/xenbus.h (enum xenbus_state). Each end
// stores its state as a decimal string in `<device dir>/state` and watches the other end's.

import { ioErr, ioOk, type IoResult } from './ring.js';

export const XenbusState = {
  Unknown: 0,
  Initialising: 1,
  /** Finished early initialisation, waiting for the peer or hotplug scripts. */
  InitWait: 2,
  /** Initialised and waiting for a connection from the peer. */
  Initialised: 3,
  Connected: 4,
  /** Being closed because of an error or an unplug event. */
  Closing: 5,
  Closed: 6,
  Reconfiguring: 7,
  Reconfigured: 8,
} as const;
export type XenbusState = (typeof XenbusState)[keyof typeof XenbusState];

const NAMES: readonly string[] = Object.keys(XenbusState);

/** True when `n` is one of the nine defined states. */
export const isXenbusState = (n: number): n is XenbusState =>
  Number.isInteger(n) && n >= XenbusState.Unknown && n <= XenbusState.Reconfigured;

/** The state's name (`InitWait`), or `INVALID` for other numbers, as Linux's xenbus_strstate. */
export function xenbusStateName(state: number): string {
  return isXenbusState(state) ? (NAMES[state] ?? 'INVALID') : 'INVALID';
}

/**
 * Parses the value of a `state` node, written by another domain: plain decimal digits naming a
 * defined state. DEVIATION(xen): Linux reads it with sscanf("%d") and so also accepts a sign,
 * leading blanks and trailing text; xensim rejects those so a garbled node is reported.
 */
export function parseXenbusState(text: string): IoResult<XenbusState> {
  if (!/^[0-9]{1,10}$/.test(text)) {
    return ioErr(`xenbus state ${JSON.stringify(text.slice(0, 32))} is not a decimal number`);
  }
  const n = Number(text);
  if (!isXenbusState(n)) return ioErr(`xenbus state ${n} is not a XenbusState (0..8)`);
  return ioOk(n);
}

/** The decimal string written to a `state` node. */
export const formatXenbusState = (state: XenbusState): string => String(state);
