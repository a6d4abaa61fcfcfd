// A dom0 bridge as a learning switch with VLAN filtering (Linux net/bridge/br_input.c,
// br_forward.c, br_fdb.c, br_vlan.c): the forwarding database is keyed by (VID, MAC) and ages in
// virtual time, unknown and group destinations flood to the VLAN's other members, and a frame
// never leaves its VLAN or its bridge. Frames are Uint8Arrays or NetFrames (net-frame.ts: a
// header in dom0 and fragments still in the sending guest's grants); an untagged frame is passed
// to every receiver as is (receivers never mutate it; a pool frame is valid only during delivery,
// so a receiver that keeps one retains or copies it: frame-pool.ts). A NetFrame goes as is only to
// a single port that takes fragments (a vif: its netback copies them straight from the sender's
// grants) with no change of tag; taps, floods, other ports and re-tagging linearize it once.

import {
  ETH_HLEN,
  formatMac,
  frameVid,
  isGroupMacHi,
  macHiAt,
  macLoAt,
  macOf,
  tagFrame,
  untagFrame,
  VLAN_HLEN,
} from './ethernet.js';
import { BridgePort, type BridgePortOptions } from './bridge-port.js';
import type { PageFrame } from './frame-pool.js';
import { frameBytes, isNetFrame, type Frame, type NetFrame } from './net-frame.js';

/** Linux's default ageing time (BR_DEFAULT_AGEING_TIME): 300 s. */
export const DEFAULT_AGEING_NS = 300_000_000_000;

export interface BridgeClock {
  now(): number;
}

interface FdbEntry {
  port: BridgePort;
  seenNs: number;
}

export interface FdbRow {
  readonly vid: number;
  readonly mac: string;
  readonly port: string;
  readonly ageNs: number;
}

export interface BridgeCounters {
  /** Frames taken in from any port. */
  frames: number;
  /** Frames flooded (unknown unicast or group destination). */
  floods: number;
  learned: number;
  aged: number;
  /** Frames dropped at ingress, by reason. */
  drops: Record<string, number>;
}

export type PortResult = { ok: true; port: BridgePort } | { ok: false; error: string };

export class Bridge {
  readonly name: string;
  ageingNs: number;
  readonly counters: BridgeCounters = { frames: 0, floods: 0, learned: 0, aged: 0, drops: {} };
  private readonly clock: BridgeClock;
  private readonly portList: BridgePort[] = [];
  private readonly fdb = new Map<number, Map<number, FdbEntry>>();
  /**
   * The entries the last learn and the last lookup found, by (vid, mac as its 24-bit halves): a
   * stream of frames between two ports hits the same two entries again and again, and checks the
   * hit with small integers only. Cleared whenever an entry is deleted.
   */
  private hitLearn: FdbEntry | null = null;
  private hitLearnVid = -1;
  private hitLearnHi = -1;
  private hitLearnLo = -1;
  private hitLookup: FdbEntry | null = null;
  private hitLookupVid = -1;
  private hitLookupHi = -1;
  private hitLookupLo = -1;
  /** The frame being forwarded, untagged and tagged, each made at most once per input. */
  private egUntagged: Uint8Array | null = null;
  private egTagged: Uint8Array | null = null;
  /** The VID of the tag the frame being forwarded came with, or -1. */
  private inTagged = -1;

  constructor(name: string, clock: BridgeClock, ageingNs = DEFAULT_AGEING_NS) {
    this.name = name;
    this.clock = clock;
    this.ageingNs = ageingNs;
  }

  get ports(): readonly BridgePort[] {
    return this.portList;
  }

  port(name: string): BridgePort | undefined {
    return this.portList.find((p) => p.name === name);
  }

  /** brctl addif: a new port; a name already on this bridge is refused. */
  addPort(opts: BridgePortOptions): PortResult {
    if (this.port(opts.name))
      return { ok: false, error: `${opts.name} is already on ${this.name}` };
    const port = new BridgePort(opts);
    if (port.pvid === 0 && port.kind === 'vif' && port.vlanList().length === 0) {
      return { ok: false, error: `${opts.name}: a vif port needs a VLAN` };
    }
    port.bridgeName = this.name;
    this.portList.push(port);
    return { ok: true, port };
  }

