// A pool of Xen hosts in one process (architecture section 7): several SimHosts on one engine,
// so they share virtual time and one trace, with the links a pool needs between them: a migration
// link (xl migrate's stream, in tools/xl/xl_migrate.c over ssh) and the physical network joining
// their bridges (each dom0's eth0 enslaved to xenbr0).

import { createEngine, SimHost, type Engine, type SimHostOptions } from './compose.js';
import { HandoffTable } from './handoff.js';
import { addUplink } from '../net/uplink.js';
import { keepFrame } from '../net/frame-pool.js';
import { DEFAULT_BRIDGE } from '../net/bridge-registry.js';
import type { Bridge } from '../net/bridge.js';
import type { BridgePort } from '../net/bridge-port.js';
import { settle } from '../toolstack/task.js';
import type { Dom0Clock } from '../toolstack/platform.js';
import type { PostcopySource } from '../migration/receiver.js';
import { simLink, type SimLinkOptions } from '../migration/sim-link.js';

const PAGE_SIZE = 4096;
import type {
  MigrateOptions,
  MigrationChannel,
  MigrationProgress,
  MigrationStats,
} from '../migration/types.js';

const NS_PER_SEC = 1_000_000_000;

/** A host of the pool: its name plus any SimHost options but the shared ones. */
export type PoolHostOptions = Omit<SimHostOptions, 'engine' | 'handoffs' | 'seed' | 'trace'> & {
  name: string;
};

export interface SimPoolOptions {
  /** The hosts: a count (named host1, host2, ...), names, or per-host options. */
  hosts: number | readonly (string | PoolHostOptions)[];
  /** Seed of the pool's engine (default 1). */
  seed?: number;
  /** Keep a trace (default false). */
  trace?: boolean;
  /** Options every host starts from (a host's own options win). */
  defaults?: Omit<SimHostOptions, 'engine' | 'handoffs' | 'seed' | 'trace' | 'name'>;
}

/** The physical wire between two hosts' bridges (full duplex: one queue per direction). */
export interface WireOptions {
  /** Bytes per second each way (default 125 000 000: 1 Gbit/s). */
  bytesPerSecond?: number;
  /** One-way propagation and switching delay, ns (default 50 000). */
  latencyNs?: number;
}

/** Ethernet's per-frame cost on the wire beyond the frame: preamble + SFD 8, FCS 4, gap 12. */
const ETH_WIRE_OVERHEAD_BYTES = 24;
const DEFAULT_WIRE: Required<WireOptions> = { bytesPerSecond: 125_000_000, latencyNs: 50_000 };

/** Two bridges joined by uplinks: the ports on each side; `unjoin()` takes both off. */
export interface BridgeJoin {
  readonly a: BridgePort;
  readonly b: BridgePort;
  unjoin(): void;
}

export class SimPool {
  readonly engine: Engine;
  readonly handoffs = new HandoffTable();
  readonly hosts: readonly SimHost[];
  /** The pool's virtual clock (what the hosts' toolstacks see). */
  readonly clock: Dom0Clock;

  constructor(o: SimPoolOptions) {
    this.engine = createEngine({ seed: o.seed ?? 1, trace: o.trace ?? false });
    const engine = this.engine;
    this.clock = {
      now: () => engine.now,
      at: (t, fn) => engine.at(Math.max(t, engine.now), fn),
      cancel: (id) => void engine.cancel(id),
      epochS: 0,
    };
    const specs: PoolHostOptions[] =
      typeof o.hosts === 'number'
        ? Array.from({ length: o.hosts }, (_, i) => ({ name: `host${i + 1}` }))
        : o.hosts.map((h) => (typeof h === 'string' ? { name: h } : h));
    const names = new Set<string>();
    for (const s of specs) {
      if (names.has(s.name)) throw new Error(`pool: two hosts named ${s.name}`);
      names.add(s.name);
    }
    const hosts: SimHost[] = [];
    try {
      for (const s of specs)
        hosts.push(new SimHost({ ...o.defaults, ...s, engine, handoffs: this.handoffs }));
    } catch (e) {
      for (const h of hosts) h.dispose();
      throw e;
    }
    this.hosts = hosts;
  }

