// The toolstack's vif devices on a composed host (reference 6.3, libxl_nic.c): the xenstore nodes
// of both ends, the vif-bridge hotplug, `xl network-list` / `network-attach` / `network-detach`
// in xl's formats and wordings, rollback of a failed hotplug and cleanup at destroy.

import { afterEach, describe, expect, it } from 'vitest';
import type { SimHost } from '../../dom0/host/compose.js';
import type { ToolstackApi } from '../../dom0/toolstack/api.js';
import { XsClient } from '../../dom0/toolstack/xs-client.js';
import { LocalXenstoreConnection } from '../../dom0/toolstack/xs-local.js';
import { runXl } from '../xl/harness.js';
import { createGuest, guestCfg, netHost, SEC } from './world.js';

let host: SimHost | undefined;
afterEach(() => {
  host?.dispose();
  host = undefined;
});

/** The host's toolstack for in-process xl: every call runs the simulation until it settles. */
function batchApi(h: SimHost): ToolstackApi {
  const ts = h.toolstack as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  return new Proxy(h.toolstack, {
    get(_t, prop: string) {
      const f = ts[prop];
      if (typeof f !== 'function') return f;
      return (...args: unknown[]) => h.run(f.apply(h.toolstack, args), 120 * SEC);
    },
  });
}

const xsOf = (h: SimHost) => new XsClient(new LocalXenstoreConnection(h.xenstored));

describe('vif devices built from vif = [...]', () => {
  it('write the reference 6.3 nodes on both ends, with the mtu node read-only to the guest', async () => {
    const h = (host = netHost());
    const d = await createGuest(
      h,
      guestCfg('g', [
        'mac=00:16:3e:0a:0b:0c,ip=10.0.0.5,rate=10Mb/s,vlan=10,vifname=web0,mtu=1400',
      ]),
    );
    h.runFor(1 * SEC);
    const xs = xsOf(h);
    const be = `/local/domain/0/backend/vif/${d}/0`;
    const fe = `/local/domain/${d}/device/vif/0`;
    const read = (p: string) => xs.read(p);
    expect({
      frontend: read(`${be}/frontend`),
      'frontend-id': read(`${be}/frontend-id`),
      online: read(`${be}/online`),
      script: read(`${be}/script`),
      mac: read(`${be}/mac`),
      bridge: read(`${be}/bridge`),
      handle: read(`${be}/handle`),
      type: read(`${be}/type`),
      vifname: read(`${be}/vifname`),
      ip: read(`${be}/ip`),
      rate: read(`${be}/rate`),
      mtu: read(`${be}/mtu`),
      vlan: read(`${be}/vlan`),
      'hotplug-status': read(`${be}/hotplug-status`),
      state: read(`${be}/state`),
    }).toEqual({
      frontend: fe,
      'frontend-id': String(d),
      online: '1',
      script: '/etc/xen/scripts/vif-bridge',
      mac: '00:16:3e:0a:0b:0c',
      bridge: 'xenbr0',
      handle: '0',
      type: 'vif',
      vifname: 'web0',
      ip: '10.0.0.5',
      rate: '62500,50000',
      mtu: '1400',
      vlan: '10',
      'hotplug-status': 'connected',
      state: '4',
    });
    expect({
      backend: read(`${fe}/backend`),
      'backend-id': read(`${fe}/backend-id`),
      handle: read(`${fe}/handle`),
      mac: read(`${fe}/mac`),
      trusted: read(`${fe}/trusted`),
      mtu: read(`${fe}/mtu`),
      state: read(`${fe}/state`),
      'request-rx-copy': read(`${fe}/request-rx-copy`),
    }).toEqual({
      backend: be,
      'backend-id': '0',
      handle: '0',
      mac: '00:16:3e:0a:0b:0c',
      trusted: '1',
      mtu: '1400',
      state: '4',
      'request-rx-copy': '1',
    });
    expect(xs.getPerms(be)).toEqual({ ok: true, value: ['n0', `r${d}`] });
    expect(xs.getPerms(fe)).toEqual({ ok: true, value: [`n${d}`, 'r0'] });
    expect(xs.getPerms(`${fe}/mtu`)).toEqual({ ok: true, value: ['n0', `r${d}`] });
    expect(h.bridges.get('xenbr0')?.ports.map((p) => p.name)).toEqual(['web0']);
    expect(h.bridges.get('xenbr0')?.port('web0')?.vlanList()).toEqual([10]);
  });

  it('without mac= get a seeded MAC in 00:16:3e, kept in the domain config; the default bridge is xenbr0', async () => {
    const h = (host = netHost());
    const d = await createGuest(h, guestCfg('g', ['', 'ip=10.0.0.9']));
    const nics = await h.run(h.toolstack.networkList(d));
    expect(nics.map((n) => n.devid)).toEqual([0, 1]);
    for (const n of nics) expect(n.mac).toMatch(/^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/);
    expect(nics[0]?.mac).not.toBe(nics[1]?.mac);
    const cfg = await h.run(h.toolstack.domainConfig(d));
    expect((cfg.nics as { mac?: string }[]).map((n) => n.mac)).toEqual(nics.map((n) => n.mac));
    expect(h.bridges.get('xenbr0')?.ports.map((p) => p.name)).toEqual([`vif${d}.0`, `vif${d}.1`]);
  });

  it('a hotplug failure (no such bridge) undoes the whole create: no domain, no vif nodes, no port', async () => {
    const h = (host = netHost());
    await expect(createGuest(h, guestCfg('g', ['bridge=nosuchbr']))).rejects.toThrow(
      /device vif 0: \/etc\/xen\/scripts\/vif-bridge failed; error detected: Could not find bridge device nosuchbr/,
    );
    h.runFor(1 * SEC);
    const xs = xsOf(h);
    expect((await h.domains()).map((x) => x.name)).toEqual(['Domain-0']);
    expect(xs.directory('/local/domain/0/backend/vif')).toEqual([]);
    expect(h.netback.devices.size).toBe(0);
    expect(h.bridges.get('xenbr0')?.ports).toEqual([]);
  });

  it('destroy removes the vif from its bridge and netback drops the device', async () => {
    const h = (host = netHost());
    const d = await createGuest(h, guestCfg('g', ['ip=10.0.0.3']));
    expect(h.bridges.get('xenbr0')?.ports.map((p) => p.name)).toEqual([`vif${d}.0`]);
    await h.run(h.toolstack.destroy(d));
    h.runFor(1 * SEC);
    expect(h.bridges.get('xenbr0')?.ports).toEqual([]);
    expect(h.netback.devices.size).toBe(0);
  });
});

