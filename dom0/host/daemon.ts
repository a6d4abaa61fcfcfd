// The host daemon: one simulated Xen host per OS process, serving its toolstack on a private
// control socket (the role xl + libxl play on a real dom0; architecture section 7).

import * as fs from 'node:fs';
import * as net from 'node:net';
import { ToolstackError } from '../toolstack/api.js';
import type { MigrateApi, ToolstackApi } from '../toolstack/api.js';
import { serveConnection } from './control-server.js';
import { generateToken, writeTokenFile } from './migration-auth.js';
import { migrationHost } from './migration-host.js';
import type { MigrationCapable } from './migration-host.js';
import { DEFAULT_MIGRATION_ADDRESS, startMigrationListener } from './migration-listener.js';
import type { MigrationListener } from './migration-listener.js';
import { migrateOut } from './migration-outgoing.js';
import {
  acquireHostLock,
  ensureRuntimeDir,
  hostPaths,
  socketPathProblem,
  writeHostRecord,
} from './runtime-dir.js';
import type { HostPaths, HostRecord } from './runtime-dir.js';

/** What one simulated host is made of (`xensim host start` options). */
export interface HostOptions {
  readonly name: string;
  readonly pcpus: number;
  readonly memoryMiB: number;
  readonly sched: 'credit' | 'credit2';
  /** Virtual time per wall time (1 = real time). */
  readonly speed: number;
  /** dom0's filesystem root: relative paths in configs and save files live under it. */
  readonly root: string;
}

/**
 * A toolstack the daemon hosts; `close` (if present) is called when the host stops. With
 * migrateSend/migrateReceive and its engine clock it can migrate domains to and from other hosts.
 */
export type HostedToolstack = ToolstackApi & MigrationCapable & { close?(): Promise<void> };

/** The migration listener of a host (`xensim host start --migration-*`). */
export interface MigrationListenSettings {
  /** Default 127.0.0.1. */
  readonly address?: string;
  /** Default 0: a free port, recorded in the host record. */
  readonly port?: number;
  /** The shared token; default a fresh random one. Either way stored 0600 in the runtime dir. */
  readonly token?: string;
  /** How long a client may take to authenticate (tests shorten it). */
  readonly authTimeoutMs?: number;
}

/** Builds the toolstack of one host. The composition root provides the real one. */
export type ToolstackFactory = (opts: HostOptions) => HostedToolstack | Promise<HostedToolstack>;

export interface HostDaemon {
  readonly paths: HostPaths;
  readonly record: HostRecord;
  /** Resolves once the daemon has stopped (after `stop()` or a client's stop request). */
  readonly stopped: Promise<void>;
  stop(): Promise<void>;
}

export type StartResult = { ok: true; daemon: HostDaemon } | { ok: false; message: string };

export interface DaemonDeps {
  readonly runtimeDir: string;
  readonly factory: ToolstackFactory;
  readonly log: (line: string) => void;
  /** Wall clock for the host record (injected so tests can pin it). */
  readonly nowMs: () => number;
  /** The migration listener; null: none. Default: loopback, a free port, a generated token. */
  readonly migration?: MigrationListenSettings | null;
}

/** `xl migrate` for this host: migrateOut over the toolstack's migration side, if it has one. */
function migrateApi(toolstack: HostedToolstack, open: Set<net.Socket>): MigrateApi {
  const host = migrationHost(toolstack);
  return {
    migrate: (req, onEvent) =>
      typeof host === 'string'
        ? Promise.reject(new ToolstackError('NI', `migration sender: ${host}`))
        : migrateOut(host, toolstack, req, onEvent, open),
  };
}

/** Opens the migration listener and stores its token; a message if it cannot. */
async function listenForMigrations(
  toolstack: HostedToolstack,
  settings: MigrationListenSettings,
  paths: HostPaths,
  log: (line: string) => void,
): Promise<MigrationListener | string> {
  const token = settings.token ?? generateToken();
  const r = await startMigrationListener(
    migrationHost(toolstack),
    {
      address: settings.address ?? DEFAULT_MIGRATION_ADDRESS,
      port: settings.port ?? 0,
      token,
      ...(settings.authTimeoutMs === undefined ? {} : { authTimeoutMs: settings.authTimeoutMs }),
    },
    log,
  );
  if (!r.ok) return r.message;
  try {
    writeTokenFile(paths.migrationTokenFile, token);
  } catch (e) {
    await r.listener.close();
    return `cannot store the migration token in ${paths.migrationTokenFile}: ${(e as Error).message}`;
  }
  return r.listener;
}

