import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostPaths, writeHostRecord } from '../../dom0/host/runtime-dir.js';
import { ToolstackError } from '../../dom0/toolstack/api.js';
import type {
  MigrateApi,
  MigrateEvent,
  MigrateRequest,
  MigrateResult,
} from '../../dom0/toolstack/api.js';
import { DEFAULT_MIGRATION_PORT, resolveMigrationTarget } from '../../dom0/xl/commands-migrate.js';
import { runXl } from './harness.js';
import { domainInfo, MemoryToolstack } from './memory-toolstack.js';

/** A toolstack whose migrate plays back a scripted run. */
class MigratingToolstack extends MemoryToolstack implements MigrateApi {
  requests: MigrateRequest[] = [];
  script: MigrateEvent[] = [];
  failWith: ToolstackError | undefined;

  migrate(req: MigrateRequest, onEvent: (e: MigrateEvent) => void): Promise<MigrateResult> {
    this.requests.push(req);
    for (const e of this.script) onEvent(e);
    if (this.failWith) return Promise.reject(this.failWith);
    return Promise.resolve({
      stats: {
        policy: 'xen',
        rounds: [],
        totalNs: 1,
        downtimeNs: 2_500_000,
        bytesOnWire: 10 * 1024 * 1024,
        pagesSent: 2560,
        targetDomid: 7,
      },
    });
  }
}

const msg = (text: string): MigrateEvent => ({ kind: 'message', text });
const prog = (round: number, sent: number, dirty: number, mb: number): MigrateEvent => ({
  kind: 'progress',
  progress: {
    phase: 'precopy',
    round,
    pagesSent: sent,
    pagesTotal: 2048,
    dirtyPages: dirty,
    bytesOnWire: mb * 1024 * 1024,
  },
});

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-migrate-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function withGuest(): MigratingToolstack {
  const ts = new MigratingToolstack();
  ts.domains.set(3, domainInfo({ domid: 3, name: 'guest', running: true }));
  return ts;
}

describe('resolveMigrationTarget', () => {
  it('a bare name of a host daemon on this machine means its listener and its token file', () => {
    const paths = hostPaths(dir, 'hostb');
    fs.writeFileSync(paths.pidFile, `${process.pid}\n`);
    writeHostRecord(paths, {
      name: 'hostb',
      pid: process.pid,
      pcpus: 1,
      memoryMiB: 1,
      sched: 'credit2',
      speed: 1,
      root: '/',
      socket: paths.socket,
      startedAtMs: 0,
      migration: { address: '0.0.0.0', port: 40123 },
    });
    fs.writeFileSync(paths.migrationTokenFile, 'secret-b\n');
    const env = { XENSIM_RUNTIME_DIR: dir, XENSIM_MIGRATION_TOKEN: 'from-env' };
    expect(resolveMigrationTarget('hostb', env, undefined)).toEqual({
      ok: true,
      target: { address: '127.0.0.1', port: 40123, token: 'secret-b' },
    });
    expect(resolveMigrationTarget('hostb', env, 'explicit')).toMatchObject({
      ok: true,
      target: { token: 'explicit' },
    });
  });

  it('host:port and [v6]:port are network addresses; a bare host uses port 8002', () => {
    const env = { XENSIM_RUNTIME_DIR: dir, XENSIM_MIGRATION_TOKEN: 't' };
    expect(resolveMigrationTarget('10.0.0.2:9000', env, undefined)).toEqual({
      ok: true,
      target: { address: '10.0.0.2', port: 9000, token: 't' },
    });
    expect(resolveMigrationTarget('[::1]:9001', env, undefined)).toMatchObject({
      ok: true,
      target: { address: '::1', port: 9001 },
    });
    expect(resolveMigrationTarget('otherbox', env, undefined)).toMatchObject({
      ok: true,
      target: { address: 'otherbox', port: DEFAULT_MIGRATION_PORT },
    });
  });

  it('refuses a target without a token, and a port out of range', () => {
    const env = { XENSIM_RUNTIME_DIR: dir };
    expect(resolveMigrationTarget('otherbox:9000', env, undefined)).toEqual({
      ok: false,
      message:
        'xl migrate: no migration token for otherbox:9000: give --token or set XENSIM_MIGRATION_TOKEN',
    });
    expect(resolveMigrationTarget('box:70000', env, 't')).toMatchObject({ ok: false });
  });
});

