// Starting a host daemon in the background and waiting until its control socket answers
// (xensim's counterpart of xl's daemonize step, tools/xl/xl_utils.c do_daemonize).

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connectSocket } from './control-client.js';
import { ensureRuntimeDir, hostPaths, socketPathProblem } from './runtime-dir.js';
import type { Env } from './runtime-dir.js';

/** The built daemon entry next to this file (dist/dom0/host/daemon-entry.js), or $XENSIM_DAEMON_ENTRY. */
export function daemonEntryPath(env: Env): string {
  const explicit = env.XENSIM_DAEMON_ENTRY;
  if (explicit !== undefined && explicit !== '') return explicit;
  return fileURLToPath(new URL('./daemon-entry.js', import.meta.url));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Tries the socket until it accepts a connection or `timeoutMs` passes. */
export async function waitForSocket(
  socketPath: string,
  timeoutMs: number,
  exited: () => boolean,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = await connectSocket(socketPath);
    if (!(s instanceof Error)) {
      s.destroy();
      return true;
    }
    if (exited()) return false;
    await sleep(40);
  }
  return false;
}

export type SpawnResult = { ok: true; pid: number } | { ok: false; message: string };

/**
 * Spawns `node <entry> --name NAME <args>` detached, output to the host's log file, and waits
 * for its control socket. A daemon that exits first (e.g. the host already runs) is reported
 * with the tail of its log.
 */
export async function spawnHostDaemon(
  name: string,
  args: readonly string[],
  runtimeDir: string,
  env: Env,
  timeoutMs = 15_000,
): Promise<SpawnResult> {
  const entry = daemonEntryPath(env);
  if (!fs.existsSync(entry)) {
    return {
      ok: false,
      message: `cannot start host '${name}': daemon entry ${entry} not found (build with npx tsc -p tsconfig.build.json)`,
    };
  }
  const paths = hostPaths(runtimeDir, name);
  const tooLong = socketPathProblem(paths.socket);
  if (tooLong !== undefined) return { ok: false, message: tooLong };
  ensureRuntimeDir(runtimeDir);
  const logStart = fs.existsSync(paths.logFile) ? fs.statSync(paths.logFile).size : 0;
  const log = fs.openSync(paths.logFile, 'a', 0o600);
  const child = spawn(process.execPath, [entry, '--name', name, ...args], {
    detached: true,
    // Not the caller's directory: the daemon outlives it.
    cwd: runtimeDir,
    stdio: ['ignore', log, log],
    env: { ...env, XENSIM_RUNTIME_DIR: runtimeDir },
  });
  fs.closeSync(log);
  let exitCode: number | null | undefined;
  child.once('exit', (code) => {
    exitCode = code;
  });
  child.once('error', () => {
    exitCode = -1;
  });
  child.unref();
  const up = await waitForSocket(paths.socket, timeoutMs, () => exitCode !== undefined);
  if (up && child.pid !== undefined) return { ok: true, pid: child.pid };
  let tail = '';
  try {
    tail = fs.readFileSync(paths.logFile, 'utf8').slice(logStart).trim();
  } catch {
    tail = '';
  }
  if (exitCode === undefined && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  return {
    ok: false,
    message:
      tail !== ''
        ? tail
        : `host '${name}' did not open its control socket within ${timeoutMs} ms (log: ${paths.logFile})`,
  };
}
