import { describe, expect, it } from 'vitest';

import type { DomainConfigInput } from '../../dom0/toolstack/config/index.js';
import {
  effectiveLimits,
  parseDomainConfig,
  parseXlConf,
  XEN_FIRMWARE_DIR,
} from '../../dom0/toolstack/config/index.js';
import { expectErrors, expectOk, seeded } from './helpers.js';

const MIN = 'name = "g"\nkernel = "/boot/vmlinuz"\n';

function build(text: string, extra: Partial<DomainConfigInput> = {}) {
  return parseDomainConfig({ text, source: 'g.cfg', random: seeded(1), ...extra });
}
const ok = (text: string, extra: Partial<DomainConfigInput> = {}) =>
  expectOk(build(text, extra)).config;

describe('domain config defaults (xl_parse.c parse_config_data, reference 8.2)', () => {
  it('a minimal PV config: type pv, xl leaves memory and vCPUs to libxl', () => {
    const c = ok(MIN);
    expect(c.cInfo).toMatchObject({ type: 'pv', name: 'g', runHotplugScripts: true });
    expect(c.bInfo).toMatchObject({
      maxVcpus: 0,
      availVcpus: [],
      maxMemkb: undefined,
      targetMemkb: undefined,
      claimMode: true,
    });
    expect([c.onPoweroff, c.onReboot, c.onWatchdog, c.onCrash, c.onSoftReset]).toEqual([
      'destroy',
      'restart',
      'destroy',
      'destroy',
      'soft-reset',
    ]);
  });

  it('effective limits: 32 MiB, 1 vCPU, weight 256, cap 0, 64 grant / 1024 maptrack frames, 1023 event channels', () => {
    expect(effectiveLimits(ok(MIN))).toEqual({
      targetMemKiB: 32768,
      maxMemKiB: 32768,
      vcpus: 1,
      maxVcpus: 1,
      cpuWeight: 256,
      capPercent: 0,
      maxGrantFrames: 64,
      maxMaptrackFrames: 1024,
      maxEventChannels: 1023,
      poolName: 'Pool-0',
    });
  });

  it('maxmem defaults to memory; maxvcpus defaults to vcpus; vcpus sets avail_vcpus bits', () => {
    const c = ok(`${MIN}memory = 512\nvcpus = 3`);
    expect(c.bInfo).toMatchObject({
      targetMemkb: 524288,
      maxMemkb: 524288,
      maxVcpus: 3,
      availVcpus: [0, 1, 2],
    });
    const p = ok(`${MIN}memory = 256\nmaxmem = 1024\nvcpus = 1\nmaxvcpus = 4`);
    expect(p.bInfo).toMatchObject({
      targetMemkb: 262144,
      maxMemkb: 1048576,
      maxVcpus: 4,
      availVcpus: [0],
    });
    expect(effectiveLimits(ok(`${MIN}maxmem = 64`))).toMatchObject({
      targetMemKiB: 65536,
      maxMemKiB: 65536,
    });
  });

  it('type is matched by prefix, builder= is the deprecated spelling', () => {
    expect(ok(`${MIN}type = "p"`).cInfo.type).toBe('pv');
    expect(ok(`${MIN}type = "pvh"`).cInfo.type).toBe('pvh');
    expect(ok(`${MIN}type = "h"`).cInfo.type).toBe('hvm');
    expect(ok(`${MIN}builder = "generic"`).cInfo.type).toBe('pv');
    expect(ok('name="h"\nbuilder = "hvm"').cInfo.type).toBe('hvm');
  });

  it('cmdline overrides root/extra with a warning; root and extra combine as "root=R E"', () => {
    expect(ok(`${MIN}root = "/dev/xvda1 ro"\nextra = "console=hvc0"`).bInfo.cmdline).toBe(
      'root=/dev/xvda1 ro console=hvc0',
    );
    const r = expectOk(build(`${MIN}cmdline = "quiet"\nextra = "x"`));
    expect(r.config.bInfo.cmdline).toBe('quiet');
    const b = build(`${MIN}cmdline = "quiet"\nextra = "x"`);
    expect(b.ok && b.warnings.map((w) => w.message)).toEqual([
      'Warning: ignoring root= and extra= in favour of cmdline=',
    ]);
  });

  it('firmware = "pvgrub64" boots XENFIRMWAREDIR/pvgrub64.bin; bootloader alone is enough', () => {
    expect(ok('name="g"\nfirmware = "pvgrub64"').bInfo.kernel).toBe(
      `${XEN_FIRMWARE_DIR}/pvgrub64.bin`,
    );
    expect(
      ok('name="g"\nbootloader = "pygrub"\nbootloader_args = ["-q", "--x"]').bInfo,
    ).toMatchObject({
      bootloader: 'pygrub',
      bootloaderArgs: ['-q', '--x'],
    });
  });

  it('uuid= is kept (lowercased); without it a v4 uuid comes from the injected random source', () => {
    expect(ok(`${MIN}uuid = "06ED00FE-1162-4fc4-b5d8-11993ee4a8b9"`).cInfo.uuid).toBe(
      '06ed00fe-1162-4fc4-b5d8-11993ee4a8b9',
    );
    const a = ok(MIN).cInfo.uuid;
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ok(MIN).cInfo.uuid).toBe(a);
    expect(ok(MIN, { random: seeded(2) }).cInfo.uuid).not.toBe(a);
  });

  it('scheduler, grant and event-channel keys are carried as set', () => {
    const c = ok(
      `${MIN}cpu_weight = 512\ncap = 50\nmax_grant_frames = 32\nmax_maptrack_frames = 256\nmax_event_channels = 2047\npool = "web"`,
    );
    expect(c.bInfo.schedParams).toMatchObject({ weight: 512, cap: 50 });
    expect(c.bInfo).toMatchObject({
      maxGrantFrames: 32,
      maxMaptrackFrames: 256,
      eventChannels: 2047,
    });
    expect(effectiveLimits(c)).toMatchObject({
      cpuWeight: 512,
      capPercent: 50,
      maxGrantFrames: 32,
      poolName: 'web',
    });
  });
});

