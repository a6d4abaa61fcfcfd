// Several hosts in one engine (SimPool): they share virtual time and the trace, keep their own PRNG
// streams, and reach each other over joined bridges.

import { afterEach, describe, expect, it } from 'vitest';
import { SimPool } from '../../dom0/host/pool.js';
import { SimHost } from '../../dom0/host/compose.js';

const SEC = 1_000_000_000;
const small = { nrPcpus: 2, memoryBytes: 1024 << 20, dom0MemBytes: 256 << 20 };

let pool: SimPool | undefined;
afterEach(() => {
  pool?.dispose();
  pool = undefined;
});

const guest = (name: string, vif: string, extra?: string): string => `
name = "${name}"
kernel = "/boot/vmlinuz-xensim-pv"
memory = 64
vif = [ '${vif}' ]
${extra === undefined ? '' : `extra = "${extra}"`}
`;

async function twoGuests(seed: number): Promise<{ digest: string; uuids: string[]; now: number }> {
  const p = (pool = new SimPool({ hosts: ['alpha', 'beta'], seed, trace: true, defaults: small }));
  const a = await p.host('alpha').create(guest('ga', 'ip=10.0.0.1'));
  const b = await p.host('beta').create(guest('gb', 'ip=10.0.0.2'));
  p.runFor(2 * SEC);
  const la = await p.run(p.host('alpha').toolstack.listDomains());
  const lb = await p.run(p.host('beta').toolstack.listDomains());
  const uuids = [
    la.find((d) => d.domid === a)?.uuid ?? '',
    lb.find((d) => d.domid === b)?.uuid ?? '',
  ];
  const out = { digest: p.engine.trace.digest(), uuids, now: p.engine.now };
  p.dispose();
  pool = undefined;
  return out;
}

describe('a pool of hosts in one engine', () => {
  it('two hosts each build a guest in one virtual time; the same seed gives the same digest', async () => {
    const first = await twoGuests(11);
    const second = await twoGuests(11);
    expect(first.now).toBeGreaterThanOrEqual(2 * SEC);
    expect(second).toEqual(first);
    // Each host draws from its own stream: the toolstacks do not hand out the same UUID.
    expect(first.uuids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.uuids[0]).not.toBe(first.uuids[1]);
    // The trace recorded the run (not an empty digest); another seed changes what the PRNG gave.
    expect(first.digest).not.toBe(new SimPool({ hosts: 0, trace: true }).engine.trace.digest());
    const other = await twoGuests(12);
    expect(other.uuids).not.toEqual(first.uuids);
  });

  it('hosts are named, looked up by name, and share one handoff table', () => {
    const p = (pool = new SimPool({ hosts: 2, defaults: small }));
    expect(p.hosts.map((h) => h.name)).toEqual(['host1', 'host2']);
    expect(p.host('host2').engine).toBe(p.engine);
    expect(p.host('host1').handoffs).toBe(p.handoffs);
    expect(p.host('host2').handoffs).toBe(p.handoffs);
    expect(() => p.host('nope')).toThrow(/no host named nope/);
    expect(() => new SimPool({ hosts: ['x', 'x'] })).toThrow(/two hosts named x/);
  });

  it('a host with an engine of its own keeps the stream names it always had', async () => {
    const uuidOf = async (h: SimHost): Promise<string> => {
      const id = await h.create({ name: 'solo', kernel: '/boot/vmlinuz-xensim-pv', memory: 32 });
      const l = await h.domains();
      return l.find((d) => d.domid === id)?.uuid ?? '';
    };
    const h1 = new SimHost({ ...small, name: 'alpha', seed: 5 });
    const h2 = new SimHost({ ...small, name: 'beta', seed: 5 });
    try {
      // Not named after the host: two lone hosts with one seed draw the same numbers.
      expect(await uuidOf(h1)).toBe(await uuidOf(h2));
    } finally {
      h1.dispose();
      h2.dispose();
    }
  });

  it('a guest on one host pings a guest on another across the joined xenbr0', async () => {
    const p = (pool = new SimPool({ hosts: ['alpha', 'beta'], defaults: small }));
    const join = p.joinBridges('alpha', 'beta', 'xenbr0', { latencyNs: 200_000 });
    expect(join.a.name).toBe('eth0');
    expect(p.host('alpha').bridges.get('xenbr0')?.port('eth0')).toBe(join.a);
    const beta = p.host('beta');
    await beta.create(guest('pong', 'ip=10.0.0.2,mac=00:16:3e:00:00:02'));
    const alpha = p.host('alpha');
    const a = await alpha.create(
      guest('pinger', 'ip=10.0.0.1,mac=00:16:3e:00:00:01', 'init=ping -- 10.0.0.2 3'),
    );
    let out = '';
    p.runUntil(() => (out = alpha.consoleOutput(a)).includes('packet loss'), 120 * SEC);
    expect(out).toContain('3 packets transmitted, 3 received, 0% packet loss');
    // Each round trip crosses the wire twice: at least 0.4 ms.
    const rtts = [...out.matchAll(/icmp_seq=\d ttl=64 time=([0-9.]+) ms/g)].map((m) =>
      Number(m[1]),
    );
    expect(rtts).toHaveLength(3);
    for (const t of rtts) expect(t).toBeGreaterThanOrEqual(0.4);
    expect(join.b.counters.rxFrames).toBeGreaterThan(0);
  });

  it('without the join the two xenbr0s are separate segments', async () => {
    const p = (pool = new SimPool({ hosts: ['alpha', 'beta'], defaults: small }));
    await p.host('beta').create(guest('pong', 'ip=10.0.0.2'));
    const alpha = p.host('alpha');
    const a = await alpha.create(guest('pinger', 'ip=10.0.0.1', 'init=ping -- 10.0.0.2 1'));
    let out = '';
    p.runUntil(() => (out = alpha.consoleOutput(a)).includes('packet loss'), 120 * SEC);
    expect(out).toContain('1 packets transmitted, 0 received, 100% packet loss');
  });

  it('connect gives the two ends of a migration link in the pool clock', () => {
    const p = (pool = new SimPool({ hosts: ['alpha', 'beta'], defaults: small }));
    const [src, dst] = p.connect('alpha', 'beta', { bytesPerSecond: 1_000_000, latencyNs: 1000 });
    const got: number[] = [];
    dst.onData(() => got.push(p.engine.now));
    const t0 = p.engine.now;
    src.send(new Uint8Array(2000))(() => undefined);
    p.runFor(SEC);
    expect(got).toEqual([t0 + 2_000_000 + 1000]);
    expect(() => p.connect('alpha', 'alpha', { bytesPerSecond: 1, latencyNs: 0 })).toThrow();
  });
});
