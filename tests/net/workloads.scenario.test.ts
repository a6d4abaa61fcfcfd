import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../domU/net/inet.js';
import {
  BulkReceiver,
  bulkSend,
  patternBytes,
  ping,
  startEchoServer,
} from '../../domU/net/workloads.js';
import { NetWorld } from './guest-rig.js';
import { runThread } from './run-thread.js';

const ip = (s: string) => parseIpv4(s) as number;

function twoGuests(extra: { rate?: string; mtu?: number } = {}, extraB: { mtu?: number } = {}) {
  const w = new NetWorld();
  const a = w.addGuest({ domid: 1, mac: '00:16:3e:00:00:01', ip: '10.0.0.1', ...extra });
  const b = w.addGuest({ domid: 2, mac: '00:16:3e:00:00:02', ip: '10.0.0.2', ...extraB });
  return { w, a, b };
}

describe('guest network workloads', () => {
  it('ping -c 4 gets four replies with RTTs in virtual time, one second apart', () => {
    const { w, a } = twoGuests();
    const t0 = w.engine.now;
    const r = runThread(w.engine, ping(a.stack, ip('10.0.0.2'), { count: 4 }));
    expect(r.sent).toBe(4);
    expect(r.received).toBe(4);
    expect(r.rttsNs.every((x) => x > 0 && x < 1_000_000)).toBe(true);
    expect(w.engine.now - t0).toBeGreaterThanOrEqual(3_000_000_000);
  });

  it('ping to an address nobody has times out after ARP gives up', () => {
    const { w, a } = twoGuests();
    const r = runThread(w.engine, ping(a.stack, ip('10.0.0.99'), { count: 1, timeoutNs: 4e9 }));
    expect(r).toEqual({ sent: 1, received: 0, rttsNs: [-1] });
    expect(a.stack.arp.dropped).toBe(1);
  });

  it('the echo server answers every datagram', () => {
    const { w, a, b } = twoGuests();
    const echo = startEchoServer(b.stack, 7);
    const back: string[] = [];
    a.stack.bindUdp(5000, (p) => back.push(new TextDecoder().decode(p)));
    for (const m of ['one', 'two', 'three']) {
      a.stack.sendUdp(ip('10.0.0.2'), 5000, 7, new TextEncoder().encode(m));
      w.run();
    }
    expect(back).toEqual(['one', 'two', 'three']);
    expect(echo.served()).toBe(3);
  });

  it('a 1 MiB bulk transfer arrives byte-exact and the receiver confirms the CRC-32', () => {
    const { w, a, b } = twoGuests();
    const data = patternBytes(42, 1 << 20);
    const rx = new BulkReceiver(b.stack, 9000);
    const r = runThread(
      w.engine,
      bulkSend(a.stack, ip('10.0.0.2'), data, { srcPort: 9001, dstPort: 9000 }),
    );
    expect(r.ok).toBe(true);
    expect(rx.result?.ok).toBe(true);
    expect(Buffer.compare(rx.data(), data)).toBe(0);
    expect(r.datagrams).toBe(Math.ceil(data.length / (1500 - 28 - 9)));
    expect(a.core.counters.txErrors + b.core.counters.rxErrors).toBe(0);
  });

  it('a bulk sender given pages of its own sends 9000-byte datagrams from them without copying, byte-exact, and frees them after', () => {
    const { w, a, b } = twoGuests({ mtu: 9000 }, { mtu: 9000 });
    const data = patternBytes(43, 1 << 20);
    const rx = new BulkReceiver(b.stack, 9000);
    const held = new Set<number>();
    const pages = {
      alloc: () => {
        const pfn = w.host.allocFrame();
        held.add(pfn);
        return pfn;
      },
      free: (pfn: number) => void held.delete(pfn),
      write: (pfn: number, offset: number, bytes: Uint8Array) => {
        w.host.frames.get(pfn)?.set(bytes, offset);
        return true;
      },
    };
    const r = runThread(
      w.engine,
      bulkSend(a.stack, ip('10.0.0.2'), data, { srcPort: 9001, dstPort: 9000, pages }),
    );
    expect(r.ok).toBe(true);
    expect(Buffer.compare(rx.data(), data)).toBe(0);
    expect(r.datagrams).toBe(Math.ceil(data.length / (9000 - 28 - 9)));
    expect(a.vif.metrics.txZeroCopy).toBeGreaterThanOrEqual(r.datagrams);
    expect(held.size).toBe(0);
  });

  it('rate=1MB/s holds a guest to about 1 MB per second of virtual time', () => {
    // libxl writes rate as "<bytes per interval>,<interval us>": 1 MB/s at 50 ms = 50000 bytes.
    const { w, a, b } = twoGuests({ rate: '50000,50000' });
    const data = patternBytes(7, 300_000);
    const rx = new BulkReceiver(b.stack, 9000);
    const r = runThread(
      w.engine,
      bulkSend(a.stack, ip('10.0.0.2'), data, { srcPort: 9001, dstPort: 9000, timeoutNs: 500e6 }),
    );
    expect(r.ok).toBe(true);
    expect(Buffer.compare(rx.data(), data)).toBe(0);
    const mbPerS = data.length / (r.elapsedNs / 1e9) / 1e6;
    expect(mbPerS).toBeGreaterThan(0.8);
    expect(mbPerS).toBeLessThan(1.5);
    expect(a.vif.metrics.txThrottled).toBeGreaterThan(0);
  });
});

