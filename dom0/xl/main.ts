// The `xl` command: global options, command lookup and dispatch (tools/xl/xl.c main).

import { ToolstackError } from '../toolstack/api.js';
import type { ToolstackApi } from '../toolstack/api.js';
import { commandHelp, parseCommandArgs } from './command-spec.js';
import { COMMANDS, fullHelp, lookupCommand } from './command-table.js';
import { connectHost, selectedHost } from './connect.js';
import { resolveDomain, XlExit } from './context.js';
import type { GlobalFlags, XlContext, XlIo } from './context.js';

export type { XlIo } from './context.js';

interface GlobalParse {
  flags: GlobalFlags;
  host: string | undefined;
  rest: string[];
}

/** getopt("+vftNT") over the words before the subcommand, plus xensim's `--host NAME`. */
function parseGlobals(argv: readonly string[]): GlobalParse | { error: string } {
  let verbose = 0;
  let dryRun = false;
  let force = false;
  let progressCr = false;
  let timestamps = false;
  let host: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') {
      i++;
      break;
    }
    if (a === '--host' || a.startsWith('--host=')) {
      host = a === '--host' ? argv[++i] : a.slice('--host='.length);
      if (host === undefined) return { error: 'unknown global option' };
      continue;
    }
    if (!a.startsWith('-') || a === '-') break;
    for (const c of a.slice(1)) {
      if (c === 'v') verbose++;
      else if (c === 'N') dryRun = true;
      else if (c === 'f') force = true;
      else if (c === 't') progressCr = true;
      else if (c === 'T') timestamps = true;
      else return { error: 'unknown global option' };
    }
  }
  return { flags: { verbose, dryRun, force, progressCr, timestamps }, host, rest: argv.slice(i) };
}

function write(w: XlIo['stdout'], s: string): void {
  if (s !== '') w.write(s);
}

/** Runs xl with `argv` (the words after `xl`); resolves with the exit code. */
export async function xlMain(argv: readonly string[], io: XlIo): Promise<number> {
  const globals = parseGlobals(argv);
  if ('error' in globals) {
    write(io.stderr, `${globals.error}\n`);
    return 1;
  }
  const [cmd, ...cmdArgs] = globals.rest;
  if (cmd === undefined) {
    write(io.stdout, fullHelp());
    return 1;
  }
  const helpFor = (name: string | undefined): void => {
    if (name === undefined || name === 'help') {
      write(io.stdout, fullHelp());
      return;
    }
    const found = lookupCommand(name);
    write(
      io.stdout,
      found.kind === 'found' ? commandHelp(found.spec) : `command "${name}" not implemented\n`,
    );
  };
  const found = lookupCommand(cmd);
  if (found.kind !== 'found') {
    if (cmd === 'help') {
      helpFor(cmdArgs[0]);
      return 0;
    }
    write(io.stderr, 'command not implemented\n');
    if (found.kind === 'ambiguous') {
      // DEVIATION(xen): xl says only "command not implemented"; we also name the candidates.
      write(io.stderr, `xl: '${cmd}' is ambiguous: ${found.candidates.join(', ')}\n`);
    }
    return 1;
  }
  const spec = found.spec;
  if (globals.flags.dryRun && !spec.canDryRun) {
    write(io.stderr, 'command does not implement -N (dryrun) option\n');
    return 1;
  }

  let connected: ToolstackApi | undefined = io.toolstack;
  let closeConnection: (() => void) | undefined;
  const ctx: XlContext = {
    io,
    flags: globals.flags,
    cwd: io.cwd ?? process.cwd(),
    out: (s) => write(io.stdout, s),
    err: (s) => write(io.stderr, s),
    help: (name) => helpFor(name),
    async api() {
      if (connected !== undefined) return connected;
      const c = await connectHost(selectedHost(globals.host, io.env), io.env);
      if (!c.ok) {
        write(io.stderr, `${c.message}\n`);
        throw new XlExit(1);
      }
      connected = c.api;
      closeConnection = () => c.api.client.close();
      return connected;
    },
    async findDomain(q) {
      const domid = await resolveDomain(await ctx.api(), q);
      if (domid === undefined) {
        write(io.stderr, `${q} is an invalid domain identifier (rc=-6)\n`);
        throw new XlExit(1);
      }
      return domid;
    },
  };

  const parsed = parseCommandArgs(spec, cmdArgs);
  if (parsed.kind === 'help') {
    helpFor(spec.name);
    return 0;
  }
  if (parsed.kind === 'error') {
    write(io.stderr, parsed.message);
    return parsed.code;
  }
  if (parsed.args.positionals.length < spec.minArgs) {
    write(
      io.stderr,
      `'xl ${spec.name}' requires at least ${spec.minArgs} argument${spec.minArgs > 1 ? 's' : ''}.\n\n`,
    );
    helpFor(spec.name);
    return 2;
  }
  try {
    return await spec.run(ctx, parsed.args);
  } catch (e) {
    if (e instanceof XlExit) return e.code;
    if (e instanceof ToolstackError) {
      // A call xl does not check individually (e.g. listing domains) failed.
      if (e.message !== '') write(io.stderr, `${e.message}\n`);
      return 1;
    }
    write(io.stderr, `xl: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  } finally {
    closeConnection?.();
  }
}

/** The command names, for completion and docs. */
export const XL_COMMAND_NAMES: readonly string[] = COMMANDS.map((c) => c.name);