  /** brctl delif: removes the port and forgets every MAC learned on it. */
  removePort(name: string): boolean {
    const i = this.portList.findIndex((p) => p.name === name);
    if (i < 0) return false;
    const port = this.portList[i] as BridgePort;
    this.portList.splice(i, 1);
    port.bridgeName = null;
    this.forgetHits();
    for (const table of this.fdb.values()) {
      for (const [mac, e] of table) if (e.port === port) table.delete(mac);
    }
    return true;
  }

  private drop(port: BridgePort, reason: string): void {
    port.counters.rxDropped++;
    this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1;
  }

  /** br_handle_frame: a frame arrives on `port` (as on its wire: tagged or not). */
  input(port: BridgePort, frame: Frame): void {
    const now = this.clock.now();
    if (!isNetFrame(frame)) return this.inputBytes(port, frame, now);
    if (port.taps.length === 0 && frame.linear === null) return this.inputNet(port, frame, now);
    // A capture needs the bytes: the fragments are copied once.
    const bytes = frameBytes(frame);
    if (bytes === null) return this.drop(port, 'fragment copy failed');
    this.inputBytes(port, bytes, now);
  }

  private inputBytes(port: BridgePort, frame: Uint8Array, now: number): void {
    if (port.taps.length !== 0) for (const tap of port.taps) tap(frame, now, 'in');
    const vid = this.ingress(port, frame, frame.length, now);
    if (vid >= 0) this.forward(port, frame, vid, now);
  }

  /**
   * A NetFrame goes on as is to a single vif port that takes fragments, without a change of tag;
   * anything else gets its bytes.
   */
  private inputNet(port: BridgePort, f: NetFrame, now: number): void {
    const hdr = f.head as PageFrame;
    const vid = this.ingress(port, hdr, f.length, now);
    if (vid < 0) return;
    const dstHi = macHiAt(hdr, 0);
    if (this.inTagged < 0 && !isGroupMacHi(dstHi)) {
      const e = this.lookup(vid, dstHi, macLoAt(hdr, 0), now);
      // br_forward: a destination learned on the ingress port is filtered, not reflected.
      if (e?.port === port) return;
      const p = e?.port;
      if (p?.deliverFrame !== undefined && p.sendsUntagged(vid) && p.taps.length === 0) {
        if (f.length - ETH_HLEN > p.mtu) {
          p.counters.txDropped++;
          return;
        }
        p.counters.txFrames++;
        p.counters.txBytes += f.length;
        p.deliverFrame(f);
        return;
      }
    }
    const bytes = frameBytes(f);
    if (bytes === null) return this.drop(port, 'fragment copy failed');
    this.forward(port, bytes, vid, now);
  }

  /**
   * br_handle_frame's checks, br_allowed_ingress and learning: the frame's VLAN (its tag, if any,
   * in inTagged), or -1 when it was dropped (counted).
   */
  private ingress(port: BridgePort, hdr: Uint8Array, length: number, now: number): number {
    if (port.bridgeName !== this.name) return (this.drop(port, 'port not on bridge'), -1);
    port.counters.rxFrames++;
    port.counters.rxBytes += length;
    if (length < ETH_HLEN) return (this.drop(port, 'runt frame'), -1);
    const srcHi = macHiAt(hdr, 6);
    const srcLo = macLoAt(hdr, 6);
    if (isGroupMacHi(srcHi) || (srcHi === 0 && srcLo === 0)) {
      return (this.drop(port, 'invalid source MAC'), -1);
    }
    // br_allowed_ingress: a tag names the VLAN; untagged frames take the PVID.
    const tagged = frameVid(hdr);
    const vid = tagged >= 0 ? tagged : port.pvid;
    if (vid === 0 || !port.isMember(vid)) return (this.drop(port, 'VLAN not allowed on port'), -1);
    this.counters.frames++;
    this.learn(vid, srcHi, srcLo, port, now);
    this.inTagged = tagged;
    return vid;
  }

  /** br_forward / br_flood: to the learned port, else to every other member of the VLAN. */
  private forward(port: BridgePort, frame: Uint8Array, vid: number, now: number): void {
    const tagged = this.inTagged;
    this.egUntagged = tagged >= 0 ? null : frame;
    this.egTagged = tagged >= 0 ? frame : null;
    const payloadBytes = frame.length - ETH_HLEN - (tagged >= 0 ? VLAN_HLEN : 0);
    const dstHi = macHiAt(frame, 0);
    if (!isGroupMacHi(dstHi)) {
      const e = this.lookup(vid, dstHi, macLoAt(frame, 0), now);
      if (e) {
        // br_forward: a destination learned on the ingress port is filtered, not reflected.
        if (e.port !== port) this.egress(e.port, frame, vid, payloadBytes, now);
        this.egUntagged = this.egTagged = null;
        return;
      }
    }
    this.counters.floods++;
    for (const p of this.portList) {
      if (p !== port && p.isMember(vid)) this.egress(p, frame, vid, payloadBytes, now);
    }
    this.egUntagged = this.egTagged = null;
  }

