// A host uplink (the physical NIC a real dom0 enslaves to xenbr0, e.g. eth0): a trunk port whose
// far end is another host's uplink, so bridges of different hosts form one segment. The wire is a
// function: the composition root decides whether frames cross at once or after a modelled delay.

import { keepFrame } from './frame-pool.js';
import type { Bridge } from './bridge.js';
import { UPLINK_VLANS, type BridgePort, type PortVlans } from './bridge-port.js';

/** The far end of a wire: takes a frame that left this host. */
export type Wire = (frame: Uint8Array) => void;

export interface UplinkOptions {
  readonly name?: string;
  readonly vlans?: PortVlans;
  readonly mtu?: number;
}

/** Adds an uplink port to `bridge` that sends into `wire`; feed received frames to `bridge.input`. */
export function addUplink(
  bridge: Bridge,
  wire: Wire,
  opts: UplinkOptions = {},
): { ok: true; port: BridgePort } | { ok: false; error: string } {
  return bridge.addPort({
    name: opts.name ?? 'eth0',
    kind: 'uplink',
    vlans: opts.vlans ?? UPLINK_VLANS,
    mtu: opts.mtu,
    deliver: wire,
  });
}

/**
 * Joins two bridges (of two hosts) by uplinks. `carry` moves a frame across the wire (default:
 * at once); it is how a multi-host world adds latency or bandwidth.
 */
export function joinBridges(
  a: Bridge,
  b: Bridge,
  carry: (deliver: () => void) => void = (d) => d(),
  opts: UplinkOptions = {},
): { ok: true; a: BridgePort; b: BridgePort } | { ok: false; error: string } {
  // B's port exists only after A's: A's wire looks it up when a frame crosses.
  const far: { port?: BridgePort } = {};
  // A frame crosses later than its delivery call: keep a copy of pool frames.
  const ra = addUplink(
    a,
    (f) => {
      const k = keepFrame(f);
      carry(() => {
        if (far.port) b.input(far.port, k);
      });
    },
    opts,
  );
  if (!ra.ok) return ra;
  const pa = ra.port;
  const rb = addUplink(
    b,
    (f) => {
      const k = keepFrame(f);
      carry(() => a.input(pa, k));
    },
    opts,
  );
  if (!rb.ok) {
    a.removePort(ra.port.name);
    return rb;
  }
  far.port = rb.port;
  return { ok: true, a: pa, b: rb.port };
}
