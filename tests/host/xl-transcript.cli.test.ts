// The built `xl` as a user runs it, against a real host daemon (auto-started on first use): the
// create -> list -> vcpu-pin -> mem-set -> save -> restore -> destroy transcript, and bad input
// that must fail with xl's words, a non-zero exit code, and nothing left behind.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, root, runIn, xensimBin, xlBin } from '../support/built-cli.js';

const example = path.join(root, 'docs/examples/pv-guest.cfg');
let tmp = '';

const run = (bin: string, args: string[]) => runIn(tmp, bin, args);
const xl = (...args: string[]) => run(xlBin, args);
/** `xl list` rows with the CPU time column (wall-paced, so it varies) blanked. */
const listed = (out: string) => out.replace(/\s+\d+\.\d$/gm, '  <t>');

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-transcript-'));
  ensureBuilt();
}, 180_000);

afterAll(() => {
  run(xensimBin, ['host', 'stop']);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('xl against a real host', () => {
  it('create, list, vcpu-pin, mem-set, save, restore, destroy', () => {
    const c = xl('create', example);
    expect(c.stderr).toContain(`Parsing config from ${example}`);
    expect(c.code).toBe(0);

    expect(listed(xl('list').stdout)).toBe(
      'Name                                        ID   Mem VCPUs\tState\tTime(s)\n' +
        'Domain-0                                     0  1024     1     -b----  <t>\n' +
        'pv-guest                                     1   256     2     -b----  <t>\n',
    );

    expect(xl('vcpu-pin', 'pv-guest', '0', '1', '-').code).toBe(0);
    const vl = xl('vcpu-list', 'pv-guest').stdout.split('\n');
    expect(vl[0]).toBe(
      'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)',
    );
    expect(vl[1]).toMatch(/^pv-guest\s+1\s+0\s+1\s+-b-\s+\d+\.\d {2}1 \/ all$/);
    expect(vl[2]).toMatch(/^pv-guest\s+1\s+1\s+\d\s+-b-\s+\d+\.\d {2}all \/ all$/);

    expect(xl('mem-set', 'pv-guest', '128m').code).toBe(0);
    expect(listed(xl('list', 'pv-guest').stdout)).toMatch(/^pv-guest\s+1\s+128\s+2\s+-b----/m);

    const s = xl('save', 'pv-guest', '/var/lib/xen/save/pv-guest.save');
    expect(s.code).toBe(0);
    expect(s.stderr).toMatch(/Saving to \/var\/lib\/xen\/save\/pv-guest.save new xl format/);
    expect(s.stderr).toMatch(/100%/);
    expect(listed(xl('list').stdout)).not.toContain('pv-guest');

    const r = xl('restore', '/var/lib/xen/save/pv-guest.save');
    expect(r.code).toBe(0);
    expect(listed(xl('list').stdout)).toMatch(/^pv-guest\s+2\s+128\s+2\s+/m);

    expect(xl('destroy', 'pv-guest').code).toBe(0);
    expect(listed(xl('list').stdout)).toBe(
      'Name                                        ID   Mem VCPUs\tState\tTime(s)\n' +
        'Domain-0                                     0  1024     1     -b----  <t>\n',
    );
  });

  it('bad input fails in xl words with a non-zero exit code and leaves nothing behind', () => {
    const unknown = xl('destroy', 'no-such-guest');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no-such-guest is an invalid domain identifier/);

    fs.writeFileSync(path.join(tmp, 'python.cfg'), 'name = "p"\nmemory = 128 * 2\n');
    const py = xl('create', 'python.cfg');
    expect(py.code).not.toBe(0);
    expect(py.stderr).toMatch(/python\.cfg:2:/);

    fs.writeFileSync(
      path.join(tmp, 'nokernel.cfg'),
      'name = "nk"\nkernel = "/boot/missing"\nmemory = 64\n',
    );
    const nk = xl('create', 'nokernel.cfg');
    expect(nk.code).not.toBe(0);
    expect(nk.stderr).toMatch(/\/boot\/missing/);

    const garbageSave = path.join(
      tmp,
      'data/xensim/hosts/default/root/var/lib/xen/save/garbage.save',
    );
    fs.writeFileSync(garbageSave, 'not a save file');
    const gs = xl('restore', '/var/lib/xen/save/garbage.save');
    expect(gs.code).not.toBe(0);
    expect(gs.stderr).toMatch(/save file|magic|header/i);

    expect(xl('list').stdout.trim().split('\n')).toHaveLength(2); // header + Domain-0
  });
});
