// The shape of an xl command and its option parsing (tools/xl/xl.h struct cmd_spec,
// tools/xl/xl_utils.c def_getopt), parsed with yargs.

import yargs from 'yargs';
import type { XlContext } from './context.js';

export interface OptionSpec {
  /** A flag, or an option that takes a value. */
  readonly type: 'boolean' | 'string';
  /** Long names (`--dryrun`). */
  readonly long?: readonly string[];
  /** May be given more than once (counted), like shutdown -w -w. */
  readonly count?: boolean;
}

export interface ParsedArgs {
  /** Options by their short letter: true/false, a count, or the string value. */
  readonly opts: Readonly<Record<string, boolean | string | number | undefined>>;
  readonly positionals: readonly string[];
}

export interface CommandSpec {
  readonly name: string;
  /** cmd_desc */
  readonly desc: string;
  /** cmd_usage */
  readonly usage: string;
  /** cmd_option (help text), if any. */
  readonly optionHelp?: string;
  /** Whether it changes state (shows -f in help). */
  readonly modifies: boolean;
  readonly canDryRun: boolean;
  /** Required positional arguments (def_getopt reqargs). */
  readonly minArgs: number;
  /** Options by short letter. */
  readonly options: Readonly<Record<string, OptionSpec>>;
  run(ctx: XlContext, args: ParsedArgs): Promise<number>;
}

export type ParseOutcome =
  | { readonly kind: 'ok'; readonly args: ParsedArgs }
  | { readonly kind: 'help' }
  | { readonly kind: 'error'; readonly message: string; readonly code: number };

/** Rejects options the command does not have, in getopt's terms, before yargs sees them. */
function findUnsupported(spec: CommandSpec, argv: readonly string[]): string | undefined {
  const longNames = new Map<string, string>();
  for (const [short, o] of Object.entries(spec.options))
    for (const l of o.long ?? []) longNames.set(l, short);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') break;
    if (a.startsWith('--')) {
      const name = a.slice(2).split('=')[0] ?? '';
      if (name === 'help') continue;
      const short = longNames.get(name);
      if (short === undefined) return name;
      if (spec.options[short]?.type === 'string' && !a.includes('=')) i++;
      continue;
    }
    if (!a.startsWith('-') || a === '-') continue;
    // A cluster of short options: flags, then possibly one that takes the rest or the next word.
    for (let j = 1; j < a.length; j++) {
      const letter = a.charAt(j);
      if (letter === 'h') continue;
      const o = spec.options[letter];
      if (o === undefined) return letter;
      if (o.type === 'string') {
        if (j === a.length - 1) {
          if (i + 1 >= argv.length) return letter;
          i++;
        }
        break;
      }
    }
  }
  return undefined;
}

/** Parses a command's arguments (argv after the command name). */
export function parseCommandArgs(spec: CommandSpec, argv: readonly string[]): ParseOutcome {
  const bad = findUnsupported(spec, argv);
  if (bad !== undefined)
    return { kind: 'error', message: `option \`${bad}' not supported.\n`, code: 2 };
  let parser = yargs([...argv])
    .parserConfiguration({
      'camel-case-expansion': false,
      'parse-numbers': false,
      'parse-positional-numbers': false,
      'boolean-negation': false,
      'dot-notation': false,
      'duplicate-arguments-array': false,
      'flatten-duplicate-arrays': true,
      'strip-aliased': true,
    })
    .help(false)
    .version(false)
    .exitProcess(false)
    .option('h', { type: 'boolean', alias: ['help'] });
  for (const [short, o] of Object.entries(spec.options)) {
    parser = parser.option(short, {
      type: o.count === true ? 'count' : o.type,
      alias: [...(o.long ?? [])],
    });
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = parser
      .fail((msg: string | null, err: Error | null) => {
        throw new Error(msg ?? err?.message ?? 'bad arguments');
      })
      .parseSync();
  } catch (e) {
    return { kind: 'error', message: `${(e as Error).message}\n`, code: 2 };
  }
  if (parsed.h === true) return { kind: 'help' };
  const opts: Record<string, boolean | string | number | undefined> = {};
  for (const short of Object.keys(spec.options)) {
    const v = parsed[short];
    opts[short] = Array.isArray(v)
      ? (v[v.length - 1] as string)
      : (v as boolean | string | number | undefined);
  }
  const rest = (parsed._ as unknown[]).map(String);
  const dashDash = (parsed['--'] as unknown[] | undefined)?.map(String) ?? [];
  return { kind: 'ok', args: { opts, positionals: [...rest, ...dashDash] } };
}

/** The help text of one command (xl.c help()). */
export function commandHelp(spec: CommandSpec): string {
  let s = `Usage: xl [-vtT${spec.modifies ? 'f' : ''}${spec.canDryRun ? 'N' : ''}] ${spec.name} ${spec.usage}\n\n${spec.desc}.\n\n`;
  if (spec.optionHelp !== undefined) s += `Options:\n\n${spec.optionHelp}\n`;
  return s;
}