describe('cpus= / cpus_soft= (xl.cfg(5) CPULIST)', () => {
  const host = {
    nrCpus: 8,
    nodeCpus: [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ],
  };
  it('a string applies to every vCPU: "0-3,5,^1" is CPUs 0,2,3,5', () => {
    const c = ok(`${MIN}vcpus = 2\ncpus = "0-3,5,^1"`, { host });
    expect(c.bInfo.vcpuHardAffinity).toEqual([
      [0, 2, 3, 5],
      [0, 2, 3, 5],
    ]);
    expect(c.bInfo.numaPlacement).toBeUndefined();
  });

  it('a list gives one CPULIST per vCPU and turns NUMA placement off', () => {
    const c = ok(`${MIN}vcpus = 3\ncpus = ["2", "3-7,^5"]`, { host });
    expect(c.bInfo.vcpuHardAffinity).toEqual([[2], [3, 4, 6, 7]]);
    expect(c.bInfo.numaPlacement).toBe(false);
  });

  it('nodes:, node: and all; a soft affinity disables placement', () => {
    const c = ok(`${MIN}vcpus = 1\ncpus = "nodes:1,^6"\ncpus_soft = "all,^node:1"`, { host });
    expect(c.bInfo.vcpuHardAffinity).toEqual([[4, 5, 7]]);
    expect(c.bInfo.vcpuSoftAffinity).toEqual([[0, 1, 2, 3]]);
    expect(c.bInfo.numaPlacement).toBe(false);
  });

  it('"all" sets every bit of libxl\'s byte-sized bitmap', () => {
    expect(
      ok(`${MIN}cpus = "all"`, { host: { nrCpus: 4, nodeCpus: [[0, 1, 2, 3]] } }).bInfo
        .vcpuHardAffinity,
    ).toEqual([[0, 1, 2, 3, 4, 5, 6, 7]]);
  });

  const bad: [string, string][] = [
    ['cpus = "3-1"', 'Invalid pcpu range: 3-1'],
    ['cpus = "^all"', `Can't combine "^" and "all"`],
    ['cpus = "x"', 'Invalid pcpu range: x'],
    ['cpus = "9"', 'CPU 9 does not exist'],
    ['cpus = "nodes:3"', 'NUMA node 3 does not exist'],
    ['cpus_soft = ["1", ["2"]]', 'is a list but should be a string'],
  ];
  it.each(bad)('rejects %s', (line, fragment) => {
    const r = expectErrors(build(`${MIN}${line}`, { host }));
    expect(r.errors[0]?.message).toContain(fragment);
    expect(r.errors[0]?.line).toBe(3);
  });
});