describe('xl network-list, network-attach, network-detach', () => {
  it("network-list prints xl_vif.c's header and one row per vif", async () => {
    const h = (host = netHost());
    const d = await createGuest(
      h,
      guestCfg('g', ['mac=00:16:3e:12:ab:37', 'mac=00:16:3e:47:7a:dd']),
    );
    h.runFor(1 * SEC);
    const api = batchApi(h);
    const r = await runXl(api, ['network-list', 'g']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(
      'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       ',
    );
    const nics = await api.networkList(d);
    const row = (i: number) => {
      const n = nics[i];
      if (!n) throw new Error('missing nic');
      return `${String(i).padEnd(3)} 0  ${n.mac}${String(i).padStart(6)}     4 ${String(n.evtch).padStart(6)} ${String(n.rrefTx).padStart(5)}/${String(n.rrefRx).padEnd(11)} ${`/local/domain/0/backend/vif/${d}/${i}`.padEnd(30)}`;
    };
    expect(lines.slice(1)).toEqual([row(0), row(1), '']);
    expect(lines[1]).toMatch(
      /^0 {3}0 {2}00:16:3e:12:ab:37 {5}0 {5}4 +\d+ +\d+\/\d+ +\/local\/domain\/0\/backend\/vif\/\d+\/0/,
    );
    for (const n of nics) {
      expect(n.evtch).toBeGreaterThan(0);
      expect(n.rrefTx).toBeGreaterThanOrEqual(0);
      expect(n.rrefRx).not.toBe(n.rrefTx);
    }
  });

  it('network-attach adds the next devid to a running guest, which connects it; network-detach by devid and by mac removes it', async () => {
    const h = (host = netHost());
    const d = await createGuest(h, guestCfg('g', ['ip=10.0.0.7']));
    h.runFor(1 * SEC);
    const api = batchApi(h);
    const att = await runXl(api, ['network-attach', 'g', 'mac=00:16:3e:00:00:99', 'ip=10.0.1.7']);
    expect(att).toEqual({ code: 0, stdout: '', stderr: '' });
    h.runFor(1 * SEC);
    const list = await api.networkList(d);
    expect(list.map((n) => [n.devid, n.mac, n.state])).toEqual([
      [0, list[0]?.mac, 4],
      [1, '00:16:3e:00:00:99', 4],
    ]);
    expect(h.bridges.get('xenbr0')?.ports.map((p) => p.name)).toEqual([`vif${d}.0`, `vif${d}.1`]);

    const byMac = await runXl(api, ['network-detach', 'g', '00:16:3e:00:00:99']);
    expect(byMac).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(h.bridges.get('xenbr0')?.ports.map((p) => p.name)).toEqual([`vif${d}.0`]);
    const byId = await runXl(api, ['network-detach', 'g', '0']);
    expect(byId).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await api.networkList(d)).length).toBe(0);
    expect(h.bridges.get('xenbr0')?.ports).toEqual([]);
    const xs = xsOf(h);
    expect(xs.directory(`/local/domain/0/backend/vif/${d}`)).toEqual([]);
    expect(xs.directory(`/local/domain/${d}/device/vif`)).toEqual([]);
  });

  it('network-attach parses each NET_SPEC word as one parse_nic_config token (xl_nic.c main_networkattach)', async () => {
    const h = (host = netHost());
    const d = await createGuest(h, guestCfg('g', ['ip=10.0.0.7']));
    h.runFor(1 * SEC);
    const api = batchApi(h);
    // One word: the bridge is named `xenbr0,mac=…` (xl's replace_string keeps the comma), so the
    // hotplug finds no such bridge and nothing is attached.
    const joined = await runXl(api, ['network-attach', 'g', 'bridge=xenbr0,mac=00:16:3e:00:00:42']);
    expect(joined.code).toBe(1);
    expect(joined.stderr).toContain('Could not find bridge device xenbr0,mac=00:16:3e:00:00:42');
    expect((await api.networkList(d)).map((n) => n.devid)).toEqual([0]);
    h.runFor(1 * SEC);
    expect(xsOf(h).directory(`/local/domain/0/backend/vif/${d}`)).toEqual(['0']);
    // mac= reads its six groups and ignores the rest of the word; a later word replaces an earlier key.
    const att = await runXl(api, [
      'network-attach',
      'g',
      'mac=00:16:3e:00:00:41,bridge=nosuchbr',
      'ip=10.0.1.7',
      'mac=00:16:3e:00:00:43',
    ]);
    expect(att).toEqual({ code: 0, stdout: '', stderr: '' });
    h.runFor(1 * SEC);
    const list = await api.networkList(d);
    expect(list.map((n) => [n.devid, n.mac, n.state])).toEqual([
      [0, list[0]?.mac, 4],
      [1, '00:16:3e:00:00:43', 4],
    ]);
    expect(xsOf(h).read(`/local/domain/0/backend/vif/${d}/1/ip`)).toBe('10.0.1.7');
    expect(h.bridges.get('xenbr0')?.ports.map((p) => p.name)).toEqual([`vif${d}.0`, `vif${d}.1`]);
    // A typed key cannot take a comma.
    expect(await runXl(api, ['network-attach', 'g', 'mtu=1400,bridge=xenbr0'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'xl: failed to convert "1400,bridge=xenbr0" to number\n',
    });
  });

  it('xl -N network-attach prints the parsed nic as libxl_device_nic_to_json and attaches nothing', async () => {
    const h = (host = netHost());
    const d = await createGuest(h, guestCfg('g', ['ip=10.0.0.7']));
    h.runFor(1 * SEC);
    const api = batchApi(h);
    const r = await runXl(api, [
      '-N',
      'network-attach',
      'g',
      'bridge=xenbr1',
      'mac=00:16:3e:00:00:42',
      'ip=10.0.0.9',
      'rate=10Mb/s',
    ]);
    expect(r).toEqual({
      code: 0,
      stdout:
        'vif: {\n' +
        '    "mac": "00:16:3e:00:00:42",\n' +
        '    "ip": "10.0.0.9",\n' +
        '    "bridge": "xenbr1",\n' +
        '    "rate_bytes_per_interval": 62500,\n' +
        '    "rate_interval_usecs": 50000\n' +
        '}\n\n',
      stderr: '',
    });
    expect((await api.networkList(d)).map((n) => n.devid)).toEqual([0]);
    expect(h.bridges.get('xenbr0')?.ports.map((p) => p.name)).toEqual([`vif${d}.0`]);
    // devid= is printed when given; a bad word fails the dry run as it fails the attach.
    const withId = await runXl(api, ['-N', 'network-attach', 'g', 'devid=3']);
    expect(withId.stdout).toBe('vif: {\n    "devid": 3\n}\n\n');
    expect(await runXl(api, ['-N', 'network-attach', 'g', 'mac=zz'])).toEqual({
      code: 1,
      stdout: '',
      stderr: "Invalid parameter `mac'\n",
    });
    const missing = await runXl(api, ['-N', 'network-attach', 'nosuch', 'mac=00:16:3e:00:00:42']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
  });

  it("errors use xl's wording: unknown device, bad spec, failed hotplug, bad domain", async () => {
    const h = (host = netHost());
    await createGuest(h, guestCfg('g', ['ip=10.0.0.7']));
    h.runFor(1 * SEC);
    const api = batchApi(h);
    expect(await runXl(api, ['network-detach', 'g', '5'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Unknown device 5.\n',
    });
    expect(await runXl(api, ['network-detach', 'g', '00:16:3e:ff:ff:ff'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Unknown device 00:16:3e:ff:ff:ff.\n',
    });
    expect(await runXl(api, ['network-attach', 'g', 'colour=blue'])).toEqual({
      code: 1,
      stdout: '',
      stderr: "unrecognized argument `colour=blue'\n",
    });
    const br = await runXl(api, ['network-attach', 'g', 'bridge=nosuchbr']);
    expect(br.code).toBe(1);
    expect(br.stderr).toContain('Could not find bridge device nosuchbr');
    expect(br.stderr.endsWith('libxl_device_nic_add failed.\n')).toBe(true);
    expect((await api.networkList(1)).length).toBe(1);
    const bad = await runXl(api, ['network-list', 'nosuch']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('nosuch is an invalid domain identifier (rc=-6)\n');
  });
});
