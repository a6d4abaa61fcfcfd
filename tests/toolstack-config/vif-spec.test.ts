import { describe, expect, it } from 'vitest';

import type { NicSpec } from '../../dom0/toolstack/config/index.js';
import {
  effectiveNic,
  generateMac,
  parseMac,
  parseVifRate,
  parseVifSpec,
  parseVlan,
} from '../../dom0/toolstack/config/index.js';
import { seeded } from './helpers.js';

function nic(spec: string, index = 0): NicSpec {
  const r = parseVifSpec(spec, index);
  if (!r.ok) throw new Error(r.error.message);
  return r.nic;
}

describe('vif spec (xl-network-configuration(5), xl_parse.c parse_nic_config)', () => {
  it("'' gives a nic with only its devid: everything else is left to libxl's defaults", () => {
    expect(nic('', 2)).toMatchObject({
      devid: 2,
      mac: undefined,
      bridge: undefined,
      script: undefined,
    });
  });

  const table: [string, Partial<NicSpec>][] = [
    [
      'mac=00:16:3E:74:3d:76,model=rtl8139,bridge=xenbr0',
      { mac: '00:16:3e:74:3d:76', model: 'rtl8139', bridge: 'xenbr0' },
    ],
    ['mac=00:16:3e:5f:48:e4,bridge=xenbr1', { mac: '00:16:3e:5f:48:e4', bridge: 'xenbr1' }],
    ['type=ioemu, bridge=xenbr0', { nictype: 'vif_ioemu', bridge: 'xenbr0' }],
    ['type=vif', { nictype: 'vif' }],
    [
      'ip=10.0.0.2 10.0.0.3,script=vif-route,gatewaydev=eth0',
      { ip: '10.0.0.2 10.0.0.3', script: 'vif-route', gatewaydev: 'eth0' },
    ],
    [
      'vifname=web0,backend=netdom,devid=7,mtu=9000',
      { ifname: 'web0', backendDomname: 'netdom', devid: 7, mtu: 9000 },
    ],
    ['rate=10Mb/s', { rateBytesPerInterval: 62500, rateIntervalUsecs: 50000 }],
    ['vlan=10p/20', { vlan: { spec: '10p/20', pvid: 10, vlans: [10, 20], untagged: [10] } }],
    ['trusted', { trusted: true }],
    ['untrusted,,bridge=b', { trusted: false, bridge: 'b' }],
    ['netdev=eth1', { gatewaydev: 'eth1' }],
    [
      'forwarddev=eth2,colo_sock_mirror_id=m1',
      { colo: { coloft_forwarddev: 'eth2', colo_sock_mirror_id: 'm1' } },
    ],
  ];
  it.each(table)('%s', (spec, expected) => {
    expect(nic(spec)).toMatchObject(expected);
  });

  it('xl.conf vif.default.* values seed the nic before the spec overrides them', () => {
    const r = parseVifSpec('bridge=br9', 0, { bridge: 'br0', script: 'vif-nat', backend: '1' });
    expect(r.ok && r.nic).toMatchObject({ bridge: 'br9', script: 'vif-nat', backendDomname: '1' });
  });

  const errors: [string, string][] = [
    ['mac=00:16:3e:zz:00:01', "Invalid parameter `mac'"],
    ['mac=00:16:3e:00:01', "Invalid parameter `mac'"],
    ['type=e1000', "Invalid parameter `type'"],
    ['colour=blue', "unrecognized argument `colour=blue'"],
    ['bridge', "unrecognized argument `bridge'"],
    ['mtu=big', 'failed to convert "big" to number'],
    ['rate=10Mbit/s', 'invalid rate'],
    ['vlan=10/20', 'no PVID'],
  ];
  it.each(errors)('rejects %s', (spec, fragment) => {
    const r = parseVifSpec(spec, 0);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.message).toContain(fragment);
      expect(r.error.hint.length).toBeGreaterThan(5);
    }
  });

  it('netdev= and accel= are accepted with xl warnings', () => {
    const r = parseVifSpec('netdev=eth0,accel=x', 0);
    expect(r.ok && r.warnings).toEqual([
      'the netdev parameter is deprecated, please use gatewaydev instead',
      'the accel parameter for vifs is currently not supported',
    ]);
  });
});

describe('rate= (libxlu_vif.c)', () => {
  const table: [string, number, number][] = [
    ['10Mb/s', 62500, 50000],
    ['250KB/s', 12500, 50000],
    ['1MB/s@20ms', 20000, 20000],
    ['1GB/s@1s', 1000000000, 1000000],
    ['8b/s@100us', 0, 100],
    ['100B/s@2', 200, 2000000],
  ];
  it.each(table)('%s -> %i bytes every %i us', (rate, bytes, usecs) => {
    expect(parseVifRate(rate)).toEqual({ ok: true, bytesPerInterval: bytes, intervalUsecs: usecs });
  });
  it.each(['', '@20ms', '10Mbps', '0MB/s', '1MB/s@0ms', '1MB/s@20ns', '5000000000B/s'])(
    'rejects %j',
    (rate) => {
      expect(parseVifRate(rate).ok).toBe(false);
    },
  );
});

describe('vlan= (xl-network-configuration(5))', () => {
  it('a single id is the PVID; ranges and strides expand; u marks untagged', () => {
    expect(parseVlan('10')).toEqual({
      ok: true,
      vlan: { spec: '10', pvid: 10, vlans: [10], untagged: [10] },
    });
    const v = parseVlan('10p/100+10x4/200-202u');
    expect(v.ok && v.vlan).toEqual({
      spec: '10p/100+10x4/200-202u',
      pvid: 10,
      vlans: [10, 100, 110, 120, 130, 140, 200, 201, 202],
      untagged: [10, 200, 201, 202],
    });
  });
  it.each(['0', '4095', '10p/20p', '20-10', '1-3p', 'x', '10/20'])('rejects %j', (s) => {
    expect(parseVlan(s).ok).toBe(false);
  });
});

describe('MAC addresses', () => {
  it('parseMac canonicalises and refuses malformed addresses', () => {
    expect(parseMac('0:16:3E:a:B:c')).toBe('00:16:3e:0a:0b:0c');
    expect(parseMac('00:16:3e:00:00')).toBeUndefined();
    expect(parseMac('00-16-3e-00-00-01')).toBeUndefined();
  });

  it('generated MACs use the Xen OUI with the 4th byte below 0x80, and repeat for a seed', () => {
    const a = generateMac(seeded(7));
    expect(a).toMatch(/^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/);
    expect(generateMac(seeded(7))).toBe(a);
    expect(generateMac(seeded(8))).not.toBe(a);
  });

  it('effectiveNic fills libxl defaults: xenbr0, vif-bridge, vif<domid>.<devid>, mtu 1500', () => {
    const e = effectiveNic(nic('', 1), 5, seeded(3));
    expect(e).toMatchObject({
      devid: 1,
      bridge: 'xenbr0',
      script: 'vif-bridge',
      ifname: 'vif5.1',
      mtu: 1500,
      backendDomname: '0',
      nictype: 'vif',
    });
    expect(e.mac.startsWith('00:16:3e:')).toBe(true);
    expect(effectiveNic(nic('mac=00:16:3e:01:02:03'), 5, seeded(3)).mac).toBe('00:16:3e:01:02:03');
  });
});
