import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive, readPid } from '../../dom0/host/runtime-dir.js';

const root = path.resolve(import.meta.dirname, '../..');
const dist = path.join(root, 'dist/dom0');
const fixture = path.join(root, 'tests/fixtures/xl-toolstack.mjs');
let runDir = '';

/** The sources of dom0/xl, dom0/host and the toolstack API, each paired with its built file. */
function distIsStale(): boolean {
  const sources = [
    ...['xl', 'host'].flatMap((d) =>
      fs
        .readdirSync(path.join(root, 'dom0', d))
        .filter((f) => f.endsWith('.ts'))
        .map((f) => `${d}/${f}`),
    ),
    'toolstack/api.ts',
  ];
  return sources.some((rel) => {
    const built = path.join(dist, rel.replace(/\.ts$/, '.js'));
    return (
      !fs.existsSync(built) ||
      fs.statSync(built).mtimeMs < fs.statSync(path.join(root, 'dom0', rel)).mtimeMs
    );
  });
}

/** Runs a built entry point as its bin file will: `node -e` importing dist and exiting with its code. */
function run(which: 'xl' | 'xensim', args: string[], env: Record<string, string> = {}) {
  const mod = which === 'xl' ? path.join(dist, 'xl/main.js') : path.join(dist, 'host/main.js');
  const fn = which === 'xl' ? 'xlMain' : 'hostMain';
  const script =
    `const m = await import(${JSON.stringify(mod)});` +
    `process.exitCode = await m.${fn}(process.argv.slice(1), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, '--', ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      XENSIM_RUNTIME_DIR: runDir,
      XENSIM_TOOLSTACK_MODULE: fixture,
      ...env,
    },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xcli-'));
  // Build unless dist is already newer than every source these entry points load. tsc emits
  // even when files of other areas have type errors; what matters here is our output.
  if (distIsStale())
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  for (const f of ['xl/main.js', 'host/main.js', 'host/daemon-entry.js', 'toolstack/api.js']) {
    if (!fs.existsSync(path.join(dist, f))) throw new Error(`build did not produce dist/dom0/${f}`);
  }
}, 120_000);

afterAll(() => {
  if (runDir === '') return;
  // Stop anything a failed test left running, by the pid it recorded.
  for (const f of fs.readdirSync(runDir)) {
    if (!f.endsWith('.pid')) continue;
    const pid = readPid(path.join(runDir, f));
    if (pid !== undefined && isProcessAlive(pid)) process.kill(pid, 'SIGTERM');
  }
  fs.rmSync(runDir, { recursive: true, force: true });
});

describe('xl and xensim host as a user runs them (built files)', () => {
  it('xl with no host running fails cleanly when auto-start is off', () => {
    const r = run('xl', ['list'], { XENSIM_NO_AUTOSTART: '1' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^xl: cannot connect to host 'default' .*start it with: xensim host start --name default\n$/,
    );
  });

  it('xl list on a fresh install starts the default host in the background and lists Domain-0', () => {
    const r = run('xl', ['list']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'Name                                        ID   Mem VCPUs\tState\tTime(s)\n' +
        'Domain-0                                     0  1024     4     r-----       0.0\n',
    );
    const pid = readPid(path.join(runDir, 'default.pid'));
    expect(pid !== undefined && isProcessAlive(pid)).toBe(true);
    expect(fs.statSync(path.join(runDir, 'default.sock')).mode & 0o777).toBe(0o600);
  });

  it('the next xl reuses the running host', () => {
    const before = readPid(path.join(runDir, 'default.pid'));
    const r = run('xl', ['dmesg']);
    expect(r).toEqual({
      code: 0,
      stdout: '(XEN) host default: 4 pcpus, 8192 MiB, credit2\n',
      stderr: '',
    });
    expect(readPid(path.join(runDir, 'default.pid'))).toBe(before);
  });

  it('a second daemon on the same name refuses with a clear message', () => {
    const pid = readPid(path.join(runDir, 'default.pid'));
    const r = run('xensim', ['host', 'start']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`xensim: host 'default' is already running (pid ${pid})\n`);
    const fg = run('xensim', ['host', 'start', '--foreground']);
    expect(fg.code).toBe(1);
    expect(fg.stderr).toBe(
      `xensim: host 'default' is already running (pid ${pid}, lock ${path.join(runDir, 'default.pid')})\n`,
    );
  });

  it('xensim host start --name runs another host with its options; host list shows both', () => {
    const r = run('xensim', [
      'host',
      'start',
      '--name',
      'lab',
      '--pcpus',
      '2',
      '--memory',
      '2g',
      '--sched',
      'credit',
      '--root',
      runDir,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^xensim: host 'lab' started \(pid \d+\)\n$/);
    const l = run('xensim', ['host', 'list']);
    const lines = l.stdout.trim().split('\n');
    expect(lines[0]).toBe('NAME                 PID PCPUS   MEMORY SCHED   SOCKET');
    expect(
      lines.slice(1).map((x) => x.split(/\s+/).slice(0, 1).concat(x.split(/\s+/).slice(2, 5))),
    ).toEqual([
      ['default', '4', '8192M', 'credit2'],
      ['lab', '2', '2048M', 'credit'],
    ]);
    const x = run('xl', ['--host', 'lab', 'dmesg']);
    expect(x).toEqual({
      code: 0,
      stdout: '(XEN) host lab: 2 pcpus, 2048 MiB, credit\n',
      stderr: '',
    });
    expect(run('xl', ['dmesg'], { XENSIM_HOST: 'lab' }).stdout).toBe(x.stdout);
  });

  it('bad options are refused before anything starts', () => {
    const r = run('xensim', ['host', 'start', '--name', 'x', '--sched', 'rr']);
    expect(r).toMatchObject({
      code: 2,
      stderr: "xensim: invalid --sched 'rr' (credit or credit2)\n",
    });
    expect(run('xensim', ['host', 'start', '--bogus']).code).toBe(2);
  });

  it('xensim host stop stops a host and removes its socket and lock', () => {
    for (const name of ['lab', 'default']) {
      const pid = readPid(path.join(runDir, `${name}.pid`));
      const r = run('xensim', name === 'default' ? ['host', 'stop'] : ['host', 'stop', name]);
      expect(r).toEqual({ code: 0, stdout: `xensim: host '${name}' stopped\n`, stderr: '' });
      expect(pid).toBeDefined();
      expect(fs.existsSync(path.join(runDir, `${name}.pid`))).toBe(false);
      expect(fs.existsSync(path.join(runDir, `${name}.sock`))).toBe(false);
    }
    expect(run('xensim', ['host', 'list']).stdout.trim().split('\n')).toHaveLength(1);
    expect(run('xensim', ['host', 'stop', 'lab'])).toEqual({
      code: 1,
      stdout: '',
      stderr: "xensim: host 'lab' is not running\n",
    });
  });

  it('a daemon with no toolstack wired says so instead of starting', () => {
    const r = run('xensim', ['host', 'start', '--name', 'bare'], {
      XENSIM_TOOLSTACK_MODULE: path.join(runDir, 'none.mjs'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^xensim: no toolstack to run: cannot load file:.*none\.mjs/);
  });
});