describe('concurrent traffic', () => {
  it('two guests blasting 200 datagrams at each other at once both receive all of them', () => {
    const { w, a, b } = twoGuests();
    // Resolve ARP both ways first.
    runThread(w.engine, ping(a.stack, ip('10.0.0.2'), { count: 1 }));
    runThread(w.engine, ping(b.stack, ip('10.0.0.1'), { count: 1 }));
    let atA = 0;
    let atB = 0;
    a.stack.bindUdp(1, () => atA++);
    b.stack.bindUdp(1, () => atB++);
    const payload = new Uint8Array(200);
    for (let i = 0; i < 200; i++) {
      expect(a.stack.sendUdp(ip('10.0.0.2'), 1, 1, payload)).toBe(true);
      expect(b.stack.sendUdp(ip('10.0.0.1'), 1, 1, payload)).toBe(true);
      if (i % 100 === 99) w.run(100_000);
    }
    w.run();
    expect([atA, atB]).toEqual([200, 200]);
    expect(a.vif.metrics.rxDropped + b.vif.metrics.rxDropped).toBe(0);
  });
});

describe('bad input from one guest', () => {
  it('req_prod garbage disconnects that vif with a reason; the bridge and other guests carry on', () => {
    const w = new NetWorld();
    const bad = w.addGuest({ domid: 1, mac: '00:16:3e:00:00:01', ip: '10.0.0.1' });
    const b = w.addGuest({ domid: 2, mac: '00:16:3e:00:00:02', ip: '10.0.0.2' });
    const c = w.addGuest({ domid: 3, mac: '00:16:3e:00:00:03', ip: '10.0.0.3' });
    bad.core.tx.view.setUint32(0, 0x7fff_0000, true);
    w.host.send(bad.port);
    w.run();
    expect(bad.vif.connected).toBe(false);
    expect(bad.vif.errors[0]).toContain('Impossible number of requests');
    expect(w.host.store.get('/local/domain/0/backend/vif/1/0/state')).toBe('5');
    expect(w.host.store.get('/local/domain/0/error/backend/vif/1/0/error')).toContain(
      'Impossible number of requests',
    );
    const r = runThread(w.engine, ping(b.stack, ip('10.0.0.3'), { count: 2 }));
    expect(r.received).toBe(2);
    expect(c.vif.connected).toBe(true);
    // Frames for the dead vif are dropped and counted, not queued forever.
    runThread(w.engine, ping(b.stack, ip('10.0.0.1'), { count: 1, timeoutNs: 1e8 }));
    expect(bad.vif.metrics.rxDropped).toBeGreaterThan(0);
  });

  it('a malformed frame from one guest is dropped and that guest keeps working', () => {
    const w = new NetWorld();
    const a = w.addGuest({ domid: 1, mac: '00:16:3e:00:00:01', ip: '10.0.0.1' });
    w.addGuest({ domid: 2, mac: '00:16:3e:00:00:02', ip: '10.0.0.2' });
    expect(a.core.send(new Uint8Array(8))).toBe(true);
    w.run();
    expect(a.core.counters.txErrors).toBe(1);
    expect(a.vif.metrics.lastDrop).toBe('bad packet size 8');
    const r = runThread(w.engine, ping(a.stack, ip('10.0.0.2'), { count: 1 }));
    expect(r.received).toBe(1);
    expect(a.vif.connected).toBe(true);
  });
});
