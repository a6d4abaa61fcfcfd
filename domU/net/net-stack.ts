// A minimal IPv4 stack for the guest kernel model (Linux net/ethernet/eth.c, net/ipv4/arp.c,
// ip_input.c, ip_output.c, icmp.c, udp.c, reduced to what ping, an echo server and a bulk transfer
// need): Ethernet II, ARP with a cache, IPv4 without options or fragments, ICMP echo, UDP with
// checksums. It is pure: frames come in through input() and leave through the link's transmit();
// time comes from the injected clock. sendUdpFrags sends a datagram whose data lies in guest pages
// without copying it (the MSG_ZEROCOPY / sendfile path: only the headers are built, the pages go
// to the device as fragments), with the UDP checksum left out (0: none, RFC 768).

import { ArpCache } from './arp-cache.js';
import type { FragsDone, PageFrag } from './page-frag.js';
import {
  BROADCAST_MAC,
  checksum,
  DEFAULT_TTL,
  ETH_HLEN,
  ETH_P_ARP,
  ETH_P_IP,
  fold,
  ICMP_ECHO,
  ICMP_ECHO_REPLY,
  IPPROTO_ICMP,
  IPPROTO_UDP,
  IPV4_HLEN,
  macAt,
  pseudoSum,
  put16,
  put32,
  putMac,
  sum16,
  u16,
  u32,
  UDP_HLEN,
} from './inet.js';

const ARP_LEN = 28;
const ARPOP_REQUEST = 1;
const ARPOP_REPLY = 2;

/** The network device under the stack (netfront's vif). */
export interface NetLink {
  readonly mac: number;
  /** Largest IP packet (the device MTU). */
  readonly mtu: number;
  /** Queues a frame; false when the device cannot take it now (ring full, not connected). */
  transmit(frame: Uint8Array): boolean;
  /**
   * Queues a frame of `head` then the bytes of `frags` without copying them (netfront's
   * sendFrags); `done` once the pages may be written again. Absent: the device cannot.
   */
  transmitFrags?(head: Uint8Array, frags: readonly PageFrag[], done: FragsDone): boolean;
}

export interface StackClock {
  now(): number;
}

export interface StackConfig {
  readonly ip: number;
  readonly prefixLen: number;
  readonly gateway?: number | undefined;
}

export type UdpHandler = (payload: Uint8Array, srcIp: number, srcPort: number) => void;
export type EchoReplyHandler = (srcIp: number, id: number, seq: number, rttNs: number) => void;

export interface StackCounters {
  rxFrames: number;
  txFrames: number;
  /** Frames the link refused. */
  txBusy: number;
  rxDropped: number;
  badChecksums: number;
  noRoute: number;
  udpNoPort: number;
  echoRequests: number;
  echoReplies: number;
}

export class NetStack {
  readonly link: NetLink;
  readonly config: StackConfig;
  readonly arp = new ArpCache();
  readonly counters: StackCounters = {
    rxFrames: 0,
    txFrames: 0,
    txBusy: 0,
    rxDropped: 0,
    badChecksums: 0,
    noRoute: 0,
    udpNoPort: 0,
    echoRequests: 0,
    echoReplies: 0,
  };
  onEchoReply: EchoReplyHandler | null = null;
  private readonly clock: StackClock;
  private readonly mask: number;
  private readonly udp = new Map<number, UdpHandler>();
  private readonly pingsSent = new Map<number, number>();
  private ipId = 0;
  /** When an ARP request was last sent for a zero-copy datagram's next hop. */
  private readonly solicited = new Map<number, number>();

  constructor(link: NetLink, config: StackConfig, clock: StackClock) {
    this.link = link;
    this.config = config;
    this.clock = clock;
    this.mask = config.prefixLen === 0 ? 0 : (0xffffffff << (32 - config.prefixLen)) >>> 0;
  }

  get ip(): number {
    return this.config.ip;
  }

  /** Virtual time (the stack's clock). */
  now(): number {
    return this.clock.now();
  }

  bindUdp(port: number, handler: UdpHandler): boolean {
    if (this.udp.has(port)) return false;
    this.udp.set(port, handler);
    return true;
  }

  unbindUdp(port: number): void {
    this.udp.delete(port);
  }