  /** br_dev_queue_push_xmit: MTU check, tag or untag for the egress port, taps, deliver. */
  private egress(
    p: BridgePort,
    frame: Uint8Array,
    vid: number,
    payloadBytes: number,
    now: number,
  ): void {
    if (payloadBytes > p.mtu) {
      p.counters.txDropped++;
      return;
    }
    let f: Uint8Array;
    if (p.sendsUntagged(vid)) f = this.egUntagged ??= untagFrame(frame);
    else f = this.egTagged ??= tagFrame(frame, vid);
    p.counters.txFrames++;
    p.counters.txBytes += f.length;
    if (p.taps.length !== 0) for (const tap of p.taps) tap(f, now, 'out');
    p.deliver(f);
  }

  private forgetHits(): void {
    this.hitLearn = this.hitLookup = null;
    this.hitLearnVid = this.hitLookupVid = -1;
  }

  /** br_fdb_update: the source MAC (its halves `hi`, `lo`) was seen on `port`. */
  private learn(vid: number, hi: number, lo: number, port: BridgePort, now: number): void {
    const hit = this.hitLearn;
    if (
      hit !== null &&
      this.hitLearnVid === vid &&
      this.hitLearnHi === hi &&
      this.hitLearnLo === lo
    ) {
      hit.port = port;
      hit.seenNs = now;
      return;
    }
    const mac = macOf(hi, lo);
    let table = this.fdb.get(vid);
    if (!table) {
      table = new Map();
      this.fdb.set(vid, table);
    }
    let entry = table.get(mac);
    if (entry) {
      entry.port = port;
      entry.seenNs = now;
    } else {
      entry = { port, seenNs: now };
      table.set(mac, entry);
      this.counters.learned++;
    }
    this.hitLearn = entry;
    this.hitLearnVid = vid;
    this.hitLearnHi = hi;
    this.hitLearnLo = lo;
  }

  /** br_fdb_find: the live entry of the destination MAC (its halves `hi`, `lo`). */
  private lookup(vid: number, hi: number, lo: number, now: number): FdbEntry | undefined {
    let e: FdbEntry | undefined;
    if (
      this.hitLookup !== null &&
      this.hitLookupVid === vid &&
      this.hitLookupHi === hi &&
      this.hitLookupLo === lo
    ) {
      e = this.hitLookup;
    } else {
      e = this.fdb.get(vid)?.get(macOf(hi, lo));
      if (!e) return undefined;
    }
    if (now - e.seenNs > this.ageingNs) {
      this.fdb.get(vid)?.delete(macOf(hi, lo));
      this.forgetHits();
      this.counters.aged++;
      return undefined;
    }
    this.hitLookup = e;
    this.hitLookupVid = vid;
    this.hitLookupHi = hi;
    this.hitLookupLo = lo;
    return e;
  }

  /** br_fdb_cleanup: forgets every entry older than the ageing time. */
  sweep(): number {
    const now = this.clock.now();
    let n = 0;
    for (const table of this.fdb.values()) {
      for (const [mac, e] of table) {
        if (now - e.seenNs > this.ageingNs) {
          table.delete(mac);
          this.forgetHits();
          n++;
        }
      }
    }
    this.counters.aged += n;
    return n;
  }

  /** brctl showmacs (after a sweep): entries by VID then MAC. */
  fdbRows(): FdbRow[] {
    this.sweep();
    const now = this.clock.now();
    const rows: FdbRow[] = [];
    for (const vid of [...this.fdb.keys()].sort((a, b) => a - b)) {
      const table = this.fdb.get(vid) as Map<number, FdbEntry>;
      for (const mac of [...table.keys()].sort((a, b) => a - b)) {
        const e = table.get(mac) as FdbEntry;
        rows.push({ vid, mac: formatMac(mac), port: e.port.name, ageNs: now - e.seenNs });
      }
    }
    return rows;
  }
}
