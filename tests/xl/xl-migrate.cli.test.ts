// The built `xl migrate` between two real host daemons (two OS processes, loopback TCP): the guest
// leaves A and runs on B; a wrong token fails with xl's words and leaves the guest running on A.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, xensimBin, xlBin } from '../support/built-cli.js';

let tmp = '';

function run(bin: string, args: string[], host?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: tmp,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: tmp,
      XENSIM_RUNTIME_DIR: path.join(tmp, 'run'),
      XDG_DATA_HOME: path.join(tmp, 'data'),
      XENSIM_NO_AUTOSTART: '1',
      ...(host === undefined ? {} : { XENSIM_HOST: host }),
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const names = (listOut: string) =>
  listOut
    .split('\n')
    .slice(1)
    .map((l) => l.split(/\s+/)[0])
    .filter((n) => n !== undefined && n !== '');

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-migrate-'));
  ensureBuilt();
  for (const h of ['a', 'b']) {
    const s = run(xensimBin, ['host', 'start', '--name', h, '--memory', '2g']);
    if (s.code !== 0) throw new Error(s.stderr);
  }
  fs.writeFileSync(
    path.join(tmp, 'mig.cfg'),
    'name = "mig"\nkernel = "/boot/vmlinuz-xensim-pv"\nmemory = 64\n',
  );
}, 180_000);

afterAll(() => {
  for (const h of ['a', 'b']) run(xensimBin, ['host', 'stop', h]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('xl migrate between two host daemons', () => {
  it('xensim host status shows where a host listens for migrations', () => {
    const s = run(xensimBin, ['host', 'status', 'b']);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/^migration\s+: 127\.0\.0\.1:\d+$/m);
  });

  it('a wrong token fails, the target creates nothing, the guest keeps running on A', () => {
    expect(run(xlBin, ['create', 'mig.cfg'], 'a').code).toBe(0);
    const port = /127\.0\.0\.1:(\d+)/.exec(run(xensimBin, ['host', 'status', 'b']).stdout)?.[1];
    const r = run(xlBin, ['migrate', '--token', 'guess', 'mig', `127.0.0.1:${port}`], 'a');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `migration sender: 127.0.0.1:${port}: the target refused the migration token\n`,
    );
    expect(names(run(xlBin, ['list'], 'a').stdout)).toEqual(['Domain-0', 'mig']);
    expect(run(xlBin, ['list', 'mig'], 'a').stdout).toMatch(/^mig\s+1\s+64\s+1\s+[-rb]{2}----/m);
    expect(names(run(xlBin, ['list'], 'b').stdout)).toEqual(['Domain-0']);
  });

  it('xl migrate <dom> <host> moves the guest: B lists it, A no longer does', () => {
    const r = run(xlBin, ['migrate', 'mig', 'b'], 'a');
    expect(r.stderr).toContain('migration target: Ready to receive domain.\n');
    expect(r.stderr).toMatch(/Saving to migration stream new xl format \(info 0x3\/0x0\/\d+\)\n/);
    expect(r.stderr).toMatch(
      /migration target: Transfer complete, requesting permission to start domain\.\n/,
    );
    expect(r.stderr).toMatch(
      /migration sender: Target reports successful startup\.\nMigration successful\.\n$/,
    );
    expect(r.code).toBe(0);
    expect(names(run(xlBin, ['list'], 'a').stdout)).toEqual(['Domain-0']);
    expect(names(run(xlBin, ['list'], 'b').stdout)).toEqual(['Domain-0', 'mig']);
  });
});
