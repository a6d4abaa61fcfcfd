// Where host daemons keep their control sockets, pid locks and logs: a per-user runtime
// directory, like xenstored's /var/run/xenstored and xl's /var/lock/xl (tools/hotplug, xl.conf).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_HOST_NAME = 'default';

/** Longest Unix socket path Linux accepts (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * `$XENSIM_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/xensim`, else `<tmpdir>/xensim-<uid>`.
 */
export function runtimeDir(env: Env): string {
  const explicit = env.XENSIM_RUNTIME_DIR;
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg !== undefined && xdg !== '') return path.join(xdg, 'xensim');
  return path.join(os.tmpdir(), `xensim-${os.userInfo().uid}`);
}

/** A host name is a file-name-safe word. */
export function isValidHostName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name);
}

export interface HostPaths {
  readonly dir: string;
  readonly socket: string;
  readonly pidFile: string;
  readonly infoFile: string;
  readonly logFile: string;
  /** The shared token the host's migration listener requires (0600). */
  readonly migrationTokenFile: string;
}

export function hostPaths(dir: string, name: string): HostPaths {
  return {
    dir,
    socket: path.join(dir, `${name}.sock`),
    pidFile: path.join(dir, `${name}.pid`),
    infoFile: path.join(dir, `${name}.json`),
    logFile: path.join(dir, `${name}.log`),
    migrationTokenFile: path.join(dir, `${name}.migration-token`),
  };
}

/** Checks a socket path fits sun_path; returns the problem in words, or undefined. */
export function socketPathProblem(socket: string): string | undefined {
  const bytes = Buffer.byteLength(socket);
  return bytes > MAX_SOCKET_PATH_BYTES
    ? `control socket path ${socket} is ${bytes} bytes, longer than the ${MAX_SOCKET_PATH_BYTES} a Unix socket allows; set XENSIM_RUNTIME_DIR to a shorter directory`
    : undefined;
}

/** Creates the directory private to this user (0700). */
export function ensureRuntimeDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid recorded in a pid file, or undefined if absent or unreadable. */
export function readPid(pidFile: string): number | undefined {
  try {
    const n = Number.parseInt(fs.readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export type LockResult =
  | { readonly ok: true; release(): void }
  | { readonly ok: false; readonly pid: number | undefined; readonly message: string };

/**
 * Takes the host's pid lock: creates the pid file exclusively; a pid file whose process is gone
 * is stale and replaced. A live one means the host is already running.
 */
export function acquireHostLock(paths: HostPaths, name: string, pid: number): LockResult {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(paths.pidFile, `${pid}\n`, { flag: 'wx', mode: 0o600 });
      return {
        ok: true,
        release: () => {
          if (readPid(paths.pidFile) === pid) fs.rmSync(paths.pidFile, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        return {
          ok: false,
          pid: undefined,
          message: `cannot create ${paths.pidFile}: ${(e as Error).message}`,
        };
      }
      const holder = readPid(paths.pidFile);
      if (holder !== undefined && isProcessAlive(holder)) {
        return {
          ok: false,
          pid: holder,
          message: `host '${name}' is already running (pid ${holder}, lock ${paths.pidFile})`,
        };
      }
      // Stale (or half-written by a starter that died): remove and retry.
      fs.rmSync(paths.pidFile, { force: true });
    }
  }
  return { ok: false, pid: undefined, message: `cannot take the lock ${paths.pidFile}` };
}

/** What `xensim host list` shows about one host; written by the daemon at start. */
export interface HostRecord {
  readonly name: string;
  readonly pid: number;
  readonly pcpus: number;
  readonly memoryMiB: number;
  readonly sched: string;
  readonly speed: number;
  readonly root: string;
  readonly socket: string;
  readonly startedAtMs: number;
  /** Where the host listens for migrations (absent: it does not). */
  readonly migration?: { readonly address: string; readonly port: number };
}

function parseHostRecord(text: string): HostRecord | undefined {
  try {
    const v = JSON.parse(text) as Partial<HostRecord>;
    if (typeof v.name === 'string' && typeof v.pid === 'number' && typeof v.socket === 'string')
      return v as HostRecord;
  } catch {
    // A half-written record reads as absent.
  }
  return undefined;
}

export function writeHostRecord(paths: HostPaths, record: HostRecord): void {
  fs.writeFileSync(paths.infoFile, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
}

/** Running hosts in the directory (stale records are skipped), sorted by name. */
export function listHosts(dir: string): HostRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: HostRecord[] = [];
  for (const file of names) {
    if (!file.endsWith('.pid')) continue;
    const name = file.slice(0, -'.pid'.length);
    const paths = hostPaths(dir, name);
    const pid = readPid(paths.pidFile);
    if (pid === undefined || !isProcessAlive(pid)) continue;
    let record: HostRecord | undefined;
    try {
      record = parseHostRecord(fs.readFileSync(paths.infoFile, 'utf8'));
    } catch {
      record = undefined;
    }
    if (record?.pid === pid) out.push(record);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
