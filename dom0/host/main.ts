// `xensim host start|stop|list`: runs and manages host daemons (one simulated Xen host per
// process; architecture section 7).

import * as fs from 'node:fs';
import * as path from 'node:path';
import yargs from 'yargs';
import { connectSocket, ControlClient } from './control-client.js';
import { startHostDaemon } from './daemon.js';
import type { HostOptions, MigrationListenSettings, ToolstackFactory } from './daemon.js';
import {
  DEFAULT_HOST_NAME,
  hostPaths,
  isProcessAlive,
  isValidHostName,
  listHosts,
  readPid,
  runtimeDir,
} from './runtime-dir.js';
import type { Env } from './runtime-dir.js';
import { spawnHostDaemon } from './spawn.js';
import { loadToolstackFactory } from './toolstack-module.js';

export interface HostIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: Env;
  readonly cwd?: string;
}

export interface HostMainDeps {
  /** The toolstack factory for `--foreground`; by default loaded from the wired module. */
  readonly factory?: ToolstackFactory;
  /** Called once a foreground daemon runs (tests use it to stop it). */
  readonly onStarted?: (stop: () => Promise<void>) => void;
}

const USAGE = `Usage: xensim host start [--name NAME] [--pcpus N] [--memory SIZE] [--sched credit|credit2]
                         [--speed X] [--root DIR] [--foreground]
                         [--migration-listen ADDR] [--migration-port N] [--migration-token T]
                         [--no-migration]
       xensim host stop [NAME]
       xensim host list
       xensim host status [NAME]
`;

/** Memory size like xl's (suffix t/g/m/k/b, none = MiB) in MiB. */
function parseMemoryMiB(text: string): number | undefined {
  const m = /^(\d+)([tgmkbTGMKB]?)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const factor: Record<string, number> = {
    t: 1024 * 1024,
    g: 1024,
    m: 1,
    '': 1,
    k: 1 / 1024,
    b: 1 / (1024 * 1024),
  };
  const mib = Math.floor(n * (factor[(m[2] ?? '').toLowerCase()] ?? 1));
  return mib > 0 ? mib : undefined;
}

interface StartArgs {
  name: string;
  pcpus: string;
  memory: string;
  sched: string;
  speed: string;
  root: string | undefined;
  foreground: boolean;
  migrationListen: string;
  migrationPort: string;
  migrationToken: string | undefined;
  noMigration: boolean;
}

