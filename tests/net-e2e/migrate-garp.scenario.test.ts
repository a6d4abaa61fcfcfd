// A guest with a vif live-migrated between two hosts whose xenbr0 are joined by an uplink: once
// netfront reconnects in the new domain it announces its address with a gratuitous ARP
// (xen-netfront.c netback_changed: netdev_notify_peers; net/ipv4/devinet.c
// inetdev_send_gratuitous_arp), so both bridges move the MAC to its new port and peers refresh.

import { afterEach, describe, expect, it } from 'vitest';
import { SimPool } from '../../dom0/host/pool.js';
import type { SimHost } from '../../dom0/host/compose.js';
import { createGuest, guestCfg, SEC } from './world.js';

const MiB = 1 << 20;

let pool: SimPool | undefined;
afterEach(() => {
  pool?.dispose();
  pool = undefined;
});

/** An ARP packet as the fields a peer reads. */
interface ArpSeen {
  ethDst: string;
  ethSrc: string;
  op: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

const ip4 = (f: Uint8Array, o: number) => Array.from(f.subarray(o, o + 4)).join('.');
const mac6 = (f: Uint8Array, o: number) =>
  Array.from(f.subarray(o, o + 6), (b) => b.toString(16).padStart(2, '0')).join(':');

function arpOf(f: Uint8Array): ArpSeen | null {
  if (f.length < 42 || f[12] !== 0x08 || f[13] !== 0x06) return null;
  return {
    ethDst: mac6(f, 0),
    ethSrc: mac6(f, 6),
    op: ((f[20] as number) << 8) | (f[21] as number),
    sha: mac6(f, 22),
    spa: ip4(f, 28),
    tha: mac6(f, 32),
    tpa: ip4(f, 38),
  };
}

const gratuitous = (a: ArpSeen) => a.op === 1 && a.spa === a.tpa;

function portsOf(h: SimHost, mac: string): string[] {
  const br = h.bridges.get('xenbr0');
  return (br?.fdbRows() ?? []).filter((r) => r.mac === mac).map((r) => r.port);
}

describe('a guest with a vif across live migration', () => {
  it('sends one gratuitous ARP for its address after reconnecting on the target; the bridges learn its new port', async () => {
    const p = (pool = new SimPool({
      hosts: ['a', 'b'],
      defaults: { nrPcpus: 2, memoryBytes: 1024 * MiB, dom0MemBytes: 256 * MiB },
    }));
    const a = p.host('a');
    const b = p.host('b');
    p.joinBridges(a, b);
    const peer = await p.run(createGuest(a, guestCfg('peer', ['ip=10.0.0.1'])), 120 * SEC);
    const peerPort = a.bridges.get('xenbr0')?.port(`vif${peer}.0`);
    if (!peerPort) throw new Error('no bridge port for the peer');
    // What host a's bridge floods to the peer's port: every broadcast on the segment.
    const seen: ArpSeen[] = [];
    peerPort.taps.push((f, _t, dir) => {
      const x = dir === 'out' ? arpOf(f) : null;
      if (x) seen.push(x);
    });
    const d = await p.run(createGuest(a, guestCfg('server', ['ip=10.0.0.2'])), 120 * SEC);
    p.runFor(1 * SEC);
    const [nic] = await p.run(a.toolstack.networkList(d));
    const mac = nic?.mac ?? '';
    // At first connect Linux's interface has no address yet: nothing is announced at boot.
    expect(seen.filter(gratuitous)).toEqual([]);

    const { domid: r } = await p.migrate(d, a, b);
    p.runFor(2 * SEC);
    expect(b.consoleOutput(r)).toMatch(/resumed in a new domain/);
    expect(seen.filter(gratuitous)).toEqual([
      {
        ethDst: 'ff:ff:ff:ff:ff:ff',
        ethSrc: mac,
        op: 1,
        sha: mac,
        spa: '10.0.0.2',
        tha: '00:00:00:00:00:00',
        tpa: '10.0.0.2',
      },
    ]);
    // Host b learned the MAC on the new vif, host a on its uplink (where the announcement came in).
    expect(portsOf(b, mac)).toEqual([`vif${r}.0`]);
    expect(portsOf(a, mac)).toEqual(['eth0']);
  });
});
