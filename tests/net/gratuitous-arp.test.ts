// NetStack.announce: inetdev_send_gratuitous_arp (net/ipv4/devinet.c), what netfront sends when it
// reconnects after a resume (xen-netfront.c netback_changed: netdev_notify_peers).

import { describe, expect, it } from 'vitest';
import { NetStack } from '../../domU/net/net-stack.js';

const MAC = 0x00163e0a0b0c;

function stack(ip: number): { s: NetStack; out: Uint8Array[] } {
  const out: Uint8Array[] = [];
  const s = new NetStack(
    { mac: MAC, mtu: 1500, transmit: (f) => (out.push(f.slice()), true) },
    { ip, prefixLen: 24 },
    { now: () => 0 },
  );
  return { s, out };
}

describe('gratuitous ARP', () => {
  it('is a broadcast ARP request with sender = target = the own address and a zero target MAC', () => {
    const { s, out } = stack(0x0a000002);
    expect(s.announce()).toBe(1);
    expect(out).toHaveLength(1);
    const f = out[0] as Uint8Array;
    expect(f.length).toBe(60); // padded to the Ethernet minimum
    expect(Array.from(f.subarray(0, 42))).toEqual([
      ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // broadcast
      ...[0x00, 0x16, 0x3e, 0x0a, 0x0b, 0x0c], // own MAC
      ...[0x08, 0x06], // ETH_P_ARP
      ...[0x00, 0x01, 0x08, 0x00, 6, 4], // Ethernet, IPv4
      ...[0x00, 0x01], // ARPOP_REQUEST
      ...[0x00, 0x16, 0x3e, 0x0a, 0x0b, 0x0c, 10, 0, 0, 2], // sha, spa
      ...[0, 0, 0, 0, 0, 0, 10, 0, 0, 2], // tha = 0, tpa = spa
    ]);
    expect(s.counters.txFrames).toBe(1);
  });

  it('sends nothing without an address, and counts a refused frame as busy', () => {
    const { s, out } = stack(0);
    expect(s.announce()).toBe(0);
    expect(out).toEqual([]);
    const busy = new NetStack(
      { mac: MAC, mtu: 1500, transmit: () => false },
      { ip: 0x0a000002, prefixLen: 24 },
      { now: () => 0 },
    );
    expect(busy.announce()).toBe(0);
    expect(busy.counters.txBusy).toBe(1);
  });

  it('a peer that knows the address refreshes its cache entry with the announced MAC', () => {
    const a = stack(0x0a000002);
    const peer = stack(0x0a000001);
    // The peer resolved 10.0.0.2 to an old MAC before the move.
    peer.s.arp.update(0x0a000002, 0x00163e000099, 0);
    a.s.announce();
    peer.s.input(a.out[0] as Uint8Array);
    expect(peer.s.arp.lookup(0x0a000002, 0)).toBe(MAC);
    // Not a request for the peer's own address: no reply goes out.
    expect(peer.out).toEqual([]);
  });
});