describe('domain config validation errors name the key, the cause and the fix', () => {
  const cases: [string, string, string, number][] = [
    ['kernel = "/k"', 'Domain name must be specified.', 'name = "guest1"', 1],
    ['name = "g"', 'Neither kernel nor bootloader specified', 'kernel =', 1],
    [
      `${MIN}memory = 512\nmaxmem = 256`,
      'memory (512 MiB) is larger than maxmem (256 MiB)',
      'maxmem at least memory',
      4,
    ],
    [`${MIN}vcpus = 4\nmaxvcpus = 2`, 'maxvcpus < vcpus', 'at least vcpus', 4],
    [`${MIN}vcpus = 0`, "parameter `vcpus' value 0 is smaller than the minimum 1", 'at least 1', 3],
    [
      `${MIN}on_crash = "explode"`,
      'Unknown on_crash action "explode" specified',
      'coredump-destroy',
      3,
    ],
    [`${MIN}type = "xen"`, 'Invalid domain type xen.', '"pvh"', 3],
    [
      `${MIN}type = "pv"\nbuilder = "hvm"`,
      'Contradicting "builder" and "type" options specified.',
      'drop builder=',
      4,
    ],
    [`${MIN}uuid = "not-a-uuid"`, 'Failed to parse UUID: not-a-uuid', '8-4-4-4-12', 3],
    [
      `${MIN}memory = "lots"`,
      "parameter `memory' is not a valid number: `lots'",
      'memory = 512',
      3,
    ],
    [
      `${MIN}memory = [512]`,
      "parameter `memory' is a list but should be a single value",
      'without [ ]',
      3,
    ],
    [
      `${MIN}disk = "xvda"`,
      "parameter `disk' is a single value but should be a list",
      'disk = [',
      3,
    ],
    [`${MIN}cpu_weight = 70000`, 'greater than the maximum 65535', 'at most 65535', 3],
    [
      `${MIN}disk = ["/img,,xvda", "/img2,,xvda"]`,
      'is the same device (devid 51712)',
      'different vdev',
      3,
    ],
    [
      `${MIN}disk = ["/img,,vda"]`,
      "invalid or unsupported virtual disk identifier `vda'",
      'xvdX',
      3,
    ],
    [
      `${MIN}disk = ["/img,,"]`,
      "config parsing error in disk specification: no vdev specified in `/img,,'",
      'vdev=xvda',
      3,
    ],
    [`${MIN}vif = ["mac=xx"]`, "vif spec `mac=xx': Invalid parameter `mac'", 'colons', 3],
    [`${MIN}vif = ["devid=1", "bridge=b"]`, 'devid 1 is already used', 'own devid', 3],
    [
      `${MIN}timer_mode = "delay_for_missed_ticks"`,
      '"timer_mode" option is not supported for PV guests',
      'remove timer_mode',
      3,
    ],
    [`name="g"\nfirmware = "seabios"`, 'only pvgrub{32|64} supported', 'pvgrub64', 2],
    [`${MIN}tsc_mode = "fast"`, 'invalid value "fast" for "tsc_mode"', 'native', 3],
    [`${MIN}pci = ["3:0.0,bogus=1"]`, "unknown option `bogus=1'", 'seize', 3],
  ];
  it.each(cases)('%j -> %s', (text, message, hint, line) => {
    const r = expectErrors(build(text));
    const d = r.errors.find((e) => e.message.includes(message));
    expect(d, r.errors.map((e) => e.message).join('\n')).toBeDefined();
    expect(d?.hint).toContain(hint);
    expect(d?.source).toBe('g.cfg');
    expect(d?.line).toBe(line);
  });

  it('collects every error of a config at once', () => {
    const r = expectErrors(build('memory = "x"\nvcpus = 0\non_reboot = "again"'));
    expect(r.errors.map((e) => e.line)).toEqual([1, 1, 1, 2, 3]);
    expect(r.errors.map((e) => e.message)).toContain('Domain name must be specified.');
  });
});

describe('command-line KEY=VALUE overrides (xl create CONFIG KEY=VALUE...)', () => {
  it('are statements applied after the file, in order', () => {
    const c = ok(`${MIN}memory = 128\nvif = ["bridge=a"]`, {
      overrides: ['memory=256', 'vcpus=2', 'vif += ["bridge=b"]', 'memory=512'],
    });
    expect(c.bInfo).toMatchObject({ targetMemkb: 524288, maxVcpus: 2 });
    expect(c.nics.map((n) => [n.devid, n.bridge])).toEqual([
      [0, 'a'],
      [1, 'b'],
    ]);
  });

  it('use the same grammar: a bad override is reported against the command line', () => {
    const r = expectErrors(build(MIN, { overrides: ['vcpus=2', 'memory=1G'] }));
    expect(r.errors[0]).toMatchObject({ source: 'command line argument 2', line: 1, column: 9 });
  });

  it('a value error in an override points at the override', () => {
    const r = expectErrors(build(MIN, { overrides: ['on_poweroff="halt"'] }));
    expect(r.errors[0]).toMatchObject({ source: 'command line argument 1', line: 1, column: 13 });
  });
});

describe('xl.conf feeds the domain config', () => {
  it('vif.default.*, claim_mode, run_hotplug_scripts and grant defaults', () => {
    const conf = expectOk(
      parseXlConf(
        'vif.default.bridge = "br7"\nvif.default.script = "vif-nat"\nclaim_mode = 0\nrun_hotplug_scripts = 0\nmax_grant_frames = 128',
      ),
    );
    const c = ok(`${MIN}vif = ["", "bridge=x"]`, { xlConf: conf });
    expect(c.nics.map((n) => [n.bridge, n.script])).toEqual([
      ['br7', 'vif-nat'],
      ['x', 'vif-nat'],
    ]);
    expect(c.bInfo).toMatchObject({ claimMode: false, maxGrantFrames: 128 });
    expect(c.cInfo.runHotplugScripts).toBe(false);
    expect(ok(`${MIN}max_grant_frames = 16`, { xlConf: conf }).bInfo.maxGrantFrames).toBe(16);
  });
});
