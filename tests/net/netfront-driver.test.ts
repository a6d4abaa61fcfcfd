// netfront on the domU kernel model's frontend bus (FakeXen + FakeXenstored from tests/domU).

import { describe, expect, it } from 'vitest';
import {
  netfrontDriver,
  type NetfrontHost,
  type XenNetDevice,
} from '../../domU/net/netfront-driver.js';
import { formatIpv4, formatMac } from '../../domU/net/inet.js';
import type { GrantClient } from '../../hypercalls/grant-client.js';
import type { PvKernel } from '../../domU/kernel.js';
import { XenbusState as S } from '../../hypercalls/io/xenbus.js';
import { bootKernel } from '../domU/kernel-harness.js';

const VIF_BE = '/local/domain/0/backend/vif/5/0';

let nextRef = 8;
const fakeGrants = {
  grantAccess: () => nextRef++,
  endAccess: () => true,
} as unknown as GrantClient;

function boot() {
  const netDevices: XenNetDevice[] = [];
  let k: (() => PvKernel) | null = null;
  const host = (): NetfrontHost | null => {
    if (!k) return null;
    const kern = k();
    return {
      h: kern.h,
      events: kern.events,
      pages: kern.pages,
      platform: kern.platform,
      // FakeXen has no grant table: hand out refs the way GrantClient does (from 8).
      grants: () => fakeGrants,
      netDevices,
      now: () => kern.now(),
      printk: (l) => kern.printk(l),
    };
  };
  const booted = bootKernel(
    { drivers: [netfrontDriver(host)] },
    {
      setup: (x) => {
        x.set(`${VIF_BE}/state`, '1');
        x.set(`${VIF_BE}/ip`, '192.168.7.5');
        x.set('device/vif/0/backend', VIF_BE);
        x.set('device/vif/0/backend-id', '0');
        x.set('device/vif/0/mac', '00:16:3e:aa:bb:cc');
        x.set('device/vif/0/state', '1');
      },
    },
  );
  k = booted.kernel;
  booted.runUntil(() => booted.xsd.watches.some((w) => w.path === `${VIF_BE}/state`));
  return { ...booted, netDevices };
}

describe('netfront driver (xen-netfront.c talk_to_netback)', () => {
  it('on backend InitWait with feature-rx-copy: writes rings, event channel and flags, goes Connected, brings up eth0', () => {
    const { xsd, runUntil, netDevices, kernel } = boot();
    xsd.set(`${VIF_BE}/feature-rx-copy`, '1');
    xsd.set(`${VIF_BE}/state`, String(S.InitWait));
    expect(runUntil(() => xsd.get('device/vif/0/state') === String(S.Connected))).toBe(true);
    expect(kernel().frontends.device('vif', '0')?.errors).toEqual([]);
    for (const key of ['tx-ring-ref', 'rx-ring-ref', 'event-channel']) {
      expect(xsd.get(`device/vif/0/${key}`)).toMatch(/^[0-9]+$/);
    }
    expect(xsd.get('device/vif/0/tx-ring-ref')).not.toBe(xsd.get('device/vif/0/rx-ring-ref'));
    expect(xsd.get('device/vif/0/request-rx-copy')).toBe('1');
    expect(xsd.get('device/vif/0/feature-rx-notify')).toBe('1');
    expect(netDevices).toHaveLength(1);
    const eth0 = netDevices[0] as XenNetDevice;
    expect(eth0.name).toBe('eth0');
    expect(formatMac(eth0.mac)).toBe('00:16:3e:aa:bb:cc');
    expect(eth0.mtu).toBe(1500);
    expect(formatIpv4(eth0.stack.ip)).toBe('192.168.7.5');
    expect(eth0.core.rx.reqProdPvt).toBe(256); // every rx buffer posted
  });

  it('refuses a backend without feature-rx-copy and says why', () => {
    const { xsd, runUntil, kernel, netDevices } = boot();
    xsd.set(`${VIF_BE}/state`, String(S.InitWait));
    expect(runUntil(() => xsd.get('device/vif/0/state') === String(S.Closed))).toBe(true);
    expect(kernel().frontends.device('vif', '0')?.errors).toContain(
      'backend does not support copying receive path',
    );
    expect(netDevices).toHaveLength(0);
  });
});
