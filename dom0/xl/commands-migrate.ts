// `xl migrate` (tools/xl/xl_migrate.c main_migrate, xl_cmdtable.c): asks this host's daemon to
// send a domain to another host daemon's migration listener and prints xl's lines as it goes.
// DEVIATION(xen): no `ssh <host> xl migrate-receive`: the target daemon's authenticated TCP
// listener stands for it, so `-s` does not exist and `xl migrate-receive` is not a command.

import { ToolstackError } from '../toolstack/api.js';
import type { MigrateApi, MigrateEvent, ToolstackApi } from '../toolstack/api.js';
import type { MigrationProgress } from '../migration/types.js';
import { readTokenFile } from '../host/migration-auth.js';
import { hostPaths, isValidHostName, listHosts, runtimeDir } from '../host/runtime-dir.js';
import type { Env } from '../host/runtime-dir.js';
import type { CommandSpec } from './command-spec.js';
import { reportToolstackError } from './context.js';
import type { XlContext } from './context.js';

/** The port a target named without one listens on: xend's relocation port (xend-config.sxp). */
export const DEFAULT_MIGRATION_PORT = 8002;

export interface MigrationTarget {
  readonly address: string;
  readonly port: number;
  readonly token: string;
}

export type TargetResult =
  | { readonly ok: true; readonly target: MigrationTarget }
  | { readonly ok: false; readonly message: string };

/** `host`, `host:port`, `[v6]:port`: the address and the port if given. */
function splitHostPort(spec: string): { host: string; port: number | undefined } | undefined {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec) ?? /^([^:]+)(?::(\d+))?$/.exec(spec);
  if (m === null) return /^[0-9a-fA-F:]+$/.test(spec) ? { host: spec, port: undefined } : undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { host: m[1] ?? '', port };
}

/** A wildcard bind address is reached on loopback. */
function connectable(address: string): string {
  if (address === '0.0.0.0' || address === '') return '127.0.0.1';
  if (address === '::') return '::1';
  return address;
}

/**
 * Where `<host>[:port]` listens and with which token. A bare name of a host daemon running on
 * this machine (`xensim host list`) means that daemon: its recorded listener and token file.
 * Otherwise it is a network address (port 8002 unless given) and the token is `--token`, else
 * $XENSIM_MIGRATION_TOKEN.
 */
export function resolveMigrationTarget(
  spec: string,
  env: Env,
  tokenOption: string | undefined,
): TargetResult {
  const hp = splitHostPort(spec);
  if (hp === undefined) return { ok: false, message: `xl migrate: invalid target host '${spec}'` };
  const envToken = env.XENSIM_MIGRATION_TOKEN;
  if (hp.port === undefined && isValidHostName(hp.host)) {
    const dir = runtimeDir(env);
    const local = listHosts(dir).find((h) => h.name === hp.host);
    if (local !== undefined) {
      if (local.migration === undefined)
        return {
          ok: false,
          message: `xl migrate: host '${hp.host}' does not accept migrations (started with --no-migration)`,
        };
      const token = tokenOption ?? readTokenFile(hostPaths(dir, hp.host).migrationTokenFile);
      if (token === undefined)
        return {
          ok: false,
          message: `xl migrate: no migration token for host '${hp.host}': give --token`,
        };
      return {
        ok: true,
        target: {
          address: connectable(local.migration.address),
          port: local.migration.port,
          token,
        },
      };
    }
  }
  const token = tokenOption ?? (envToken !== undefined && envToken !== '' ? envToken : undefined);
  if (token === undefined)
    return {
      ok: false,
      message: `xl migrate: no migration token for ${spec}: give --token or set XENSIM_MIGRATION_TOKEN`,
    };
  return {
    ok: true,
    target: { address: hp.host, port: hp.port ?? DEFAULT_MIGRATION_PORT, token },
  };
}

function isMigrateApi(api: ToolstackApi): api is ToolstackApi & MigrateApi {
  return typeof (api as Partial<MigrateApi>).migrate === 'function';
}

const MiB = 1024 * 1024;

/** One progress figure as a line (DEVIATION(xen): xl hides libxc's progress while migrating). */
export function progressLine(p: MigrationProgress): string {
  const what = p.phase === 'stop-and-copy' ? 'stop-and-copy' : `round ${p.round}`;
  return `migration sender: ${what}: ${p.pagesSent}/${p.pagesTotal} pages sent, ${p.dirtyPages} dirty, ${(p.bytesOnWire / MiB).toFixed(1)} MB on the wire`;
}