  /** The device can send from guest pages without copying (sendUdpFrags). */
  get zeroCopy(): boolean {
    return this.link.transmitFrags !== undefined;
  }

  /** Largest UDP payload one datagram carries without fragmenting. */
  get maxUdpPayload(): number {
    return this.link.mtu - IPV4_HLEN - UDP_HLEN;
  }

  // ----------------------------------------------------------------------------- input

  /** A frame from the device (eth_type_trans, then the protocol handler). */
  input(frame: Uint8Array): void {
    this.counters.rxFrames++;
    if (frame.length < ETH_HLEN) return this.drop();
    const dst = macAt(frame, 0);
    if (dst !== this.link.mac && dst !== BROADCAST_MAC) return this.drop();
    const type = u16(frame, 12);
    if (type === ETH_P_ARP) return this.arpInput(frame);
    if (type === ETH_P_IP) return this.ipInput(frame);
    this.drop();
  }

  private drop(): void {
    this.counters.rxDropped++;
  }

  private arpInput(f: Uint8Array): void {
    const o = ETH_HLEN;
    if (f.length < o + ARP_LEN) return this.drop();
    if (u16(f, o) !== 1 || u16(f, o + 2) !== ETH_P_IP || f[o + 4] !== 6 || f[o + 5] !== 4) {
      return this.drop();
    }
    const op = u16(f, o + 6);
    const sha = macAt(f, o + 8);
    const spa = u32(f, o + 14);
    const tpa = u32(f, o + 24);
    const now = this.clock.now();
    // arp_process: learn the sender when the packet is for us (or refresh a known entry).
    if (tpa === this.config.ip || this.arp.lookup(spa, now) !== undefined) {
      for (const waiting of this.arp.update(spa, sha, now)) {
        putMac(waiting, 0, sha);
        this.emit(waiting);
      }
    }
    if (op === ARPOP_REQUEST && tpa === this.config.ip) this.sendArp(ARPOP_REPLY, sha, spa);
  }

  private ipInput(f: Uint8Array): void {
    const o = ETH_HLEN;
    if (f.length < o + IPV4_HLEN) return this.drop();
    const vihl = f[o] as number;
    const ihl = (vihl & 0x0f) * 4;
    const total = u16(f, o + 2);
    if (vihl >> 4 !== 4 || ihl < IPV4_HLEN || total < ihl || o + total > f.length) {
      return this.drop();
    }
    if (checksum(f, o, ihl) !== 0) {
      this.counters.badChecksums++;
      return this.drop();
    }
    // DEVIATION(linux): no reassembly; fragments are dropped.
    if ((u16(f, o + 6) & 0x3fff) !== 0) return this.drop();
    const dst = u32(f, o + 16);
    if (dst !== this.config.ip && dst !== 0xffffffff) return this.drop();
    const src = u32(f, o + 12);
    const proto = f[o + 9] as number;
    const l4 = o + ihl;
    const l4len = total - ihl;
    if (proto === IPPROTO_ICMP) return this.icmpInput(f, src, l4, l4len);
    if (proto === IPPROTO_UDP) return this.udpInput(f, src, dst, l4, l4len);
    this.drop();
  }

  private icmpInput(f: Uint8Array, src: number, off: number, len: number): void {
    if (len < 8 || checksum(f, off, len) !== 0) {
      this.counters.badChecksums++;
      return this.drop();
    }
    const type = f[off] as number;
    const id = u16(f, off + 4);
    const seq = u16(f, off + 6);
    if (type === ICMP_ECHO) {
      this.counters.echoRequests++;
      const body = f.subarray(off + 8, off + len);
      this.sendIcmpEcho(src, ICMP_ECHO_REPLY, id, seq, body);
      return;
    }
    if (type === ICMP_ECHO_REPLY) {
      const key = id * 0x10000 + seq;
      const sent = this.pingsSent.get(key);
      if (sent === undefined) return this.drop();
      this.pingsSent.delete(key);
      this.counters.echoReplies++;
      this.onEchoReply?.(src, id, seq, this.clock.now() - sent);
      return;
    }
    this.drop();
  }

