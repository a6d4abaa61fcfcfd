// What every xl command gets: its streams, the global flags, the toolstack connection and
// find_domain (tools/xl/xl.c globals, tools/xl/xl_utils.c find_domain).

import type { ToolstackApi } from '../toolstack/api.js';
import { ToolstackError } from '../toolstack/api.js';

export interface Writer {
  write(s: string | Uint8Array): unknown;
}

/** The input side: a readable stream, a terminal if it has setRawMode. */
export type XlStdin = NodeJS.ReadableStream & {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
};

export interface XlIo {
  readonly stdout: Writer;
  readonly stderr: Writer;
  readonly stdin: XlStdin;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory relative file arguments resolve against (default: process.cwd()). */
  readonly cwd?: string;
  /** A toolstack to use instead of connecting to a host daemon (in-process use, tests). */
  readonly toolstack?: ToolstackApi;
}

/** The global options before the subcommand (xl.c main: getopt "+vftNT"). */
export interface GlobalFlags {
  readonly verbose: number;
  readonly dryRun: boolean;
  readonly force: boolean;
  /** -t: progress with carriage returns. */
  readonly progressCr: boolean;
  readonly timestamps: boolean;
}

/** Thrown where xl calls exit(): unwinds to xlMain, which returns the code. */
export class XlExit extends Error {
  readonly code: number;

  constructor(code: number) {
    super(`exit ${code}`);
    this.name = 'XlExit';
    this.code = code;
  }
}

export interface XlContext {
  readonly io: XlIo;
  readonly flags: GlobalFlags;
  readonly cwd: string;
  out(s: string): void;
  err(s: string): void;
  /** The toolstack of the selected host (connecting, and auto-starting, on first use). */
  api(): Promise<ToolstackApi>;
  /** find_domain: a domid or a name; prints xl's message and exits 1 if there is none. */
  findDomain(qualifier: string): Promise<number>;
  /** Prints usage for a command, as xl's help(). */
  help(command: string): void;
}

/** libxl_domain_qualifier_to_domid: all digits is a domid (unchecked), else a name. */
export async function resolveDomain(
  api: ToolstackApi,
  qualifier: string,
): Promise<number | undefined> {
  if (/^\d+$/.test(qualifier)) return Number.parseInt(qualifier, 10);
  const domains = await api.listDomains();
  return domains.find((d) => d.name === qualifier)?.domid;
}

/** Prints a ToolstackError's libxl message (if any) to stderr. */
export function reportToolstackError(ctx: XlContext, e: unknown): ToolstackError {
  if (!(e instanceof ToolstackError)) throw e;
  if (e.message !== '') ctx.err(e.message.endsWith('\n') ? e.message : `${e.message}\n`);
  return e;
}
