// The built `xl` and `xensim bridge` against a real host daemon: a guest created with a vif shows
// in `xl network-list` and on xenbr0 in `xensim bridge list`; network-attach to a new bridge,
// network-detach, and bad input that fails in xl's words.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runIn, xensimBin, xlBin } from '../support/built-cli.js';

let tmp = '';

const run = (bin: string, args: string[]) => runIn(tmp, bin, args);
const xl = (...args: string[]) => run(xlBin, args);
const bridge = (...args: string[]) => run(xensimBin, ['bridge', ...args]);

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-network-'));
  ensureBuilt();
}, 180_000);

afterAll(() => {
  run(xensimBin, ['host', 'stop']);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const HEADER =
  'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       ';

describe('xl network-* and xensim bridge against a real host', () => {
  it('a vif from the config is listed, sits on xenbr0, and can be joined by another on a new bridge', () => {
    fs.writeFileSync(
      path.join(tmp, 'net.cfg'),
      [
        'name = "netguest"',
        'kernel = "/boot/vmlinuz-xensim-pv"',
        'memory = 64',
        "vif = [ 'mac=00:16:3e:12:ab:37,ip=10.0.0.2' ]",
        '',
      ].join('\n'),
    );
    const c = xl('create', 'net.cfg');
    expect(c.stderr).toContain('Parsing config from net.cfg');
    expect(c.code).toBe(0);

    const l = xl('network-list', 'netguest');
    expect(l.code).toBe(0);
    const lines = l.stdout.split('\n');
    expect(lines[0]).toBe(HEADER);
    expect(lines[1]).toMatch(
      /^0 {3}0 {2}00:16:3e:12:ab:37 {5}0 {5}[1-4] +-?\d+ +-?\d+\/-?\d+ +\/local\/domain\/0\/backend\/vif\/1\/0 *$/,
    );
    expect(lines).toHaveLength(3);

    expect(bridge('list')).toEqual({
      code: 0,
      stdout: 'bridge name\tinterfaces\nxenbr0\t\tvif1.0\n',
      stderr: '',
    });
    expect(bridge('add', 'xenbr1').code).toBe(0);
    const att = xl('network-attach', 'netguest', 'bridge=xenbr1', 'mac=00:16:3e:00:00:99');
    expect(att).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(bridge('list').stdout).toBe(
      'bridge name\tinterfaces\nxenbr0\t\tvif1.0\nxenbr1\t\tvif1.1\n',
    );
    const del = bridge('del', 'xenbr1');
    expect(del.code).toBe(1);
    expect(del.stderr).toBe('bridge del: bridge xenbr1 is still in use by vif1.1\n');

    expect(xl('network-detach', 'netguest', '1').code).toBe(0);
    expect(xl('network-list', 'netguest').stdout.split('\n')).toHaveLength(3);
    expect(bridge('del', 'xenbr1')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(xl('destroy', 'netguest').code).toBe(0);
    expect(bridge('list').stdout).toBe('bridge name\tinterfaces\nxenbr0\t\t\n');
  });

  it('bad network input fails in xl words with a non-zero exit code', () => {
    fs.writeFileSync(
      path.join(tmp, 'net2.cfg'),
      'name = "n2"\nkernel = "/boot/vmlinuz-xensim-pv"\nmemory = 64\nvif = [ "" ]\n',
    );
    expect(xl('create', 'net2.cfg').code).toBe(0);
    expect(xl('network-detach', 'n2', '3')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Unknown device 3.\n',
    });
    const nb = xl('network-attach', 'n2', 'bridge=nosuchbr');
    expect(nb.code).toBe(1);
    expect(nb.stderr).toMatch(
      /Could not find bridge device nosuchbr\nlibxl_device_nic_add failed\.\n$/,
    );
    const nd = xl('network-list', 'no-such-guest');
    expect(nd.code).toBe(1);
    expect(nd.stderr).toMatch(/no-such-guest is an invalid domain identifier/);
    expect(bridge('frobnicate').code).toBe(2);
    expect(xl('destroy', 'n2').code).toBe(0);
  });
});