function listen(server: net.Server, socketPath: string): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const onError = (e: Error): void => resolve(e);
    server.once('error', onError);
    // umask keeps the socket private from the moment it exists; chmod below makes sure.
    const previous = process.umask(0o177);
    server.listen(socketPath, () => {
      process.umask(previous);
      server.off('error', onError);
      resolve(undefined);
    });
  });
}

/** Starts a host: takes its lock, builds its toolstack, opens the control socket (0600). */
export async function startHostDaemon(opts: HostOptions, deps: DaemonDeps): Promise<StartResult> {
  const paths = hostPaths(deps.runtimeDir, opts.name);
  const tooLong = socketPathProblem(paths.socket);
  if (tooLong !== undefined) return { ok: false, message: tooLong };
  try {
    ensureRuntimeDir(deps.runtimeDir);
  } catch (e) {
    return { ok: false, message: `cannot create ${deps.runtimeDir}: ${(e as Error).message}` };
  }
  const lock = acquireHostLock(paths, opts.name, process.pid);
  if (!lock.ok) return { ok: false, message: lock.message };

  let toolstack: HostedToolstack;
  try {
    toolstack = await deps.factory(opts);
  } catch (e) {
    lock.release();
    return { ok: false, message: `cannot build host '${opts.name}': ${(e as Error).message}` };
  }

  let migration: MigrationListener | undefined;
  if (deps.migration !== null) {
    const l = await listenForMigrations(toolstack, deps.migration ?? {}, paths, deps.log);
    if (typeof l === 'string') {
      await toolstack.close?.();
      lock.release();
      return { ok: false, message: l };
    }
    migration = l;
  }
  const closeMigration = async (): Promise<void> => {
    await migration?.close();
    if (migration) fs.rmSync(paths.migrationTokenFile, { force: true });
  };

  // We hold the lock, so a socket file left behind is a dead daemon's.
  fs.rmSync(paths.socket, { force: true });
  const sockets = new Set<net.Socket>();
  const outgoing = new Set<net.Socket>();
  const migrate = migrateApi(toolstack, outgoing);
  const record: HostRecord = {
    name: opts.name,
    pid: process.pid,
    pcpus: opts.pcpus,
    memoryMiB: opts.memoryMiB,
    sched: opts.sched,
    speed: opts.speed,
    root: opts.root,
    socket: paths.socket,
    startedAtMs: deps.nowMs(),
    ...(migration ? { migration: { address: migration.address, port: migration.port } } : {}),
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveConnection(socket, toolstack, {
      onStopRequest: () => requestStop(),
      hostRecord: () => record,
      log: deps.log,
      migration: migrate,
    });
  });
  server.on('error', (e) => deps.log(`control socket error: ${e.message}`));
  const listenError = await listen(server, paths.socket);
  if (listenError !== undefined) {
    await closeMigration();
    await toolstack.close?.();
    lock.release();
    return { ok: false, message: `cannot listen on ${paths.socket}: ${listenError.message}` };
  }
  fs.chmodSync(paths.socket, 0o600);
  writeHostRecord(paths, record);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      for (const s of outgoing) s.destroy();
      await closeMigration();
      try {
        await toolstack.close?.();
      } catch (e) {
        deps.log(`toolstack close failed: ${(e as Error).message}`);
      }
      fs.rmSync(paths.socket, { force: true });
      fs.rmSync(paths.infoFile, { force: true });
      lock.release();
    })();
    return stopping;
  };
  let markStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    markStopped = resolve;
  });
  function requestStop(): void {
    // Let the reply to the stop request flush before the sockets go.
    setImmediate(() => void stop().then(markStopped));
  }
  const daemon: HostDaemon = {
    paths,
    record,
    stopped,
    stop: () => stop().then(markStopped),
  };
  deps.log(`host '${opts.name}' listening on ${paths.socket} (pid ${process.pid})`);
  if (migration)
    deps.log(`host '${opts.name}' accepts migrations on ${migration.address}:${migration.port}`);
  return { ok: true, daemon };
}
