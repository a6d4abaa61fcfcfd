// Runs xlMain in-process against a ToolstackApi and captures what it prints.

import { PassThrough } from 'node:stream';
import type { ToolstackApi } from '../../dom0/toolstack/api.js';
import { xlMain } from '../../dom0/xl/main.js';

export interface XlRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function captureIo(
  env: Record<string, string | undefined>,
  toolstack?: ToolstackApi,
  stdin: PassThrough = new PassThrough(),
  cwd?: string,
): { io: Parameters<typeof xlMain>[1]; result: () => { stdout: string; stderr: string } } {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) => ({
    write(s: string | Uint8Array) {
      append(typeof s === 'string' ? s : Buffer.from(s).toString('latin1'));
      return true;
    },
  });
  const io = {
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    stdin,
    env,
    ...(cwd === undefined ? {} : { cwd }),
    ...(toolstack === undefined ? {} : { toolstack }),
  };
  return { io, result: () => ({ stdout, stderr }) };
}

export async function runXl(
  toolstack: ToolstackApi | undefined,
  argv: string[],
  opts: { env?: Record<string, string | undefined>; stdin?: PassThrough; cwd?: string } = {},
): Promise<XlRun> {
  const { io, result } = captureIo(opts.env ?? {}, toolstack, opts.stdin, opts.cwd);
  const code = await xlMain(argv, io);
  return { code, ...result() };
}
