import { describe, expect, it } from 'vitest';

import type { ConfigValue } from '../../dom0/toolstack/config/index.js';
import {
  ConfigError,
  ConfigReader,
  formatDiagnostic,
  lex,
  parseConfigText,
  parseSettings,
  unwrapConfig,
} from '../../dom0/toolstack/config/index.js';
import { expectErrors, expectOk } from './helpers.js';

function plain(v: ConfigValue): unknown {
  return v.kind === 'atom' ? v.text : v.items.map(plain);
}

function settingsOf(text: string): Record<string, unknown> {
  const s = expectOk(parseSettings(text, 't.cfg'));
  return Object.fromEntries(s.keys().map((k) => [k, plain(s.get(k)?.value as ConfigValue)]));
}

describe('xl.cfg grammar (libxlu_cfg_l.l / libxlu_cfg_y.y)', () => {
  it('accepts KEY = VALUE statements ended by newline or semicolon, with # comments', () => {
    expect(settingsOf('name="h0"\ntype="hvm"\n')).toEqual({ name: 'h0', type: 'hvm' });
    expect(settingsOf('name="h0"; type="hvm"')).toEqual({ name: 'h0', type: 'hvm' });
    expect(settingsOf('# header\nmemory = 512 # MiB\n\n;;\nvcpus=2')).toEqual({
      memory: '512',
      vcpus: '2',
    });
  });

  it('keys follow [a-z][._0-9a-z]* so xl.conf keys with dots are single identifiers', () => {
    expect(settingsOf('vif.default.bridge = "br1"\ncpu_weight=512\nx9.y_z=1')).toEqual({
      'vif.default.bridge': 'br1',
      cpu_weight: '512',
      'x9.y_z': '1',
    });
  });

  it('keeps numbers as text: decimal, octal and hex are read later like strtol(…, 0)', () => {
    const s = expectOk(parseSettings('a = 0x1f\nb = 017\nc = 42\nd = "42"', 't'));
    const r = new ConfigReader(s);
    expect([r.long('a'), r.long('b'), r.long('c'), r.long('d')]).toEqual([31, 15, 42, 42]);
    const atom = s.get('a')?.value;
    expect(atom?.kind === 'atom' && atom.quoted).toBe(false);
  });

  it('single- and double-quoted strings decode libxlu escapes', () => {
    expect(settingsOf(`a = 'it\\'s'\nb = "tab\\there"\nc = "q\\"\\\\"\nd = 'say "hi"'`)).toEqual({
      a: "it's",
      b: 'tab\there',
      c: 'q"\\',
      d: 'say "hi"',
    });
  });

  it('lists may span lines, nest, hold comments and end with a trailing comma', () => {
    const text =
      'disk = [ "a",\n  # second\n  "b",\n]\nvnuma = [ ["pnode=0", "size=512"], [] ]\nvif = [ ]\n';
    expect(settingsOf(text)).toEqual({
      disk: ['a', 'b'],
      vnuma: [['pnode=0', 'size=512'], []],
      vif: [],
    });
  });

  it('the last statement needs no final newline, and the last assignment wins', () => {
    expect(settingsOf('memory = 128\nmemory = 256')).toEqual({ memory: '256' });
  });

  it('+= concatenates strings and lists onto the previous value', () => {
    expect(settingsOf('extra = "a"\nextra += " b"\ndisk = ["x"]\ndisk += ["y", "z"]')).toEqual({
      extra: 'a b',
      disk: ['x', 'y', 'z'],
    });
    expect(settingsOf('disk += ["only"]')).toEqual({ disk: ['only'] });
  });

  it('+= mixing a list and a string is an error at the += statement', () => {
    const r = expectErrors(parseSettings('disk = ["a"]\ndisk += "b"', 'm.cfg'));
    expect(r.errors[0]).toMatchObject({ source: 'm.cfg', line: 2, column: 1 });
    expect(r.errors[0]?.message).toContain(`can't add [list] to "string" or vice versa`);
  });

  it('a number assigned with += cannot be read as a number', () => {
    const s = expectOk(parseSettings('memory = 128\nmemory += 5', 't.cfg'));
    const r = new ConfigReader(s);
    expect(r.long('memory')).toBeUndefined();
    expect(r.errors[0]?.message).toContain("can't use += with numbers");
  });

  it('lexes `+=` as one token and reports token positions', () => {
    const toks = lex('a += [1]', 's').tokens.map((t) => [t.kind, t.column]);
    expect(toks).toEqual([
      ['ident', 1],
      ['+=', 3],
      ['[', 6],
      ['number', 7],
      [']', 8],
      ['eof', 9],
    ]);
  });
});

