// The guest's neighbour table for IPv4 (Linux net/ipv4/arp.c over net/core/neighbour.c): resolved
// entries expire after gc_stale_time in virtual time; an unresolved address queues packets up to
// unres_qlen_bytes, is probed every retrans_time, and fails after mcast_solicit probes.

export const ARP_STALE_NS = 60_000_000_000;
export const ARP_RETRANS_NS = 1_000_000_000;
export const ARP_MAX_PROBES = 3;
export const ARP_UNRES_QLEN_BYTES = 212_992;

interface Pending {
  frames: Uint8Array[];
  bytes: number;
  lastProbeNs: number;
  probes: number;
}

export class ArpCache {
  private readonly resolved = new Map<number, { mac: number; expiresNs: number }>();
  private readonly pending = new Map<number, Pending>();
  /** Packets dropped: queue over its byte limit, or resolution failed. */
  dropped = 0;

  lookup(ip: number, nowNs: number): number | undefined {
    const e = this.resolved.get(ip);
    if (!e) return undefined;
    if (nowNs >= e.expiresNs) {
      this.resolved.delete(ip);
      return undefined;
    }
    return e.mac;
  }

  /** Learns (or refreshes) ip -> mac; returns the frames that were waiting for it. */
  update(ip: number, mac: number, nowNs: number): Uint8Array[] {
    this.resolved.set(ip, { mac, expiresNs: nowNs + ARP_STALE_NS });
    const p = this.pending.get(ip);
    if (!p) return [];
    this.pending.delete(ip);
    return p.frames;
  }

  /**
   * Queues a frame for an unresolved ip; true when a probe (ARP request) should go out now
   * (the first packet, or retrans_time since the last probe).
   */
  enqueue(ip: number, frame: Uint8Array, nowNs: number): boolean {
    let p = this.pending.get(ip);
    if (!p) {
      p = { frames: [], bytes: 0, lastProbeNs: nowNs, probes: 1 };
      this.pending.set(ip, p);
      this.push(p, frame);
      return true;
    }
    this.push(p, frame);
    return this.due(p, nowNs);
  }

  private push(p: Pending, frame: Uint8Array): void {
    // neigh's unres queue drops the oldest packets past its byte limit.
    p.frames.push(frame);
    p.bytes += frame.length;
    while (p.bytes > ARP_UNRES_QLEN_BYTES && p.frames.length > 1) {
      p.bytes -= (p.frames.shift() as Uint8Array).length;
      this.dropped++;
    }
  }

  private due(p: Pending, nowNs: number): boolean {
    if (nowNs - p.lastProbeNs < ARP_RETRANS_NS) return false;
    p.lastProbeNs = nowNs;
    p.probes++;
    return true;
  }

  /** Addresses to probe again now; addresses out of probes are dropped with their packets. */
  expire(nowNs: number): number[] {
    const again: number[] = [];
    for (const [ip, p] of this.pending) {
      if (nowNs - p.lastProbeNs < ARP_RETRANS_NS) continue;
      if (p.probes >= ARP_MAX_PROBES) {
        this.dropped += p.frames.length;
        this.pending.delete(ip);
        continue;
      }
      p.lastProbeNs = nowNs;
      p.probes++;
      again.push(ip);
    }
    return again;
  }

  isPending(ip: number): boolean {
    return this.pending.has(ip);
  }

  /** `ip neigh`-like rows: resolved entries by address. */
  entries(nowNs: number): { ip: number; mac: number }[] {
    const out: { ip: number; mac: number }[] = [];
    for (const [ip, e] of this.resolved) if (nowNs < e.expiresNs) out.push({ ip, mac: e.mac });
    return out.sort((a, b) => a.ip - b.ip);
  }
}
