// `xl top`: a live screen of the host and its domains, refreshed like xentop
// (tools/xentop/xentop.c: -d delay, -i iterations, -b batch; q quits).

import type { XlContext } from './context.js';
import { formatTopScreen, localHms, takeSample } from './format-top.js';
import type { TopSample } from './format-top.js';

const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export interface TopOptions {
  readonly delayS: number;
  /** Stop after this many screens (undefined: until q). */
  readonly iterations?: number;
  /** Batch mode: no screen clearing, screens one after another. */
  readonly batch: boolean;
}

export async function runTop(ctx: XlContext, opts: TopOptions): Promise<number> {
  const api = await ctx.api();
  const { stdin } = ctx.io;
  const interactive = !opts.batch && stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  let quit = false;
  let wake: (() => void) | undefined;
  const onKey = (chunk: Buffer | string): void => {
    const s = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    if (s.includes('q') || s.includes('Q') || s.includes('\u0003')) {
      quit = true;
      wake?.();
    }
  };
  if (interactive) {
    stdin.setRawMode?.(true);
    stdin.on('data', onKey);
    stdin.resume();
  }
  let prev: TopSample | undefined;
  try {
    for (let n = 0; !quit && (opts.iterations === undefined || n < opts.iterations); n++) {
      if (n > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, opts.delayS * 1000);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        if (quit) break;
      }
      const [info, domains] = await Promise.all([api.info(), api.listDomains()]);
      const sorted = [...domains].sort((a, b) => a.domid - b.domid);
      const screen = formatTopScreen(info, sorted, prev, localHms(info.nowMs));
      ctx.out(opts.batch ? screen : CLEAR_SCREEN + screen);
      prev = takeSample(info, sorted);
    }
  } finally {
    if (interactive) {
      stdin.off('data', onKey);
      stdin.setRawMode?.(false);
      stdin.pause();
    }
  }
  return 0;
}
