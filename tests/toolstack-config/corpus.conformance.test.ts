// Every real config in the shared corpus (shared/corpus/xlcfg, beside the repository) parses, or is
// refused for the reason real xl refuses it.

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  parseDomainConfig,
  parseSettings,
  readDomainConfigFile,
} from '../../dom0/toolstack/config/index.js';
import { expectErrors, expectOk, seeded } from './helpers.js';

/** shared/ sits beside the repository (as CI clones it); /work/shared on the team's machines. */
const CORPUS = [
  resolve(import.meta.dirname, '../../../shared/corpus/xlcfg'),
  '/work/shared/corpus/xlcfg',
].find((d) => existsSync(d));
if (CORPUS === undefined) {
  throw new Error(
    'xl.cfg corpus not found: expected shared/corpus/xlcfg beside the repository (or /work/shared)',
  );
}

function load(name: string) {
  const text = readFileSync(`${CORPUS}/${name}`, 'utf8');
  return parseDomainConfig({ text, source: name, random: seeded(1) });
}

describe('xlcfg corpus', () => {
  it('xmexample1 (PV): deprecated phy: disk, default vif, root+extra cmdline', () => {
    const c = expectOk(load('xmexample1')).config;
    expect(c.cInfo).toMatchObject({ type: 'pv', name: 'ExampleDomain' });
    expect(c.bInfo).toMatchObject({
      kernel: '/boot/vmlinuz-2.6.10-xenU',
      targetMemkb: 65536,
      cmdline: 'root=/dev/hda1 ro 4',
    });
    expect(c.disks.map((d) => [d.pdevPath, d.vdev, d.readwrite])).toEqual([['hda1', 'hda1', true]]);
    expect(c.nics.map((n) => n.devid)).toEqual([0]);
  });

  it('xmexample.nbd: the nbd: prefix selects the block-nbd script', () => {
    const c = expectOk(load('xmexample.nbd')).config;
    expect(c.disks[0]).toMatchObject({
      pdevPath: '134.100.233.115 20004',
      vdev: 'hda1',
      script: 'block-nbd',
    });
    expect(c.bInfo.ramdisk).toBe('/boot/initrd-2.6.13-15b-xen');
  });

  it('xmexample.pv-grub: kernel is the pv-grub image, extra is its menu', () => {
    const c = expectOk(load('xmexample.pv-grub')).config;
    expect(c.bInfo).toMatchObject({ kernel: 'pv-grub.gz', cmdline: '(hd0,0)/boot/grub/menu.lst' });
  });

  it('xmexample.hvm: builder="hvm", hvmloader kernel dropped, empty cdrom, ioemu vif, integer tsc_mode', () => {
    const res = load('xmexample.hvm');
    const c = expectOk(res).config;
    expect(c.cInfo.type).toBe('hvm');
    expect(c.bInfo.kernel).toBeUndefined();
    expect(c.disks.map((d) => [d.vdev, d.format, d.isCdrom, d.readwrite])).toEqual([
      ['hda', 'raw', false, true],
      ['hdc', 'empty', true, false],
    ]);
    expect(c.nics[0]).toMatchObject({ nictype: 'vif_ioemu', bridge: 'xenbr0' });
    const u = c.bInfo.u;
    expect(
      u.type === 'hvm' && [
        u.vnc.enable,
        u.vnc.passwd,
        u.sdl.enable,
        u.sdl.opengl,
        u.serial,
        u.vgaKind,
      ],
    ).toEqual([true, '', false, true, 'pty', 'cirrus']);
    const warnings = res.ok ? res.warnings : [];
    expect(warnings.map((w) => w.message.slice(0, 40))).toEqual([
      'WARNING: you seem to be using "kernel" d',
      'WARNING: ignoring device_model directive',
      'WARNING: specifying "tsc_mode" as an int',
    ]);
  });

  it('xmexample.hvm-stubdom: a phy: cdrom with a target keeps format raw', () => {
    const c = expectOk(load('xmexample.hvm-stubdom')).config;
    expect(c.disks[1]).toMatchObject({
      pdevPath: '/dev/cdrom',
      vdev: 'hdc',
      isCdrom: true,
      format: 'raw',
      removable: true,
    });
    expect(c.bInfo.u.type === 'hvm' && c.bInfo.u.boot).toBe('cda');
  });

  it('xen-ci-qubes-pvh-domU.cfg: PVH, vif list with trailing comma, empty disk list', () => {
    const c = expectOk(load('xen-ci-qubes-pvh-domU.cfg')).config;
    expect(c.cInfo.type).toBe('pvh');
    expect(c.nics.map((n) => n.bridge)).toEqual(['xenbr0']);
    expect(c.disks).toEqual([]);
  });

  it('xen-ci-qubes-pci-hvm-domU.cfg: HVM with a passed-through PCI device and on_reboot=destroy', () => {
    const c = expectOk(load('xen-ci-qubes-pci-hvm-domU.cfg')).config;
    expect(c.pcidevs[0]).toMatchObject({ domain: 0, bus: 3, dev: 0, func: 0, seize: true });
    expect(c.onReboot).toBe('destroy');
    expect(c.nics).toEqual([]);
  });

  it('cpupool.cfg is valid syntax but not a domain: xl refuses it for lack of a kernel', () => {
    const text = readFileSync(`${CORPUS}/cpupool.cfg`, 'utf8');
    const s = expectOk(parseSettings(text, 'cpupool.cfg'));
    expect(s.keys()).toEqual(['name', 'sched', 'cpus']);
    const r = expectErrors(load('cpupool.cfg'));
    expect(r.errors.map((e) => e.message)).toEqual(['Neither kernel nor bootloader specified']);
  });

  it('xmexample2 is Python (def, calls, % formatting) and is rejected as real xl rejects it', () => {
    const r = expectErrors(load('xmexample2'));
    expect(r.errors[0]).toMatchObject({ source: 'xmexample2', line: 23, column: 15 });
    expect(r.errors[0]?.hint).toContain('PythonInXlConfig');
    expect(r.errors.some((e) => e.line === 56 && e.message.includes('`%'))).toBe(true);
  });

  it('readDomainConfigFile reads a file from disk; a missing file is a diagnostic, not a throw', () => {
    const c = expectOk(readDomainConfigFile(`${CORPUS}/xmexample1`, { random: seeded(1) })).config;
    expect(c.cInfo.name).toBe('ExampleDomain');
    const r = expectErrors(readDomainConfigFile(`${CORPUS}/no-such.cfg`, { random: seeded(1) }));
    expect(r.errors[0]?.message).toContain('Failed to read config file');
    expect(r.errors[0]?.source).toBe(`${CORPUS}/no-such.cfg`);
  });
});
