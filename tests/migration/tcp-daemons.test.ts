// Two host daemons in this process, each with its migration listener, and xl talking to them over
// their control sockets: the wiring of `xl migrate` around stand-in toolstack halves.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHostDaemon } from '../../dom0/host/daemon.js';
import type { HostDaemon, HostedToolstack, HostOptions } from '../../dom0/host/daemon.js';
import { listHosts } from '../../dom0/host/runtime-dir.js';
import { runXl } from '../xl/harness.js';
import { domainInfo, MemoryToolstack } from '../xl/memory-toolstack.js';
import { receiverHost, senderHost } from './tcp-fakes.js';

const base = (name: string): HostOptions => ({
  name,
  pcpus: 1,
  memoryMiB: 1024,
  sched: 'credit2',
  speed: 1,
  root: '/',
});

let dir: string;
const daemons: HostDaemon[] = [];
const logs: string[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xsm-'));
});
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  logs.length = 0;
});

function migrating(): HostedToolstack {
  const ts = new MemoryToolstack();
  ts.domains.set(3, domainInfo({ domid: 3, name: 'guest', running: true }));
  const s = senderHost();
  const r = receiverHost(0);
  return Object.assign(ts, {
    engineClock: s.clock,
    kick: s.kick,
    migrateSend: s.send,
    migrateReceive: r.receive,
  });
}

async function start(
  name: string,
  toolstack: HostedToolstack,
  token?: string,
): Promise<HostDaemon> {
  const r = await startHostDaemon(base(name), {
    runtimeDir: dir,
    factory: () => toolstack,
    log: (l) => logs.push(`${name}: ${l}`),
    nowMs: () => 1,
    migration: token === undefined ? {} : { token },
  });
  if (!r.ok) throw new Error(r.message);
  daemons.push(r.daemon);
  return r.daemon;
}

const env = (host: string) => ({
  XENSIM_RUNTIME_DIR: dir,
  XENSIM_HOST: host,
  XENSIM_NO_AUTOSTART: '1',
});

describe('host daemons and xl migrate', () => {
  it('each daemon records its migration port and keeps its token 0600 in the runtime dir', async () => {
    const a = await start('a', migrating());
    const rec = listHosts(dir).find((h) => h.name === 'a');
    expect(rec?.migration?.address).toBe('127.0.0.1');
    expect(rec?.migration?.port).toBeGreaterThan(0);
    const st = fs.statSync(a.paths.migrationTokenFile);
    expect(st.mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(a.paths.migrationTokenFile, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    await a.stop();
    expect(fs.existsSync(a.paths.migrationTokenFile)).toBe(false);
  });

  it("xl migrate <dom> <hostname> finds the local target, authenticates and prints xl's lines", async () => {
    await start('a', migrating());
    await start('b', migrating(), 'shared-secret');
    const r = await runXl(undefined, ['migrate', 'guest', 'b'], { env: env('a') });
    expect(r.stderr).toContain('migration target: Ready to receive domain.\n');
    expect(r.stderr).toMatch(
      /migration sender: Target reports successful startup\.\nMigration successful\.\n$/,
    );
    expect(r.code).toBe(0);
    expect(logs.some((l) => l.startsWith('b: migration target: domain 5 (guest) received'))).toBe(
      true,
    );
  });

  it('a wrong --token is refused by the target: exit 1, the cause on stderr, nothing received', async () => {
    await start('a', migrating());
    const b = await start('b', migrating(), 'shared-secret');
    const port = listHosts(dir).find((h) => h.name === 'b')?.migration?.port ?? 0;
    const r = await runXl(
      undefined,
      ['migrate', '--token', 'guess', 'guest', `127.0.0.1:${port}`],
      {
        env: env('a'),
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `migration sender: 127.0.0.1:${port}: the target refused the migration token\n`,
    );
    expect(logs.some((l) => l.includes('b: migration listener: refused'))).toBe(true);
    expect(logs.some((l) => l.includes('received from'))).toBe(false);
    expect(b.record.migration?.port).toBe(port);
  });

  it('a daemon started without migration answers xl migrate with a clear refusal', async () => {
    const r0 = await startHostDaemon(base('c'), {
      runtimeDir: dir,
      factory: () => migrating(),
      log: () => undefined,
      nowMs: () => 1,
      migration: null,
    });
    if (!r0.ok) throw new Error(r0.message);
    daemons.push(r0.daemon);
    await start('a', migrating());
    const r = await runXl(undefined, ['migrate', 'guest', 'c'], { env: env('a') });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "xl migrate: host 'c' does not accept migrations (started with --no-migration)\n",
    );
  });
});
