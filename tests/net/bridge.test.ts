import { describe, expect, it } from 'vitest';
import { Bridge } from '../../dom0/net/bridge.js';
import { trunkVlans, type PortVlans } from '../../dom0/net/bridge-port.js';
import { BridgeRegistry, bridgeCommand } from '../../dom0/net/bridge-registry.js';
import { frameVid, parseMacString, tagFrame, writeMac } from '../../dom0/net/ethernet.js';
import { joinBridges } from '../../dom0/net/uplink.js';

let now = 0;
const clock = { now: () => now };

function frame(dst: string, src: string, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  writeMac(f, 0, parseMacString(dst) as number);
  writeMac(f, 6, parseMacString(src) as number);
  f[12] = 0x08;
  for (let i = 14; i < len; i++) f[i] = i & 0xff;
  return f;
}

const A = '00:16:3e:00:00:0a';
const B = '00:16:3e:00:00:0b';
const C = '00:16:3e:00:00:0c';
const BCAST = 'ff:ff:ff:ff:ff:ff';

function rig(
  vlans: Record<string, PortVlans | undefined> = {},
  kinds: Record<string, 'trunk'> = {},
) {
  now = 0;
  const br = new Bridge('xenbr0', clock, 300e9);
  const got: Record<string, Uint8Array[]> = {};
  const ports = ['p1', 'p2', 'p3'].map((name) => {
    got[name] = [];
    const r = br.addPort({
      name,
      kind: kinds[name] ?? 'vif',
      vlans: vlans[name],
      deliver: (f) => got[name]?.push(f),
    });
    if (!r.ok) throw new Error(r.error);
    return r.port;
  });
  return { br, got, ports: ports as [(typeof ports)[0], (typeof ports)[0], (typeof ports)[0]] };
}

describe('bridge as a learning switch (br_input.c, br_fdb.c)', () => {
  it('floods an unknown destination to every other port, then forwards to the learned port only', () => {
    const { br, got, ports } = rig();
    br.input(ports[0], frame(B, A));
    expect(got.p2).toHaveLength(1);
    expect(got.p3).toHaveLength(1);
    expect(got.p1).toHaveLength(0);
    br.input(ports[1], frame(A, B));
    expect(got.p1).toHaveLength(1);
    expect(got.p3).toHaveLength(1); // learned: not flooded
    br.input(ports[0], frame(B, A));
    expect(got.p2).toHaveLength(2);
    expect(got.p3).toHaveLength(1);
    expect(br.counters.floods).toBe(1);
    expect(br.fdbRows().map((r) => `${r.port} ${r.mac}`)).toEqual([`p1 ${A}`, `p2 ${B}`]);
  });

  it('floods broadcast even when destinations are known', () => {
    const { br, got, ports } = rig();
    br.input(ports[1], frame(A, B));
    br.input(ports[0], frame(BCAST, A));
    expect(got.p2).toHaveLength(1);
    expect(got.p3).toHaveLength(2);
  });

  it('ages a MAC out after the ageing time in virtual time, and floods again', () => {
    const { br, got, ports } = rig();
    br.input(ports[1], frame(A, B)); // learn B on p2
    now = 299e9;
    br.input(ports[0], frame(B, A));
    expect(got.p3).toHaveLength(1); // only the first flood
    now = 299e9 + 301e9;
    br.input(ports[0], frame(B, A));
    expect(got.p3).toHaveLength(2);
    expect(br.counters.aged).toBeGreaterThanOrEqual(1);
  });

  it('a MAC that moves is relearned on its new port', () => {
    const { br, got, ports } = rig();
    br.input(ports[1], frame(A, B));
    br.input(ports[2], frame(A, B)); // B moved to p3
    br.input(ports[0], frame(B, A));
    expect(got.p3?.at(-1)?.[0]).toBe(0x00);
    expect(br.fdbRows().find((r) => r.mac === B)?.port).toBe('p3');
  });

  it('counts per port and drops runts and group source MACs', () => {
    const { br, ports } = rig();
    br.input(ports[0], new Uint8Array(10));
    br.input(ports[0], frame(B, '01:00:5e:00:00:01'));
    br.input(ports[0], frame(B, A, 100));
    expect(ports[0].counters).toMatchObject({ rxFrames: 3, rxDropped: 2, rxBytes: 10 + 60 + 100 });
    expect(ports[1].counters).toMatchObject({ txFrames: 1, txBytes: 100 });
    expect(br.counters.drops).toEqual({ 'runt frame': 1, 'invalid source MAC': 1 });
  });

  it('drops the all-zero source MAC, and tells apart MACs that share either 24-bit half', () => {
    const { br, got, ports } = rig();
    br.input(ports[0], frame(B, '00:00:00:00:00:00'));
    expect(br.counters.drops).toEqual({ 'invalid source MAC': 1 });
    // Same low half as A, other OUI; same OUI as A, other low half: three entries, three ports.
    const sameLo = '02:16:3f:00:00:0a';
    br.input(ports[0], frame(B, A));
    br.input(ports[1], frame(B, sameLo));
    br.input(ports[2], frame(B, C));
    br.input(ports[1], frame(A, C));
    expect(got.p1?.at(-1)?.subarray(6, 12)).toEqual(frame(A, C).subarray(6, 12));
    br.input(ports[2], frame(sameLo, A));
    expect(got.p2?.at(-1)?.subarray(0, 6)).toEqual(frame(sameLo, A).subarray(0, 6));
    expect(br.fdbRows().map((r) => `${r.port} ${r.mac}`)).toEqual([
      `p3 ${A}`,
      `p2 ${C}`,
      `p2 ${sameLo}`,
    ]);
  });

  it('drops at egress a frame larger than the port MTU', () => {
    const { br, got, ports } = rig();
    br.input(ports[0], frame(B, A, 14 + 1501));
    expect(got.p2).toHaveLength(0);
    expect(ports[1].counters.txDropped).toBe(1);
  });
});