/**
 * Prints events: lines as they come; progress one line per round (its last figure), or, with
 * the global -t, one line rewritten in place with carriage returns.
 */
export function migrateDisplay(ctx: XlContext): {
  event(e: MigrateEvent): void;
  end(): void;
  readonly printedLines: boolean;
} {
  let pending: MigrationProgress | undefined;
  let printedLines = false;
  let crOpen = false;
  const key = (p: MigrationProgress): string => `${p.phase}:${p.round}`;
  const flush = (): void => {
    if (crOpen) ctx.err('\n');
    else if (pending !== undefined) ctx.err(`${progressLine(pending)}\n`);
    crOpen = false;
    pending = undefined;
  };
  return {
    event(e) {
      if (e.kind === 'message') {
        flush();
        ctx.err(`${e.text}\n`);
        printedLines = true;
        return;
      }
      const p = e.progress;
      if (p.phase !== 'precopy' && p.phase !== 'stop-and-copy') return;
      if (pending !== undefined && key(pending) !== key(p)) flush();
      pending = p;
      if (ctx.flags.progressCr) {
        ctx.err(`\r${progressLine(p)}`);
        crOpen = true;
      }
    },
    end: flush,
    get printedLines() {
      return printedLines;
    },
  };
}

export const migrate: CommandSpec = {
  name: 'migrate',
  desc: 'Migrate a domain to another host',
  usage: '[options] <Domain> <host>[:port]',
  optionHelp:
    '-h              Print this help.\n' +
    '-e              Do not wait in the background (on <host>) for the death\n' +
    '                of the domain.\n' +
    '--debug         Verify transferred domU page data.\n' +
    '-p              Do not unpause domain after migrating it.\n' +
    "--token <T>     The target host daemon's migration token (default: the token file\n" +
    '                of a host daemon of that name on this machine, else\n' +
    '                $XENSIM_MIGRATION_TOKEN).',
  modifies: true,
  canDryRun: false,
  minArgs: 2,
  options: {
    e: { type: 'boolean' },
    p: { type: 'boolean' },
    F: { type: 'boolean' },
    debugFlag: { type: 'boolean', long: ['debug'] },
    liveFlag: { type: 'boolean', long: ['live'] },
    tokenOption: { type: 'string', long: ['token'] },
  },
  async run(ctx, a) {
    const [dom = '', hostSpec = '', ...extra] = a.positionals;
    if (extra.length > 0) {
      ctx.help('migrate');
      return 2;
    }
    const domid = await ctx.findDomain(dom);
    const tokenOpt = typeof a.opts.tokenOption === 'string' ? a.opts.tokenOption : undefined;
    const resolved = resolveMigrationTarget(hostSpec, ctx.io.env, tokenOpt);
    if (!resolved.ok) {
      ctx.err(`${resolved.message}\n`);
      return 1;
    }
    const api = await ctx.api();
    if (!isMigrateApi(api)) {
      ctx.err('xl migrate: this toolstack cannot migrate domains\n');
      return 1;
    }
    const display = migrateDisplay(ctx);
    try {
      const r = await api.migrate(
        {
          domid,
          address: resolved.target.address,
          port: resolved.target.port,
          token: resolved.target.token,
          target: hostSpec,
          leavePaused: a.opts.p === true,
          noMonitor: a.opts.e === true,
          debug: a.opts.debugFlag === true,
        },
        (e) => display.event(e),
      );
      display.end();
      if (ctx.flags.verbose > 0) {
        const s = r.stats;
        ctx.err(
          `migration sender: ${s.rounds.length} rounds, ${s.pagesSent} pages, ${(s.bytesOnWire / MiB).toFixed(1)} MB, downtime ${(s.downtimeNs / 1e6).toFixed(1)} ms, target domid ${s.targetDomid}\n`,
        );
      }
      return 0;
    } catch (e) {
      display.end();
      // The daemon reports xl's failure lines as events; a failure before any is said here.
      if (!display.printedLines || (e instanceof ToolstackError && e.message.startsWith('xl: ')))
        reportToolstackError(ctx, e);
      return 1;
    }
  },
};