describe('xl migrate', () => {
  it('passes -p/-e/--debug and the target, prints the lines and one progress line per round', async () => {
    const ts = withGuest();
    ts.script = [
      msg('migration target: Ready to receive domain.'),
      prog(1, 1024, 0, 4),
      prog(1, 2048, 12, 8),
      prog(2, 12, 3, 8.1),
      msg('Migration successful.'),
    ];
    const r = await runXl(
      ts,
      ['migrate', '-p', '-e', '--debug', '--token', 'T', 'guest', '127.0.0.1:4000'],
      { env: { XENSIM_RUNTIME_DIR: dir } },
    );
    expect(r.code).toBe(0);
    expect(ts.requests).toEqual([
      {
        domid: 3,
        address: '127.0.0.1',
        port: 4000,
        token: 'T',
        target: '127.0.0.1:4000',
        leavePaused: true,
        noMonitor: true,
        debug: true,
      },
    ]);
    expect(r.stderr).toBe(
      'migration target: Ready to receive domain.\n' +
        'migration sender: round 1: 2048/2048 pages sent, 12 dirty, 8.0 MB on the wire\n' +
        'migration sender: round 2: 12/2048 pages sent, 3 dirty, 8.1 MB on the wire\n' +
        'Migration successful.\n',
    );
  });

  it('with -t the progress line is rewritten in place', async () => {
    const ts = withGuest();
    ts.script = [prog(1, 1024, 0, 4), prog(1, 2048, 0, 8), msg('Migration successful.')];
    const r = await runXl(ts, ['-t', 'migrate', '--token', 'T', 'guest', 'h:1'], {
      env: { XENSIM_RUNTIME_DIR: dir },
    });
    expect(r.stderr).toBe(
      '\rmigration sender: round 1: 1024/2048 pages sent, 0 dirty, 4.0 MB on the wire' +
        '\rmigration sender: round 1: 2048/2048 pages sent, 0 dirty, 8.0 MB on the wire\n' +
        'Migration successful.\n',
    );
  });

  it('a failed migration exits 1 and prints the failure lines once', async () => {
    const ts = withGuest();
    ts.script = [msg('migration sender: 127.0.0.1:1: the target refused the migration token')];
    ts.failWith = new ToolstackError(
      'FAIL',
      'migration sender: 127.0.0.1:1: the target refused the migration token',
    );
    const r = await runXl(ts, ['migrate', '--token', 'bad', 'guest', '127.0.0.1:1'], {
      env: { XENSIM_RUNTIME_DIR: dir },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'migration sender: 127.0.0.1:1: the target refused the migration token\n',
    );
  });

  it('an unknown domain is refused as find_domain refuses it, before any connection', async () => {
    const ts = withGuest();
    const r = await runXl(ts, ['migrate', '--token', 'T', 'nosuch', 'h:1'], {
      env: { XENSIM_RUNTIME_DIR: dir },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('nosuch is an invalid domain identifier (rc=-6)\n');
    expect(ts.requests).toHaveLength(0);
  });

  it('needs a domain and a host; -s (ssh) does not exist here', async () => {
    const ts = withGuest();
    const one = await runXl(ts, ['migrate', 'guest']);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/'xl migrate' requires at least 2 arguments/);
    const s = await runXl(ts, ['migrate', '-s', 'ssh', 'guest', 'h']);
    expect(s.code).toBe(2);
    expect(s.stderr).toBe("option `s' not supported.\n");
  });
});