function parseStart(
  argv: string[],
): { ok: true; args: StartArgs } | { ok: false; message: string } {
  try {
    const a = yargs(argv)
      .parserConfiguration({
        'camel-case-expansion': false,
        'parse-numbers': false,
        'parse-positional-numbers': false,
        'boolean-negation': false,
      })
      .option('name', { type: 'string', default: DEFAULT_HOST_NAME })
      .option('pcpus', { type: 'string', default: '4' })
      .option('memory', { type: 'string', default: '8g' })
      .option('sched', { type: 'string', default: 'credit2' })
      .option('speed', { type: 'string', default: '1' })
      .option('root', { type: 'string' })
      .option('foreground', { type: 'boolean', default: false })
      .option('migration-listen', { type: 'string', default: '127.0.0.1' })
      .option('migration-port', { type: 'string', default: '0' })
      .option('migration-token', { type: 'string' })
      .option('no-migration', { type: 'boolean', default: false })
      .strict()
      .help(false)
      .version(false)
      .exitProcess(false)
      .fail((msg: string | null, err: Error | null) => {
        throw new Error(msg ?? err?.message ?? 'bad arguments');
      })
      .parseSync();
    return {
      ok: true,
      args: {
        name: a.name,
        pcpus: a.pcpus,
        memory: a.memory,
        sched: a.sched,
        speed: a.speed,
        root: a.root,
        foreground: a.foreground,
        migrationListen: a['migration-listen'],
        migrationPort: a['migration-port'],
        migrationToken: a['migration-token'],
        noMigration: a['no-migration'],
      },
    };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

function toHostOptions(
  a: StartArgs,
  cwd: string,
): { ok: true; opts: HostOptions } | { ok: false; message: string } {
  if (!isValidHostName(a.name))
    return { ok: false, message: `invalid host name '${a.name}' (letters, digits, _ . -)` };
  const pcpus = Number(a.pcpus);
  if (!Number.isInteger(pcpus) || pcpus < 1 || pcpus > 4096)
    return { ok: false, message: `invalid --pcpus '${a.pcpus}'` };
  const memoryMiB = parseMemoryMiB(a.memory);
  if (memoryMiB === undefined) return { ok: false, message: `invalid --memory '${a.memory}'` };
  if (a.sched !== 'credit' && a.sched !== 'credit2')
    return { ok: false, message: `invalid --sched '${a.sched}' (credit or credit2)` };
  const speed = Number(a.speed);
  if (!Number.isFinite(speed) || speed <= 0)
    return { ok: false, message: `invalid --speed '${a.speed}'` };
  // Without --root, dom0 sees the real filesystem: xl sends absolute paths.
  const root = path.resolve(cwd, a.root ?? '/');
  return { ok: true, opts: { name: a.name, pcpus, memoryMiB, sched: a.sched, speed, root } };
}

/** The migration listener's settings: null with --no-migration; the token from --migration-token or $XENSIM_MIGRATION_TOKEN. */
function toMigrationSettings(
  a: StartArgs,
  env: Env,
): { ok: true; settings: MigrationListenSettings | null } | { ok: false; message: string } {
  if (a.noMigration) return { ok: true, settings: null };
  const port = Number(a.migrationPort);
  if (!/^\d+$/.test(a.migrationPort) || port > 65535)
    return { ok: false, message: `invalid --migration-port '${a.migrationPort}'` };
  if (a.migrationListen === '')
    return { ok: false, message: 'invalid --migration-listen (an address)' };
  const token = a.migrationToken ?? env.XENSIM_MIGRATION_TOKEN;
  if (token?.trim() === '') return { ok: false, message: 'the migration token is empty' };
  return {
    ok: true,
    settings: {
      address: a.migrationListen,
      port,
      ...(token === undefined ? {} : { token: token.trim() }),
    },
  };
}

async function runForeground(
  opts: HostOptions,
  migration: MigrationListenSettings | null,
  io: HostIo,
  deps: HostMainDeps,
): Promise<number> {
  const factory = deps.factory ?? (await loadToolstackFactory(io.env));
  if (typeof factory === 'string') {
    io.stderr.write(`xensim: ${factory}\n`);
    return 1;
  }
  const started = await startHostDaemon(opts, {
    runtimeDir: runtimeDir(io.env),
    factory,
    log: (line) => io.stderr.write(`xensim[${opts.name}]: ${line}\n`),
    nowMs: () => Date.now(),
    migration,
  });
  if (!started.ok) {
    io.stderr.write(`xensim: ${started.message}\n`);
    return 1;
  }
  const { daemon } = started;
  const onSignal = (): void => void daemon.stop();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  deps.onStarted?.(() => daemon.stop());
  await daemon.stopped;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  io.stderr.write(`xensim[${opts.name}]: stopped\n`);
  return 0;
}

async function start(argv: string[], io: HostIo, deps: HostMainDeps): Promise<number> {
  const parsed = parseStart(argv);
  if (!parsed.ok) {
    io.stderr.write(`xensim: ${parsed.message}\n${USAGE}`);
    return 2;
  }
  const built = toHostOptions(parsed.args, io.cwd ?? process.cwd());
  if (!built.ok) {
    io.stderr.write(`xensim: ${built.message}\n`);
    return 2;
  }
  const { opts } = built;
  const mig = toMigrationSettings(parsed.args, io.env);
  if (!mig.ok) {
    io.stderr.write(`xensim: ${mig.message}\n`);
    return 2;
  }
  if (parsed.args.foreground) return runForeground(opts, mig.settings, io, deps);
  const dir = runtimeDir(io.env);
  const pid = readPid(hostPaths(dir, opts.name).pidFile);
  if (pid !== undefined && isProcessAlive(pid)) {
    io.stderr.write(`xensim: host '${opts.name}' is already running (pid ${pid})\n`);
    return 1;
  }
  const spawned = await spawnHostDaemon(
    opts.name,
    [
      '--pcpus',
      String(opts.pcpus),
      '--memory',
      `${opts.memoryMiB}m`,
      '--sched',
      opts.sched,
      '--speed',
      String(opts.speed),
      '--root',
      opts.root,
      ...(mig.settings === null
        ? ['--no-migration']
        : [
            '--migration-listen',
            mig.settings.address ?? '127.0.0.1',
            '--migration-port',
            String(mig.settings.port ?? 0),
          ]),
    ],
    dir,
    // The token travels in the environment, not on a command line `ps` shows.
    mig.settings?.token === undefined
      ? io.env
      : { ...io.env, XENSIM_MIGRATION_TOKEN: mig.settings.token },
  );
  if (!spawned.ok) {
    // The daemon's own log lines already carry their "xensim" prefix.
    io.stderr.write(
      spawned.message.startsWith('xensim')
        ? `${spawned.message}\n`
        : `xensim: ${spawned.message}\n`,
    );
    return 1;
  }
  io.stdout.write(`xensim: host '${opts.name}' started (pid ${spawned.pid})\n`);
  return 0;
}

async function stop(argv: string[], io: HostIo): Promise<number> {
  const name = argv[0] ?? io.env.XENSIM_HOST ?? DEFAULT_HOST_NAME;
  if (!isValidHostName(name)) {
    io.stderr.write(`xensim: invalid host name '${name}'\n`);
    return 2;
  }
  const paths = hostPaths(runtimeDir(io.env), name);
  const pid = readPid(paths.pidFile);
  const socket = await connectSocket(paths.socket);
  if (socket instanceof Error) {
    if (pid !== undefined && isProcessAlive(pid)) {
      process.kill(pid, 'SIGTERM');
      io.stdout.write(`xensim: host '${name}' (pid ${pid}) sent SIGTERM\n`);
      return 0;
    }
    io.stderr.write(`xensim: host '${name}' is not running\n`);
    return 1;
  }
  const client = new ControlClient(socket);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await client.request({ t: 'host', op: 'stop' }).result.catch(() => undefined);
  await closed;
  // The daemon releases its pid lock last; wait for that so `host list` is current.
  for (let i = 0; i < 250 && pid !== undefined && readPid(paths.pidFile) === pid; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  io.stdout.write(`xensim: host '${name}' stopped\n`);
  return 0;
}

/** `xensim host status [NAME]`: the host's record, with where it listens for migrations. */
function status(argv: string[], io: HostIo): number {
  const name = argv[0] ?? io.env.XENSIM_HOST ?? DEFAULT_HOST_NAME;
  if (!isValidHostName(name)) {
    io.stderr.write(`xensim: invalid host name '${name}'\n`);
    return 2;
  }
  const h = listHosts(runtimeDir(io.env)).find((r) => r.name === name);
  if (h === undefined) {
    io.stderr.write(`xensim: host '${name}' is not running\n`);
    return 1;
  }
  const paths = hostPaths(runtimeDir(io.env), name);
  const lines: [string, string][] = [
    ['name', h.name],
    ['pid', String(h.pid)],
    ['pcpus', String(h.pcpus)],
    ['memory', `${h.memoryMiB}M`],
    ['sched', h.sched],
    ['speed', String(h.speed)],
    ['root', h.root],
    ['socket', h.socket],
    ['migration', h.migration ? `${h.migration.address}:${h.migration.port}` : 'off'],
  ];
  if (h.migration && fs.existsSync(paths.migrationTokenFile))
    lines.push(['migration_token_file', paths.migrationTokenFile]);
  for (const [k, v] of lines) io.stdout.write(`${k.padEnd(21)}: ${v}\n`);
  return 0;
}

function list(io: HostIo): number {
  const hosts = listHosts(runtimeDir(io.env));
  io.stdout.write(
    `${'NAME'.padEnd(16)} ${'PID'.padStart(7)} ${'PCPUS'.padStart(5)} ${'MEMORY'.padStart(8)} ${'SCHED'.padEnd(7)} SOCKET\n`,
  );
  for (const h of hosts) {
    io.stdout.write(
      `${h.name.padEnd(16)} ${String(h.pid).padStart(7)} ${String(h.pcpus).padStart(5)} ${`${h.memoryMiB}M`.padStart(8)} ${h.sched.padEnd(7)} ${h.socket}\n`,
    );
  }
  return 0;
}

/** `xensim host ...` (argv after `xensim`; a leading `host` is accepted and skipped). */
export async function hostMain(
  argv: readonly string[],
  io: HostIo,
  deps: HostMainDeps = {},
): Promise<number> {
  const args = argv[0] === 'host' ? argv.slice(1) : [...argv];
  const [verb, ...rest] = args;
  switch (verb) {
    case 'start':
      return start(rest, io, deps);
    case 'stop':
      return stop(rest, io);
    case 'list':
      return list(io);
    case 'status':
      return status(rest, io);
    case undefined:
      io.stderr.write(USAGE);
      return 2;
    default:
      io.stderr.write(`xensim: unknown host command '${verb}'\n${USAGE}`);
      return 2;
  }
}
