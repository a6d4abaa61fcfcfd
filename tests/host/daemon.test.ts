import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectSocket, ControlClient, RemoteToolstack } from '../../dom0/host/control-client.js';
import { encodeFrame, FrameDecoder } from '../../dom0/host/control-protocol.js';
import { startHostDaemon } from '../../dom0/host/daemon.js';
import type { HostDaemon, HostOptions } from '../../dom0/host/daemon.js';
import { listHosts } from '../../dom0/host/runtime-dir.js';
import { ToolstackError } from '../../dom0/toolstack/api.js';
import type { DomainInfo } from '../../dom0/toolstack/api.js';
import { runXl } from '../xl/harness.js';
import { domainInfo, MemoryToolstack } from '../xl/memory-toolstack.js';

const OPTS: HostOptions = {
  name: 'h1',
  pcpus: 4,
  memoryMiB: 8192,
  sched: 'credit2',
  speed: 1,
  root: '/',
};

let dir: string;
let ts: MemoryToolstack;
let daemon: HostDaemon;
const logs: string[] = [];

async function start(opts: HostOptions = OPTS, toolstack = ts) {
  return startHostDaemon(opts, {
    runtimeDir: dir,
    factory: () => toolstack,
    log: (l) => logs.push(l),
    nowMs: () => 1,
  });
}

async function remote(): Promise<RemoteToolstack> {
  const s = await connectSocket(daemon.paths.socket);
  if (s instanceof Error) throw s;
  return new RemoteToolstack(new ControlClient(s));
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xsd-'));
  ts = new MemoryToolstack();
  ts.domains.set(3, domainInfo({ domid: 3, name: 'guest1' }));
  const r = await start();
  if (!r.ok) throw new Error(r.message);
  daemon = r.daemon;
});

