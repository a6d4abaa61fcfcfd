// `xl console`: the terminal side of a domain console, detaching on Ctrl-] (0x1d) as
// xenconsole does (tools/console/client/main.c).

import type { ToolstackApi } from '../toolstack/api.js';
import { reportToolstackError } from './context.js';
import type { XlContext } from './context.js';

/** The escape byte: Ctrl-]. */
export const CONSOLE_ESCAPE = 0x1d;

/**
 * Attaches stdin/stdout to a domain console until Ctrl-] is typed, stdin ends, or the console
 * goes away. Returns xl's exit code.
 */
export async function runConsole(
  ctx: XlContext,
  api: ToolstackApi,
  domid: number,
): Promise<number> {
  let stream;
  try {
    stream = await api.consoleAttach(domid);
  } catch (e) {
    reportToolstackError(ctx, e);
    return 1;
  }
  const { stdin, stdout } = ctx.io;
  const raw = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  if (raw) stdin.setRawMode?.(true);
  const console_ = stream;
  await new Promise<void>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      stdin.off('data', onInput);
      stdin.off('end', onEnd);
      stopOutput();
      console_.close();
      resolve();
    };
    const onInput = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const esc = bytes.indexOf(CONSOLE_ESCAPE);
      if (esc < 0) {
        console_.write(bytes);
        return;
      }
      if (esc > 0) console_.write(bytes.subarray(0, esc));
      finish();
    };
    const onEnd = (): void => finish();
    const stopOutput = console_.onData((bytes) => stdout.write(bytes));
    console_.onClose(finish);
    stdin.on('data', onInput);
    stdin.on('end', onEnd);
    stdin.resume();
  });
  if (raw) stdin.setRawMode?.(false);
  stdin.pause();
  return 0;
}
