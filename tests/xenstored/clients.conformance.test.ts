// Debian's real xenstore clients (xenstore-utils 4.17, python3-pyxs 0.4) and Xen's own
// test-xenstore against our daemon on a socket in a temp dir (reference section 13).

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenXenstored, type XenstoredServer } from '../../dom0/xenstored/socket-server.js';

const TOOLS = [
  'xenstore-write',
  'xenstore-read',
  'xenstore-ls',
  'xenstore-rm',
  'xenstore-list',
  'xenstore-exists',
  'xenstore-chmod',
  'xenstore-watch',
];
const PYTHON = '/usr/bin/python3';
const TEST_XENSTORE = process.env.XEN_TEST_XENSTORE ?? '/usr/lib/xen-4.17/bin/test-xenstore';

function which(tool: string): string | null {
  for (const dir of ['/usr/bin', '/usr/sbin', '/bin'])
    if (existsSync(join(dir, tool))) return join(dir, tool);
  return null;
}

const missing = TOOLS.filter((t) => !which(t));
const INSTALL_HINT =
  'real xenstore clients are missing: run `apt-get install -y --no-install-recommends xenstore-utils python3-pyxs` (CI installs them)';

let srv: XenstoredServer;
let dir: string;
let env: NodeJS.ProcessEnv;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { env, timeout: 20_000, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xensim-xs-'));
  srv = await listenXenstored(join(dir, 'socket'));
  env = { ...process.env, XENSTORED_PATH: srv.path };
});

afterAll(async () => {
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('real xenstore clients against xensim xenstored', () => {
  it('the clients are installed', () => {
    expect(missing, INSTALL_HINT).toEqual([]);
    expect(existsSync(PYTHON), INSTALL_HINT).toBe(true);
  });

  it('xenstore-write then xenstore-read round-trips a value; a missing path exits 1', async () => {
    expect(await run('xenstore-write', ['/conf/a', 'hello world'])).toMatchObject({ code: 0 });
    expect(await run('xenstore-read', ['/conf/a'])).toMatchObject({
      code: 0,
      stdout: 'hello world\n',
    });
    const r = await run('xenstore-read', ['/conf/missing']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("couldn't read path /conf/missing");
  });

  it('xenstore-write with several pairs uses a transaction; xenstore-ls prints the tree', async () => {
    expect((await run('xenstore-write', ['/ls/x', '1', '/ls/y/z', '2'])).code).toBe(0);
    const r = await run('xenstore-ls', ['/ls']);
    expect(r).toMatchObject({ code: 0, stdout: 'x = "1"\ny = ""\n z = "2"\n' });
  });

  it('xenstore-ls and xenstore-list read a 1000-child directory (DIRECTORY_PART)', async () => {
    const args: string[] = [];
    for (let i = 0; i < 1000; i++) args.push(`/big/child-node-${i}`, 'v');
    expect((await run('xenstore-write', args)).code).toBe(0);
    const list = await run('xenstore-list', ['/big']);
    expect(list.code).toBe(0);
    const names = list.stdout.trim().split('\n');
    expect(names).toHaveLength(1000);
    expect(names[0]).toBe('child-node-0');
    expect(names[999]).toBe('child-node-999');
    const ls = await run('xenstore-ls', ['/big']);
    expect(ls.code).toBe(0);
    expect(ls.stdout.split('\n').filter((l) => l.endsWith('= "v"'))).toHaveLength(1000);
  });

  it('xenstore-exists exits 0 or 1; xenstore-rm removes a subtree', async () => {
    await run('xenstore-write', ['/rmme/a/b', '1']);
    expect((await run('xenstore-exists', ['/rmme/a/b'])).code).toBe(0);
    expect((await run('xenstore-rm', ['/rmme/a'])).code).toBe(0);
    expect((await run('xenstore-exists', ['/rmme/a/b'])).code).toBe(1);
    expect((await run('xenstore-exists', ['/rmme'])).code).toBe(0);
  });

  it('xenstore-chmod sets permissions that xenstore-ls -p shows', async () => {
    await run('xenstore-write', ['/perm/node', 'v']);
    expect((await run('xenstore-chmod', ['/perm/node', 'n0', 'r5'])).code).toBe(0);
    const r = await run('xenstore-ls', ['-p', '/perm']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^node = "v" .*\(n0,r5\)\n$/);
  });

  it('xenstore-watch prints the first event and each change', async () => {
    const child = spawn('xenstore-watch', ['-n', '3', '/watched'], { env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number>((res) => child.on('exit', (c) => res(c ?? -1)));
    for (let i = 0; i < 100 && !out.includes('/watched'); i++)
      await new Promise((r) => setTimeout(r, 20));
    await run('xenstore-write', ['/watched/a', '1']);
    await run('xenstore-write', ['/watched/b', '2']);
    const code = await Promise.race([
      exited,
      new Promise<number>((r) => setTimeout(() => r(-2), 5000)),
    ]);
    if (code === -2) child.kill();
    expect(code).toBe(0);
    expect(out).toBe('/watched\n/watched/a\n/watched/b\n');
  });

  it('pyxs: transactions commit, conflict with EAGAIN (commit() is False), watches fire', async () => {
    const script = join(dir, 'pyxs_check.py');
    writeFileSync(
      script,
      [
        'import pyxs',
        'with pyxs.Client() as c, pyxs.Client() as d:',
        '    c.transaction()',
        '    c.write(b"/py/a", b"1")',
        '    assert d.exists(b"/py/a") is False',
        '    print("commit1", c.commit())',
        '    print("read", c.read(b"/py/a").decode())',
        '    c.transaction()',
        '    c.read(b"/py/a")',
        '    d.write(b"/py/a", b"other")',
        '    c.write(b"/py/a", b"mine")',
        '    print("commit2", c.commit())',
        '    print("read", c.read(b"/py/a").decode())',
        '    with c.monitor() as m:',
        '        m.watch(b"/py", b"tok")',
        '        events = m.wait()',
        '        print("event", next(events).path.decode())',
        '        d.write(b"/py/b", b"2")',
        '        print("event", next(events).path.decode())',
        '    try:',
        '        c.read(b"/py/none")',
        '    except pyxs.PyXSError as e:',
        '        print("error", e.args[0])',
      ].join('\n'),
    );
    const r = await run(PYTHON, [script]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'commit1 True\nread 1\ncommit2 False\nread other\nevent /py\nevent /py/b\nerror 2\n',
    );
  });

  it.skipIf(!existsSync(TEST_XENSTORE))(
    `Xen's test-xenstore passes (found at ${TEST_XENSTORE}; set XEN_TEST_XENSTORE to run it)`,
    async () => {
      const r = await run(TEST_XENSTORE, ['-i', '5']);
      expect(r.stdout).toContain('ta err');
      expect(r.code).toBe(0);
    },
  );
});