afterEach(async () => {
  await daemon.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('host daemon control socket', () => {
  it('is a Unix socket at mode 0600 in a 0700 runtime directory', () => {
    const st = fs.statSync(daemon.paths.socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('serves ToolstackApi calls: records out, ToolstackError (code, message) back', async () => {
    const api = await remote();
    const doms = await api.listDomains();
    expect(doms.map((d: DomainInfo) => d.name)).toEqual(['Domain-0', 'guest1']);
    await api.pause(3);
    expect(ts.domains.get(3)?.paused).toBe(true);
    const err = await api.destroy(42).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolstackError);
    expect((err as ToolstackError).code).toBe('DOMAIN_NOTFOUND');
    expect((err as ToolstackError).rc).toBe(-21);
    expect((err as ToolstackError).message).toBe('libxl: error: Domain 42:Non-existant domain');
    api.client.close();
  });

  it('relays save progress reports in order before the result', async () => {
    const api = await remote();
    const seen: string[] = [];
    await api.save({ domid: 3, file: '/tmp/s', checkpoint: true, leavePaused: false }, (p) =>
      seen.push(p.note ?? `${p.done}/${p.total}`),
    );
    expect(seen).toEqual([
      'Saving to /tmp/s new xl format (info 0x3/0x0/1024)',
      '0/1024',
      '256/1024',
      '512/1024',
      '768/1024',
      '1024/1024',
    ]);
    api.client.close();
  });

  it('relays console bytes both ways and detaches', async () => {
    ts.consoleOutput = Buffer.from('hello');
    const api = await remote();
    const con = await api.consoleAttach(3);
    const got = await new Promise<string>((resolve) =>
      con.onData((b) => resolve(Buffer.from(b).toString())),
    );
    expect(got).toBe('hello');
    con.write(Buffer.from('ls\n'));
    con.close();
    await new Promise((r) => setTimeout(r, 30));
    expect(Buffer.from(ts.consoleInput).toString()).toBe('ls\n');
    expect(ts.calls.some((c) => c.op === 'consoleDetach')).toBe(true);
    api.client.close();
  });

  it('survives a client that disconnects mid-request', async () => {
    let release: () => void = () => undefined;
    ts.listDomains = () =>
      new Promise((resolve) => {
        release = () => resolve([domainInfo({ domid: 0, name: 'Domain-0' })]);
      });
    const s = await connectSocket(daemon.paths.socket);
    if (s instanceof Error) throw s;
    s.write(encodeFrame({ t: 'call', id: 1, op: 'listDomains', args: [] }));
    await new Promise((r) => setTimeout(r, 20));
    s.destroy();
    await new Promise((r) => setTimeout(r, 20));
    release(); // the reply now has nowhere to go
    await new Promise((r) => setTimeout(r, 20));
    ts.listDomains = MemoryToolstack.prototype.listDomains.bind(ts);
    const api = await remote();
    expect((await api.listDomains()).length).toBe(2);
    api.client.close();
  });

  it('survives garbage: answers a bad request with an error, drops a garbage stream', async () => {
    const s = await connectSocket(daemon.paths.socket);
    if (s instanceof Error) throw s;
    const replies: unknown[] = [];
    const dec = new FrameDecoder();
    s.on('data', (c: Buffer) =>
      replies.push(...dec.push(c).map((f) => (f.ok ? f.value : f.error))),
    );
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.write(encodeFrame({ t: 'call', id: 9, op: 'nonsense', args: [] } as never));
    await new Promise((r) => setTimeout(r, 20));
    expect(replies[0]).toMatchObject({ t: 'error', id: 9, error: { code: 'INVAL' } });
    s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await closed;
    // A well-behaved client is still served.
    const api = await remote();
    expect((await api.info()).nrCpus).toBe(4);
    api.client.close();
    // Random bytes from many clients at once.
    await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const g = await connectSocket(daemon.paths.socket);
        if (g instanceof Error) throw g;
        g.on('error', () => undefined);
        g.end(Buffer.from(Array.from({ length: 64 }, (_, j) => (j * 37 + i * 11) & 0xff)));
      }),
    );
    const again = await remote();
    expect((await again.listDomains()).length).toBe(2);
    again.client.close();
  });

  it('a second daemon on the same name refuses to start, naming the running one', async () => {
    const r = await start();
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toBe(
      `host 'h1' is already running (pid ${process.pid}, lock ${path.join(dir, 'h1.pid')})`,
    );
    // The first still answers.
    const api = await remote();
    expect((await api.info()).nrNodes).toBe(1);
    api.client.close();
  });

  it('a stale pid file (dead process) does not block a start', async () => {
    await daemon.stop();
    fs.writeFileSync(path.join(dir, 'h1.pid'), '999999999\n');
    const r = await start();
    expect(r.ok).toBe(true);
    if (r.ok) daemon = r.daemon;
  });

  it('host list shows running hosts; a stop request removes the socket, lock and record', async () => {
    expect(listHosts(dir).map((h) => [h.name, h.pid, h.pcpus, h.sched])).toEqual([
      ['h1', process.pid, 4, 'credit2'],
    ]);
    const api = await remote();
    await api.client.request({ t: 'host', op: 'stop' }).result;
    await daemon.stopped;
    expect(fs.existsSync(daemon.paths.socket)).toBe(false);
    expect(fs.existsSync(daemon.paths.pidFile)).toBe(false);
    expect(listHosts(dir)).toEqual([]);
  });

  it('xl talks to a named host over the socket (XENSIM_HOST), without auto-start', async () => {
    const env = { XENSIM_RUNTIME_DIR: dir, XENSIM_HOST: 'h1' };
    const r = await runXl(undefined, ['list'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'guest1                                       3   512     1     -b----       0.0\n',
    );
    const err = await runXl(undefined, ['destroy', '42'], { env });
    expect(err).toEqual({
      code: 1,
      stdout: '',
      stderr: 'libxl: error: Domain 42:Non-existant domain\ndestroy failed (rc=-21)\n',
    });
  });

  it('xl names the host and how to start it when a non-default host is not running', async () => {
    const r = await runXl(undefined, ['--host', 'nohost', 'list'], {
      env: { XENSIM_RUNTIME_DIR: dir },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^xl: cannot connect to host 'nohost' \(.*nohost\.sock: ENOENT\); start it with: xensim host start --name nohost\n$/,
    );
  });

  it('a toolstack method that throws a plain error becomes a FAIL reply, not a crash', async () => {
    ts.info = () => {
      throw new Error('boom');
    };
    const api = await remote();
    const e = await api.info().catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'FAIL', message: 'xensim: internal toolstack error: boom' });
    expect((await api.listDomains()).length).toBe(2);
    api.client.close();
  });

  it('refuses a runtime directory whose socket path would not fit a Unix socket', async () => {
    const r = await startHostDaemon(OPTS, {
      runtimeDir: path.join(dir, 'x'.repeat(120)),
      factory: () => ts,
      log: () => undefined,
      nowMs: () => 0,
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(/longer than the 107 a Unix socket allows/);
  });
});

describe('net sanity', () => {
  it('connectSocket reports ENOENT for a missing socket', async () => {
    const e = await connectSocket(path.join(os.tmpdir(), 'no-such-xensim.sock'));
    expect(e).toBeInstanceOf(Error);
    expect((e as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(net.isIP('x')).toBe(0);
  });
});