  private udpInput(f: Uint8Array, src: number, dst: number, off: number, len: number): void {
    if (len < UDP_HLEN) return this.drop();
    const ulen = u16(f, off + 4);
    if (ulen < UDP_HLEN || ulen > len) return this.drop();
    if (
      u16(f, off + 6) !== 0 &&
      fold(sum16(f, off, ulen, pseudoSum(src, dst, IPPROTO_UDP, ulen))) !== 0
    ) {
      this.counters.badChecksums++;
      return this.drop();
    }
    const handler = this.udp.get(u16(f, off + 2));
    if (!handler) {
      this.counters.udpNoPort++;
      return;
    }
    handler(f.subarray(off + UDP_HLEN, off + ulen), src, u16(f, off));
  }

  // ----------------------------------------------------------------------------- output

  /** Sends an ICMP echo request; false when it could not be queued. */
  ping(dst: number, id: number, seq: number, payload: Uint8Array): boolean {
    this.pingsSent.set(id * 0x10000 + seq, this.clock.now());
    return this.sendIcmpEcho(dst, ICMP_ECHO, id, seq, payload);
  }

  private sendIcmpEcho(
    dst: number,
    type: number,
    id: number,
    seq: number,
    body: Uint8Array,
  ): boolean {
    const len = 8 + body.length;
    const f = this.ipFrame(dst, IPPROTO_ICMP, len);
    if (!f) return false;
    const o = ETH_HLEN + IPV4_HLEN;
    f[o] = type;
    f[o + 1] = 0;
    put16(f, o + 4, id);
    put16(f, o + 6, seq);
    f.set(body, o + 8);
    put16(f, o + 2, checksum(f, o, len));
    return this.route(f, dst);
  }

  /** Sends one UDP datagram (no fragmentation: payload up to maxUdpPayload). */
  sendUdp(dst: number, srcPort: number, dstPort: number, payload: Uint8Array): boolean {
    const ulen = UDP_HLEN + payload.length;
    if (ulen + IPV4_HLEN > this.link.mtu) return false;
    const f = this.ipFrame(dst, IPPROTO_UDP, ulen);
    if (!f) return false;
    const o = ETH_HLEN + IPV4_HLEN;
    put16(f, o, srcPort);
    put16(f, o + 2, dstPort);
    put16(f, o + 4, ulen);
    f.set(payload, o + UDP_HLEN);
    const c = fold(sum16(f, o, ulen, pseudoSum(this.config.ip, dst, IPPROTO_UDP, ulen)));
    put16(f, o + 6, c === 0 ? 0xffff : c);
    return this.route(f, dst);
  }

  /**
   * Sends one UDP datagram of `appHead` then the bytes of `frags` (guest pages) without copying
   * the pages; `done` once they may be written again. False (done not called) when the device
   * cannot take it now, has no zero-copy path, the datagram is over the MTU, or the next hop is
   * not resolved yet (an ARP request goes out; try again later).
   */
  sendUdpFrags(
    dst: number,
    srcPort: number,
    dstPort: number,
    appHead: Uint8Array,
    frags: readonly PageFrag[],
    done: FragsDone,
  ): boolean {
    if (this.link.transmitFrags === undefined) return false;
    let ulen = UDP_HLEN + appHead.length;
    for (const f of frags) ulen += f.length;
    if (ulen + IPV4_HLEN > this.link.mtu || ulen > 0xffff) return false;
    const hop = this.nextHop(dst);
    if (hop === null) return false;
    const now = this.clock.now();
    const mac = dst === 0xffffffff ? BROADCAST_MAC : this.arp.lookup(hop, now);
    if (mac === undefined) {
      const last = this.solicited.get(hop);
      if (last === undefined || now - last >= 1_000_000_000) {
        this.solicited.set(hop, now);
        this.sendArp(ARPOP_REQUEST, BROADCAST_MAC, hop);
      }
      return false;
    }
    const o = ETH_HLEN + IPV4_HLEN;
    const h = new Uint8Array(o + UDP_HLEN + appHead.length);
    this.fillIpHeader(h, dst, IPPROTO_UDP, IPV4_HLEN + ulen);
    putMac(h, 0, mac);
    put16(h, o, srcPort);
    put16(h, o + 2, dstPort);
    put16(h, o + 4, ulen);
    h.set(appHead, o + UDP_HLEN);
    if (!this.link.transmitFrags(h, frags, done)) {
      this.counters.txBusy++;
      return false;
    }
    this.counters.txFrames++;
    return true;
  }