describe('xl.cfg grammar errors carry file, line, column and a fix', () => {
  const cases: [string, string, number, number, string][] = [
    ['arithmetic', 'name="a"\nmemory = 128 * 2\n', 2, 14, 'no arithmetic'],
    ['list concatenation', "disk = ['a'] + ['b']", 1, 14, "only `+=' appends"],
    ['negative number', 'cap = -1', 1, 7, 'no negative numbers'],
    ['decimal fraction', 'memory = 1.5', 1, 11, 'integers'],
    ['python call', 'x = f(1)', 1, 6, 'no function calls'],
    ['python block colon', 'if vmid:', 1, 8, 'no Python blocks'],
    ['unquoted word', 'type = pv', 1, 8, 'quote strings: type = "pv"'],
    ['missing value', 'name =\n', 1, 7, 'missing value'],
    ['missing =', 'memory 128', 1, 8, "expected `=' or `+='"],
    ['two values', 'name = "a" "b"', 1, 12, 'one value per statement'],
    ['unterminated string', 'name = "abc\n', 1, 8, 'unterminated string'],
    ['bad escape', 'name = "a\\qb"', 1, 8, "invalid character `q' after backslash"],
    ['hex escape', 'name = "\\x41"', 1, 8, 'numeric escape'],
    ['uppercase key', 'Name = "a"', 1, 1, 'keys are lowercase'],
    ['value statement', '"a" = 1', 1, 1, 'must start with a key'],
    ['empty list item', 'disk = [ , ]', 1, 10, 'expected a value'],
    ['missing comma', 'disk = [ "a" "b" ]', 1, 14, "expected `,' or `]'"],
    ['CRLF', 'name = "a"\r\n', 1, 11, 'dos2unix'],
    ['uppercase hex digit', 'memory = 0x1F', 1, 13, 'lowercase'],
    ['size suffix', 'memory = 512M', 1, 13, 'memory = 2048'],
    ['lowercase size suffix', 'maxmem = 2g', 1, 11, 'maxmem = 2048'],
  ];
  it.each(cases)('%s', (_name, text, line, column, fragment) => {
    const r = expectErrors(parseConfigText(text, 'bad.cfg'));
    const d = r.errors[0];
    expect(d).toMatchObject({ source: 'bad.cfg', line, column });
    expect(`${d?.message} ${d?.hint}`).toContain(fragment);
  });

  it('Python-looking constructs point to the PythonInXlConfig page', () => {
    const r = expectErrors(parseConfigText('name = "VM%d" % vmid', 'p.cfg'));
    expect(r.errors[0]?.hint).toContain('compute the value yourself');
    const r2 = expectErrors(parseConfigText('def f(x):\n  return x', 'p.cfg'));
    expect(r2.errors[0]?.hint).toContain('https://wiki.xen.org/wiki/PythonInXlConfig');
  });

  it('reports one error per broken line and keeps going, skipping a broken multi-line list whole', () => {
    const text = 'a = (1)\nb = 2\ndisk = [ "x" "y",\n  "z" ]\nc = -3\n';
    const r = expectErrors(parseConfigText(text, 'multi.cfg'));
    expect(r.errors.map((e) => e.line)).toEqual([1, 3, 5]);
  });

  it('formats a diagnostic as file:line:column: message, then the hint', () => {
    const r = expectErrors(parseConfigText('memory = 128 * 2', 'g.cfg'));
    const text = formatDiagnostic(r.errors[0] as (typeof r.errors)[number]);
    expect(text.split('\n')[0]).toMatch(/^g\.cfg:1:14: config parsing error near `\*': /);
    expect(text.split('\n')[1]).toMatch(/^ {2}\S/);
  });

  it('unwrapConfig throws a typed ConfigError carrying every diagnostic', () => {
    const r = parseConfigText('a = -1\nb = -2', 'u.cfg');
    expect(() => unwrapConfig(r)).toThrow(ConfigError);
    try {
      unwrapConfig(r);
    } catch (e) {
      expect(e instanceof ConfigError && e.diagnostics.length).toBe(2);
      expect(e instanceof ConfigError && e.message).toContain('u.cfg:2:5');
    }
  });

  it('accepts a final comment without a newline (DEVIATION from libxlu)', () => {
    expect(settingsOf('name = "a" # done')).toEqual({ name: 'a' });
  });
});
