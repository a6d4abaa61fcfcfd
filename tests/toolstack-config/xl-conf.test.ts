import { describe, expect, it } from 'vitest';

import { parseXlConf, XL_CONF_DEFAULTS } from '../../dom0/toolstack/config/index.js';
import { expectErrors, expectOk } from './helpers.js';

describe('xl.conf (xl.conf(5), reference 8.5)', () => {
  it("an empty xl.conf gives xl's built-in defaults", () => {
    expect(expectOk(parseXlConf(''))).toEqual(XL_CONF_DEFAULTS);
    expect(XL_CONF_DEFAULTS).toMatchObject({
      autoballoon: 'auto',
      runHotplugScripts: true,
      lockfile: '/var/lock/xl',
      claimMode: true,
      domidPolicy: 'xen',
      outputFormat: 'json',
      vifDefaultBridge: undefined,
    });
  });

  it('reads the documented keys, dotted names included', () => {
    const text = [
      'autoballoon="off"',
      'run_hotplug_scripts=0',
      'lockfile="/run/xl.lock"',
      'vif.default.script="vif-openvswitch"',
      'vif.default.bridge="ovs0"',
      'vif.default.backend="netdom"',
      'vif.default.gatewaydev="eth0"',
      'domid_policy="random"',
      'claim_mode=0',
      'max_grant_frames=128',
      'max_maptrack_frames=2048',
      'output_format="sxp"',
      'blkdev_start="xvdz"',
      'vm.pv.cpumask="0-3"',
    ].join('\n');
    expect(expectOk(parseXlConf(text))).toMatchObject({
      autoballoon: 'off',
      runHotplugScripts: false,
      lockfile: '/run/xl.lock',
      vifDefaultScript: 'vif-openvswitch',
      vifDefaultBridge: 'ovs0',
      vifDefaultBackend: 'netdom',
      vifDefaultGatewaydev: 'eth0',
      domidPolicy: 'random',
      claimMode: false,
      maxGrantFrames: 128,
      maxMaptrackFrames: 2048,
      outputFormat: 'sxp',
      blkdevStart: 'xvdz',
      pvCpumask: '0-3',
    });
  });

  it('accepts autoballoon 1/0 and the deprecated vifscript/defaultbridge spellings', () => {
    expect(
      expectOk(parseXlConf('autoballoon="1"\nvifscript="s"\ndefaultbridge="b"')),
    ).toMatchObject({
      autoballoon: 'on',
      vifDefaultScript: 's',
      vifDefaultBridge: 'b',
    });
  });

  it('rejects bad values with the file, line and the allowed choices', () => {
    const r = expectErrors(
      parseXlConf('autoballoon = "maybe"\ndomid_policy = "next"', '/etc/xen/xl.conf'),
    );
    expect(r.errors).toHaveLength(2);
    expect(r.errors[0]).toMatchObject({
      source: '/etc/xen/xl.conf',
      line: 1,
      column: 15,
      message: 'invalid autoballoon option "maybe"',
    });
    expect(r.errors[0]?.hint).toContain('"auto"');
    expect(r.errors[1]?.line).toBe(2);
  });

  it('uses the same grammar as xl.cfg, so syntax errors look the same', () => {
    const r = expectErrors(parseXlConf('claim_mode = yes', 'xl.conf'));
    expect(r.errors[0]).toMatchObject({ source: 'xl.conf', line: 1, column: 14 });
    expect(r.errors[0]?.hint).toBe('quote strings: claim_mode = "yes"');
  });
});
