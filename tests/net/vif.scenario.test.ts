import { describe, expect, it } from 'vitest';
import { NETBACK_FEATURES } from '../../dom0/backends/netback/netback-device.js';
import { formatIpv4, parseIpv4 } from '../../domU/net/inet.js';
import { NetWorld } from './guest-rig.js';

const ip = (s: string) => parseIpv4(s) as number;

describe('vif handshake and guest traffic through xenbr0', () => {
  it('netback writes the reference 6.3 features, waits for hotplug, and connects when netfront is Connected', () => {
    const w = new NetWorld();
    const g = w.addGuest({ domid: 1, mac: '00:16:3e:00:00:01', ip: '10.0.0.1' });
    const be = '/local/domain/0/backend/vif/1/0';
    for (const [k, v] of NETBACK_FEATURES) expect(w.host.store.get(`${be}/${k}`)).toBe(v);
    expect(w.host.store.get(`${be}/feature-rx-copy`)).toBe('1');
    expect(w.host.store.get(`${be}/hotplug-status`)).toBe('connected');
    expect(w.host.store.get(`${be}/state`)).toBe('4');
    expect(g.vif.connected).toBe(true);
    expect(g.vif.vifName).toBe('vif1.0');
    expect(w.registry.get('xenbr0')?.ports.map((p) => p.name)).toEqual(['vif1.0']);
    expect(g.vif.actionLog).toEqual([
      'writeFeatures',
      'switchState:2',
      'connectRing',
      'switchState:4',
    ]);
  });

  it('netback stays in InitWait until hotplug-status=connected is written', () => {
    const w = new NetWorld();
    const be = '/local/domain/0/backend/vif/3/0';
    w.host.write('/local/domain/3/device/vif/0/state', '1');
    w.host.write(`${be}/frontend`, '/local/domain/3/device/vif/0');
    w.host.write(`${be}/online`, '1');
    w.host.write(`${be}/frontend-id`, '3');
    w.run();
    expect(w.host.store.get(`${be}/state`)).toBe('2');
    w.host.write('/local/domain/3/device/vif/0/state', '4');
    w.run();
    expect(w.netback.device(3, 0)?.state).toBe('InitWait');
    expect(w.host.store.get(`${be}/state`)).toBe('2');
  });

  it('a frontend without request-rx-copy is refused with a reason and the vif closes', () => {
    const w = new NetWorld();
    const be = '/local/domain/0/backend/vif/4/0';
    const fe = '/local/domain/4/device/vif/0';
    w.host.write(`${fe}/state`, '1');
    w.host.write(`${be}/frontend`, fe);
    w.host.write(`${be}/online`, '1');
    w.host.write(`${be}/frontend-id`, '4');
    w.run();
    w.host.write(`${be}/hotplug-status`, 'connected');
    w.host.write(`${fe}/state`, '4');
    w.run();
    const dev = w.netback.device(4, 0);
    expect(dev?.errors[0]).toContain('must support rx-copy');
    expect(w.host.store.get(`${be}/state`)).toBe('5');
    expect(w.host.store.get('/local/domain/0/error/backend/vif/4/0/error')).toContain('rx-copy');
  });

  it('ping between two guests resolves ARP and reports an RTT in virtual time', () => {
    const w = new NetWorld();
    const a = w.addGuest({ domid: 1, mac: '00:16:3e:00:00:01', ip: '10.0.0.1' });
    const b = w.addGuest({ domid: 2, mac: '00:16:3e:00:00:02', ip: '10.0.0.2' });
    const replies: { src: string; seq: number; rttNs: number }[] = [];
    a.stack.onEchoReply = (src, _id, seq, rttNs) =>
      replies.push({ src: formatIpv4(src), seq, rttNs });
    for (let seq = 1; seq <= 3; seq++) {
      expect(a.stack.ping(ip('10.0.0.2'), 77, seq, new Uint8Array(56).fill(seq))).toBe(true);
      w.run();
    }
    expect(replies.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(replies[0]?.src).toBe('10.0.0.2');
    // The first ping waited for ARP: four notification hops instead of two.
    expect(replies[0]?.rttNs).toBeGreaterThan(replies[1]?.rttNs as number);
    expect(replies[1]?.rttNs).toBeGreaterThan(0);
    expect(b.stack.counters.echoRequests).toBe(3);
    expect(a.stack.arp.entries(w.engine.now)).toHaveLength(1);
    const xenbr0 = w.registry.get('xenbr0');
    expect(xenbr0?.fdbRows().map((r) => r.port)).toEqual(['vif1.0', 'vif2.0']);
    expect(xenbr0?.port('vif1.0')?.counters.rxFrames).toBe(4); // ARP request + 3 echo requests
  });

  it('a UDP datagram is echoed back byte for byte with valid checksums', () => {
    const w = new NetWorld();
    const a = w.addGuest({ domid: 1, mac: '00:16:3e:00:00:01', ip: '10.0.0.1' });
    const b = w.addGuest({ domid: 2, mac: '00:16:3e:00:00:02', ip: '10.0.0.2' });
    b.stack.bindUdp(7, (payload, src, sport) => b.stack.sendUdp(src, 7, sport, payload));
    const got: Uint8Array[] = [];
    a.stack.bindUdp(4000, (p) => got.push(p.slice()));
    const msg = new TextEncoder().encode('hello through netback');
    a.stack.sendUdp(ip('10.0.0.2'), 4000, 7, msg);
    w.run();
    expect(got).toHaveLength(1);
    expect(new TextDecoder().decode(got[0])).toBe('hello through netback');
    expect(a.stack.counters.badChecksums + b.stack.counters.badChecksums).toBe(0);
  });

  it('guests on different bridges cannot reach each other', () => {
    const w = new NetWorld(['xenbr0', 'xenbr1']);
    const a = w.addGuest({ domid: 1, mac: '00:16:3e:00:00:01', ip: '10.0.0.1' });
    const b = w.addGuest({ domid: 2, mac: '00:16:3e:00:00:02', ip: '10.0.0.2', bridge: 'xenbr1' });
    let replies = 0;
    a.stack.onEchoReply = () => replies++;
    a.stack.ping(ip('10.0.0.2'), 1, 1, new Uint8Array(8));
    w.run(5_000_000);
    expect(replies).toBe(0);
    expect(b.stack.counters.rxFrames).toBe(0);
  });

  it('guests in different VLANs of one bridge cannot reach each other; the same VLAN can', () => {
    const w = new NetWorld();
    const a = w.addGuest({ domid: 1, mac: '00:16:3e:00:00:01', ip: '10.0.0.1', vlan: '10' });
    const b = w.addGuest({ domid: 2, mac: '00:16:3e:00:00:02', ip: '10.0.0.2', vlan: '20' });
    const c = w.addGuest({ domid: 3, mac: '00:16:3e:00:00:03', ip: '10.0.0.3', vlan: '10' });
    const replies: number[] = [];
    a.stack.onEchoReply = (src) => replies.push(src);
    a.stack.ping(ip('10.0.0.2'), 1, 1, new Uint8Array(8));
    a.stack.ping(ip('10.0.0.3'), 1, 2, new Uint8Array(8));
    w.run(5_000_000);
    expect(replies).toEqual([ip('10.0.0.3')]);
    expect(b.stack.counters.rxFrames).toBe(0);
    expect(c.stack.counters.echoRequests).toBe(1);
  });
});