describe('VLANs (br_vlan.c): access and trunk ports', () => {
  it('frames never cross VLANs: access ports in VLAN 10 and 20 do not see each other', () => {
    const v10: PortVlans = { pvid: 10, vlans: [10], untagged: [10] };
    const v20: PortVlans = { pvid: 20, vlans: [20], untagged: [20] };
    const { br, got, ports } = rig({ p1: v10, p2: v20, p3: v10 });
    br.input(ports[0], frame(BCAST, A));
    expect(got.p2).toHaveLength(0);
    expect(got.p3).toHaveLength(1);
    expect(frameVid(got.p3?.[0] as Uint8Array)).toBe(-1);
  });

  it('a trunk port gets frames of an access VLAN tagged, and its tagged frames reach that VLAN untagged', () => {
    const v10: PortVlans = { pvid: 10, vlans: [10], untagged: [10] };
    const v20: PortVlans = { pvid: 20, vlans: [20], untagged: [20] };
    const { br, got, ports } = rig({ p1: v10, p2: v20, p3: trunkVlans([10, 20]) }, { p3: 'trunk' });
    const f = frame(BCAST, A);
    br.input(ports[0], f);
    const onTrunk = got.p3?.[0] as Uint8Array;
    expect(frameVid(onTrunk)).toBe(10);
    expect(onTrunk.length).toBe(f.length + 4);
    br.input(ports[2], tagFrame(frame(BCAST, C), 20));
    const atP2 = got.p2?.[0] as Uint8Array;
    expect(frameVid(atP2)).toBe(-1);
    expect(atP2).toEqual(frame(BCAST, C));
    expect(got.p1).toHaveLength(0);
  });

  it('a trunk drops frames of a VLAN it does not carry and untagged frames without a native VLAN', () => {
    const { br, got, ports } = rig({ p3: trunkVlans([10]) }, { p3: 'trunk' });
    br.input(ports[2], tagFrame(frame(BCAST, C), 30));
    br.input(ports[2], frame(BCAST, C));
    expect(got.p1).toHaveLength(0);
    expect(ports[2].counters.rxDropped).toBe(2);
  });

  it('the same MAC may live in two VLANs: the FDB is per VLAN', () => {
    const { br, ports } = rig({
      p1: { pvid: 10, vlans: [10], untagged: [10] },
      p2: { pvid: 20, vlans: [20], untagged: [20] },
    });
    br.input(ports[0], frame(BCAST, A));
    br.input(ports[1], frame(BCAST, A));
    expect(br.fdbRows().map((r) => `${r.vid} ${r.port}`)).toEqual(['10 p1', '20 p2']);
  });
});