  /** The next hop towards `dst` (itself on the local subnet, else the gateway), or null. */
  private nextHop(dst: number): number | null {
    if (dst === 0xffffffff) return dst;
    if ((dst & this.mask) >>> 0 === (this.config.ip & this.mask) >>> 0) return dst;
    if (this.config.gateway === undefined) {
      this.counters.noRoute++;
      return null;
    }
    return this.config.gateway;
  }

  /** An Ethernet + IPv4 frame with the IP header filled (destination MAC still zero). */
  private ipFrame(dst: number, proto: number, l4len: number): Uint8Array | null {
    const total = IPV4_HLEN + l4len;
    if (total > this.link.mtu) return null;
    const f = new Uint8Array(ETH_HLEN + total);
    this.fillIpHeader(f, dst, proto, total);
    return f;
  }

  /** Our MAC, the EtherType and the IPv4 header of a packet of `total` bytes. */
  private fillIpHeader(f: Uint8Array, dst: number, proto: number, total: number): void {
    putMac(f, 6, this.link.mac);
    put16(f, 12, ETH_P_IP);
    const o = ETH_HLEN;
    f[o] = 0x45;
    put16(f, o + 2, total);
    this.ipId = (this.ipId + 1) & 0xffff;
    put16(f, o + 4, this.ipId);
    put16(f, o + 6, 0x4000); // DF
    f[o + 8] = DEFAULT_TTL;
    f[o + 9] = proto;
    put32(f, o + 12, this.config.ip);
    put32(f, o + 16, dst);
    put16(f, o + 10, checksum(f, o, IPV4_HLEN));
  }

  /** ip_route_output + neigh_output: pick the next hop, resolve it, send or queue. */
  private route(f: Uint8Array, dst: number): boolean {
    if (dst === 0xffffffff) {
      putMac(f, 0, BROADCAST_MAC);
      return this.emit(f);
    }
    let hop = dst;
    if ((dst & this.mask) >>> 0 !== (this.config.ip & this.mask) >>> 0) {
      if (this.config.gateway === undefined) {
        this.counters.noRoute++;
        return false;
      }
      hop = this.config.gateway;
    }
    const now = this.clock.now();
    const mac = this.arp.lookup(hop, now);
    if (mac !== undefined) {
      putMac(f, 0, mac);
      return this.emit(f);
    }
    if (this.arp.enqueue(hop, f, now)) this.sendArp(ARPOP_REQUEST, BROADCAST_MAC, hop);
    return true;
  }

  /** Probes addresses whose resolution is due again (call now and then, e.g. from a wait loop). */
  tick(): void {
    for (const ip of this.arp.expire(this.clock.now())) {
      this.sendArp(ARPOP_REQUEST, BROADCAST_MAC, ip);
    }
  }

  /**
   * inetdev_send_gratuitous_arp (net/ipv4/devinet.c, on NETDEV_NOTIFY_PEERS): an ARP request for
   * each configured address with sender = target = that address, broadcast, so bridges learn the
   * MAC's port and peers refresh their caches. Returns the frames sent (none without an address).
   */
  announce(): number {
    if (this.config.ip === 0) return 0;
    return this.sendArp(ARPOP_REQUEST, BROADCAST_MAC, this.config.ip) ? 1 : 0;
  }

  private sendArp(op: number, dstMac: number, tpa: number): boolean {
    const f = new Uint8Array(ETH_HLEN + ARP_LEN + 18); // padded to the 60-byte minimum
    putMac(f, 0, dstMac);
    putMac(f, 6, this.link.mac);
    put16(f, 12, ETH_P_ARP);
    const o = ETH_HLEN;
    put16(f, o, 1);
    put16(f, o + 2, ETH_P_IP);
    f[o + 4] = 6;
    f[o + 5] = 4;
    put16(f, o + 6, op);
    putMac(f, o + 8, this.link.mac);
    put32(f, o + 14, this.config.ip);
    putMac(f, o + 18, op === ARPOP_REPLY ? dstMac : 0);
    put32(f, o + 24, tpa);
    return this.emit(f);
  }

  private emit(f: Uint8Array): boolean {
    if (!this.link.transmit(f)) {
      this.counters.txBusy++;
      return false;
    }
    this.counters.txFrames++;
    return true;
  }
}
