import { describe, expect, it } from 'vitest';
import { COMMANDS, lookupCommand } from '../../dom0/xl/command-table.js';
import { parseCpuRange, parseMemSizeKb } from '../../dom0/xl/parse-args.js';

describe('parse_mem_size_kb (xl_cmdimpl.c)', () => {
  it('a number without a suffix is MiB, not KiB', () => {
    expect(parseMemSizeKb('512')).toBe(512 * 1024);
  });

  it('suffixes t/g/m/k/b in either case', () => {
    expect(parseMemSizeKb('1t')).toBe(1024 ** 3);
    expect(parseMemSizeKb('2G')).toBe(2 * 1024 ** 2);
    expect(parseMemSizeKb('256m')).toBe(256 * 1024);
    expect(parseMemSizeKb('4096k')).toBe(4096);
    expect(parseMemSizeKb('1048576b')).toBe(1024);
  });

  it('an unknown suffix or trailing text is invalid', () => {
    expect(parseMemSizeKb('512x')).toBeUndefined();
    expect(parseMemSizeKb('512MB')).toBeUndefined();
    expect(parseMemSizeKb('lots')).toBeUndefined();
  });
});

describe('CPU lists', () => {
  it('ranges, single CPUs, all and exclusions', () => {
    expect(parseCpuRange('0-2,5', 8)).toEqual({ ok: true, cpus: [0, 1, 2, 5] });
    expect(parseCpuRange('all', 4)).toEqual({ ok: true, cpus: [0, 1, 2, 3] });
    expect(parseCpuRange('all,^1', 4)).toEqual({ ok: true, cpus: [0, 2, 3] });
  });

  it('a malformed list is an error', () => {
    expect(parseCpuRange('3-1', 4).ok).toBe(false);
    expect(parseCpuRange('a', 4).ok).toBe(false);
  });
});

describe('cmdtable_lookup: unambiguous prefixes (xl_cmdtable.c)', () => {
  it('an unambiguous prefix finds the command', () => {
    const r = lookupCommand('li');
    expect(r.kind === 'found' && r.spec.name).toBe('list');
    const v = lookupCommand('vm');
    expect(v.kind === 'found' && v.spec.name).toBe('vm-list');
  });

  it('an exact name wins even when it prefixes another command', () => {
    const r = lookupCommand('sched-credit');
    expect(r.kind === 'found' && r.spec.name).toBe('sched-credit');
    const d = lookupCommand('domid');
    expect(d.kind === 'found' && d.spec.name).toBe('domid');
  });

  it('an ambiguous prefix names its candidates', () => {
    expect(lookupCommand('vcpu-')).toEqual({
      kind: 'ambiguous',
      candidates: ['vcpu-list', 'vcpu-pin', 'vcpu-set'],
    });
  });

  it('an unknown word finds nothing', () => {
    expect(lookupCommand('frobnicate')).toEqual({ kind: 'none' });
  });

  it('the table has every command the brief lists', () => {
    expect(COMMANDS.map((c) => c.name).sort()).toEqual(
      [
        'create',
        'list',
        'destroy',
        'shutdown',
        'reboot',
        'pause',
        'unpause',
        'console',
        'save',
        'migrate',
        'restore',
        'vcpu-list',
        'vcpu-pin',
        'vcpu-set',
        'mem-set',
        'mem-max',
        'sched-credit',
        'sched-credit2',
        'info',
        'dmesg',
        'uptime',
        'top',
        'domid',
        'domname',
        'rename',
        'vm-list',
        'block-attach',
        'block-detach',
        'block-list',
        'network-attach',
        'network-detach',
        'network-list',
      ].sort(),
    );
  });
});
