// One port of a dom0 bridge (Linux net/bridge/br_if.c, br_vlan.c with vlan_filtering): its VLAN
// membership (PVID, member and untagged sets), its MTU, per-port counters and capture taps. A vif
// (access port, `vlan=` or the default PVID 1), an 802.1Q trunk, or a host uplink.

import { ETH_DATA_LEN } from './ethernet.js';
import type { NetFrame } from './net-frame.js';

export type PortKind = 'vif' | 'trunk' | 'uplink';

/** VLAN membership: untagged frames arriving on the port belong to `pvid` (undefined: dropped). */
export interface PortVlans {
  readonly pvid: number | undefined;
  /** Every VLAN the port is a member of. */
  readonly vlans: readonly number[];
  /** VLANs sent out of the port untagged. */
  readonly untagged: readonly number[];
}

/** Linux's default_pvid: a port with no VLAN configuration is an untagged member of VLAN 1. */
export const DEFAULT_PORT_VLANS: PortVlans = { pvid: 1, vlans: [1], untagged: [1] };

/** A trunk carrying `vlans` tagged (and `native`, if given, untagged as its PVID). */
export function trunkVlans(vlans: readonly number[], native?: number): PortVlans {
  const all = native === undefined ? [...vlans] : [...new Set([...vlans, native])];
  return { pvid: native, vlans: all, untagged: native === undefined ? [] : [native] };
}

/** Every VLAN 1..4094 tagged, VLAN 1 native: a host uplink carrying whatever the bridge has. */
export const UPLINK_VLANS: PortVlans = trunkVlans(
  Array.from({ length: 4094 }, (_, i) => i + 1),
  1,
);

/** Counters from the bridge's point of view: rx = frames the port brought in, tx = sent out of it. */
export interface PortCounters {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  rxDropped: number;
  txDropped: number;
}

export const newPortCounters = (): PortCounters => ({
  rxFrames: 0,
  rxBytes: 0,
  txFrames: 0,
  txBytes: 0,
  rxDropped: 0,
  txDropped: 0,
});

export type TapDirection = 'in' | 'out';
/** Sees every frame as on the wire of the port (tags included), at virtual time `timeNs`. */
export type PortTap = (frame: Uint8Array, timeNs: number, dir: TapDirection) => void;

export interface BridgePortOptions {
  /** Interface name (`vif3.0`, `eth0`, `trunk1`); unique per bridge. */
  readonly name: string;
  readonly kind: PortKind;
  /** Default: DEFAULT_PORT_VLANS for a vif; required in effect for trunks (default: UPLINK_VLANS). */
  readonly vlans?: PortVlans | undefined;
  /** Largest payload (bytes after the Ethernet header, tag excluded); default 1500. */
  readonly mtu?: number | undefined;
  /**
   * Takes a frame the bridge sends out of this port, never mutating it. A pool frame (frame-pool.ts)
   * is valid only during the call: a receiver that keeps it retains it (retainFrame) or copies it.
   */
  readonly deliver: (frame: Uint8Array) => void;
  /**
   * Takes a NetFrame (fragments still in the sending guest's grants) as is, like deliver; a port
   * without it gets the frame's bytes. Only a vif's netback offers it.
   */
  readonly deliverFrame?: ((frame: NetFrame) => void) | undefined;
}

const MEMBER = 1;
const UNTAGGED = 2;

export class BridgePort {
  readonly name: string;
  readonly kind: PortKind;
  readonly mtu: number;
  readonly pvid: number;
  readonly counters: PortCounters = newPortCounters();
  readonly taps: PortTap[] = [];
  readonly deliver: (frame: Uint8Array) => void;
  readonly deliverFrame: ((frame: NetFrame) => void) | undefined;
  /** Per VID: MEMBER | UNTAGGED bits. */
  private readonly vlanBits = new Uint8Array(4096);
  /** The bridge the port is on (null once removed). */
  bridgeName: string | null = null;

  constructor(opts: BridgePortOptions) {
    this.name = opts.name;
    this.kind = opts.kind;
    this.mtu = opts.mtu ?? ETH_DATA_LEN;
    this.deliver = opts.deliver;
    this.deliverFrame = opts.deliverFrame;
    const v = opts.vlans ?? (opts.kind === 'vif' ? DEFAULT_PORT_VLANS : UPLINK_VLANS);
    this.pvid = v.pvid ?? 0;
    for (const id of v.vlans) if (id >= 1 && id <= 4094) this.vlanBits[id] = MEMBER;
    for (const id of v.untagged) {
      if (id >= 1 && id <= 4094) this.vlanBits[id] = MEMBER | UNTAGGED;
    }
    if (this.pvid !== 0) this.vlanBits[this.pvid] = (this.vlanBits[this.pvid] as number) | MEMBER;
  }

  isMember(vid: number): boolean {
    return ((this.vlanBits[vid] ?? 0) & MEMBER) !== 0;
  }

  sendsUntagged(vid: number): boolean {
    return ((this.vlanBits[vid] ?? 0) & UNTAGGED) !== 0;
  }

  /** VLAN ids the port is a member of, ascending. */
  vlanList(): number[] {
    const out: number[] = [];
    for (let i = 1; i < 4095; i++) if (this.isMember(i)) out.push(i);
    return out;
  }
}