describe('host uplinks', () => {
  it('joins two hosts bridges: a broadcast reaches the far vif tagged across the wire, untagged at the end', () => {
    const h1 = new Bridge('xenbr0', clock);
    const h2 = new Bridge('xenbr0', clock);
    const far: Uint8Array[] = [];
    const wire: Uint8Array[] = [];
    const a = h1.addPort({
      name: 'vif1.0',
      kind: 'vif',
      vlans: { pvid: 5, vlans: [5], untagged: [5] },
      deliver: () => undefined,
    });
    h2.addPort({
      name: 'vif7.0',
      kind: 'vif',
      vlans: { pvid: 5, vlans: [5], untagged: [5] },
      deliver: (f) => far.push(f),
    });
    const j = joinBridges(h1, h2, (d) => d());
    expect(j.ok).toBe(true);
    if (j.ok) j.a.taps.push((f, _t, dir) => dir === 'out' && wire.push(f));
    if (a.ok) h1.input(a.port, frame(BCAST, A));
    expect(frameVid(wire[0] as Uint8Array)).toBe(5);
    expect(far).toHaveLength(1);
    expect(frameVid(far[0] as Uint8Array)).toBe(-1);
  });
});

describe('bridge registry and `xensim bridge`', () => {
  it('a host starts with xenbr0; add, list, del work and del refuses a bridge in use', () => {
    const reg = new BridgeRegistry(clock);
    expect(bridgeCommand(reg, ['add', 'xenbr1']).exitCode).toBe(0);
    expect(bridgeCommand(reg, ['add', 'xenbr1'])).toMatchObject({
      exitCode: 1,
      stderr: 'bridge add: device xenbr1 already exists\n',
    });
    reg.get('xenbr1')?.addPort({ name: 'vif2.0', kind: 'vif', deliver: () => undefined });
    expect(bridgeCommand(reg, ['list']).stdout).toBe(
      'bridge name\tinterfaces\nxenbr0\t\t\nxenbr1\t\tvif2.0\n',
    );
    expect(bridgeCommand(reg, ['del', 'xenbr1']).stderr).toContain('still in use by vif2.0');
    expect(bridgeCommand(reg, ['del', '-f', 'xenbr1']).exitCode).toBe(0);
    expect(reg.list().map((b) => b.name)).toEqual(['xenbr0']);
    expect(bridgeCommand(reg, ['del', 'nope']).stderr).toBe(
      "bridge del: bridge nope doesn't exist\n",
    );
    expect(bridgeCommand(reg, ['frob']).exitCode).toBe(2);
    expect(JSON.parse(bridgeCommand(reg, ['list', '--json']).stdout)).toEqual([
      { name: 'xenbr0', ports: [], fdbEntries: 0, ageingNs: 300e9 },
    ]);
  });
});

describe('the FDB hit cache (a stream between two ports skips the table lookups)', () => {
  it('a removed port is never forwarded to, even mid-stream', () => {
    const { br, got, ports } = rig();
    br.input(ports[1], frame(A, B));
    for (let i = 0; i < 3; i++) br.input(ports[0], frame(B, A));
    expect(got.p2).toHaveLength(3);
    expect(br.removePort('p2')).toBe(true);
    br.input(ports[0], frame(B, A));
    expect(got.p2).toHaveLength(3);
    expect(got.p3).toHaveLength(2); // B unknown again: flooded (the first flood was B's own frame)
  });

  it('an entry aged out by a sweep is not used from the cache', () => {
    const { br, got, ports } = rig();
    br.input(ports[1], frame(A, B));
    br.input(ports[0], frame(B, A));
    br.input(ports[0], frame(B, A));
    now = 301e9;
    expect(br.sweep()).toBe(2);
    br.input(ports[0], frame(B, A));
    expect(got.p3).toHaveLength(2);
  });

  it('the same MAC in another VLAN is looked up in that VLAN', () => {
    const { br, got, ports } = rig({
      p1: trunkVlans([10, 20]),
      p2: { pvid: 10, vlans: [10], untagged: [10] },
      p3: { pvid: 20, vlans: [20], untagged: [20] },
    });
    br.input(ports[1], frame(A, B)); // B in VLAN 10 on p2
    br.input(ports[0], tagFrame(frame(B, A), 10));
    br.input(ports[0], tagFrame(frame(B, A), 10));
    expect(got.p2).toHaveLength(2);
    // B is unknown in VLAN 20: flooded to p3 only, never to p2.
    br.input(ports[0], tagFrame(frame(B, A), 20));
    expect(got.p2).toHaveLength(2);
    expect(got.p3).toHaveLength(1);
  });
});