  /** The host named `name`. */
  host(name: string): SimHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`pool: no host named ${name}`);
    return h;
  }

  /** Batch mode: runs the shared engine until `p` (a toolstack operation on any host) settles. */
  run<T>(p: Promise<T>, limitNs?: number): Promise<T> {
    return settle(this.engine, p, limitNs);
  }

  /** Runs the pool for `ns` of virtual time. */
  runFor(ns: number): void {
    this.engine.runFor(ns);
  }

  /** Runs until `cond()` holds or `limitNs` of virtual time passes; true if it holds. */
  runUntil(cond: () => boolean, limitNs = 600 * NS_PER_SEC): boolean {
    return this.engine.runUntilCondition(cond, this.engine.now + limitNs);
  }

  /**
   * A migration connection from host `a` to host `b`: `[a's end, b's end]` of a link with the
   * given bandwidth and latency in the pool's virtual time.
   */
  connect(
    a: string | SimHost,
    b: string | SimHost,
    o: SimLinkOptions,
  ): [MigrationChannel, MigrationChannel] {
    const ha = this.resolve(a);
    const hb = this.resolve(b);
    if (ha === hb) throw new Error(`pool: cannot connect ${ha.name} to itself`);
    return simLink(this.clock, o);
  }

  /**
   * Joins bridge `bridge` of hosts `a` and `b` through an uplink port on each (eth0, or the next
   * free eth<n>) and a wire of `wire`'s bandwidth and latency, so guests on the two hosts share one
   * Ethernet segment.
   */
  joinBridges(
    a: string | SimHost,
    b: string | SimHost,
    bridge = DEFAULT_BRIDGE,
    wire: WireOptions = {},
  ): BridgeJoin {
    const ha = this.resolve(a);
    const hb = this.resolve(b);
    if (ha === hb) throw new Error(`pool: cannot join ${ha.name}'s ${bridge} to itself`);
    const ba = ha.bridges.get(bridge);
    const bb = hb.bridges.get(bridge);
    if (!ba) throw new Error(`pool: host ${ha.name} has no bridge ${bridge}`);
    if (!bb) throw new Error(`pool: host ${hb.name} has no bridge ${bridge}`);
    const w = { ...DEFAULT_WIRE, ...wire };
    if (!(w.bytesPerSecond > 0) || !(w.latencyNs >= 0) || !Number.isInteger(w.latencyNs))
      throw new RangeError('pool: a wire needs bandwidth > 0 and a whole number of ns latency');
    // The far ports exist only after both are added: each direction looks its far end up late.
    const far: { a?: BridgePort; b?: BridgePort } = {};
    const ra = addUplink(
      ba,
      this.wire(w, (f) => far.b && bb.input(far.b, f)),
      { name: freeUplinkName(ba) },
    );
    if (!ra.ok) throw new Error(`pool: ${ha.name}: ${ra.error}`);
    const rb = addUplink(
      bb,
      this.wire(w, (f) => far.a && ba.input(far.a, f)),
      { name: freeUplinkName(bb) },
    );
    if (!rb.ok) {
      ba.removePort(ra.port.name);
      throw new Error(`pool: ${hb.name}: ${rb.error}`);
    }
    far.a = ra.port;
    far.b = rb.port;
    return {
      a: ra.port,
      b: rb.port,
      unjoin: () => {
        ba.removePort(ra.port.name);
        bb.removePort(rb.port.name);
      },
    };
  }

  /**
   * Live-migrates domain `domid` of host `from` to host `to` over a fresh link (default 1 Gbit/s,
   * 100 us), running the pool until both halves finish: the sender's statistics and the domain's
   * new domid. Rejects with the sender's error (the guest then runs on at the source) or, if the
   * sender succeeded, the receiver's.
   */
  async migrate(
    domid: number,
    from: string | SimHost,
    to: string | SimHost,
    o: MigrateOptions & {
      link?: SimLinkOptions;
      onProgress?: (p: MigrationProgress) => void;
      onTargetProgress?: (p: MigrationProgress) => void;
    } = {},
  ): Promise<{ stats: MigrationStats; domid: number }> {
    const src = this.resolve(from);
    const dst = this.resolve(to);
    const link = o.link ?? { bytesPerSecond: 125_000_000, latencyNs: 100_000 };
    const [a, b] = this.connect(src, dst, link);
    const received = dst.toolstack.migrateReceive(
      b,
      o,
      o.onTargetProgress ?? (() => undefined),
      o.postcopy === true ? { postcopySource: postcopySource(src, domid, link) } : {},
    );
    received.catch(() => undefined);
    const sent = src.toolstack.migrateSend(domid, a, o, o.onProgress ?? (() => undefined));
    let stats: MigrationStats;
    try {
      stats = await this.run(sent);
    } finally {
      // Let the target finish its half (or its clean-up) in virtual time too.
      await this.run(received).catch(() => undefined);
    }
    const r = await received;
    return { stats, domid: r.domid };
  }

  /** Removes the temporary dom0 roots of every host. */
  dispose(): void {
    for (const h of this.hosts) h.dispose();
  }

  private resolve(h: string | SimHost): SimHost {
    if (typeof h !== 'string') {
      if (!this.hosts.includes(h)) throw new Error(`pool: host ${h.name} is not in this pool`);
      return h;
    }
    return this.host(h);
  }

  /**
   * One direction of a wire: a frame occupies it for its bytes (plus Ethernet's overhead) after the
   * frames before it, then arrives `latencyNs` later. A frame crosses after the delivery call that
   * handed it over, so pool frames are copied first.
   */
  private wire(
    w: Required<WireOptions>,
    arrive: (frame: Uint8Array) => void,
  ): (f: Uint8Array) => void {
    const nsPerByte = NS_PER_SEC / w.bytesPerSecond;
    let busyUntilNs = 0;
    return (f) => {
      const frame = keepFrame(f);
      const now = this.engine.now;
      busyUntilNs =
        Math.max(now, busyUntilNs) + (frame.length + ETH_WIRE_OVERHEAD_BYTES) * nsPerByte;
      this.engine.at(Math.ceil(busyUntilNs) + w.latencyNs, () => void arrive(frame));
    };
  }
}

/** eth0, or the first eth<n> not already a port of `bridge`. */
function freeUplinkName(bridge: Bridge): string {
  for (let n = 0; ; n++) if (!bridge.port(`eth${n}`)) return `eth${n}`;
}

/**
 * Post-copy's pager source in one process: pages of the suspended source domain read through the
 * source dom0's privcmd, costed as the link would carry them (a fault waits a round trip and a page).
 */
function postcopySource(src: SimHost, domid: number, link: SimLinkOptions): PostcopySource {
  const pageNs = Math.ceil(((PAGE_SIZE + 8) * NS_PER_SEC) / link.bytesPerSecond);
  return {
    faultNs: 2 * link.latencyNs + pageNs,
    pageNs,
    read(pfn, dst) {
      const m = src.platform.foreign.mapForeignPfns(domid, [pfn], false);
      if (!m.ok) return false;
      try {
        return m.value.read(0, dst) === 0;
      } finally {
        src.platform.foreign.unmapForeign(m.value);
      }
    },
  };
}
