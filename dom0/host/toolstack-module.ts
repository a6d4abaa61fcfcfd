// Finds the toolstack a daemon process hosts: the composition root's `createToolstack`
// (dom0/host/compose.ts, built next to this file) or the module named by $XENSIM_TOOLSTACK_MODULE.

import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ToolstackFactory } from './daemon.js';
import type { Env } from './runtime-dir.js';

/** The export a toolstack module provides. */
export const TOOLSTACK_EXPORT = 'createToolstack';

/** Loads the factory, or returns why it cannot (a message for the user). */
export async function loadToolstackFactory(env: Env): Promise<ToolstackFactory | string> {
  const explicit = env.XENSIM_TOOLSTACK_MODULE;
  const url =
    explicit !== undefined && explicit !== ''
      ? pathToFileURL(path.resolve(explicit)).href
      : new URL('./compose.js', import.meta.url).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    return `no toolstack to run: cannot load ${url} (${(e as Error).message})`;
  }
  const factory = mod[TOOLSTACK_EXPORT];
  if (typeof factory !== 'function') return `${url} does not export ${TOOLSTACK_EXPORT}()`;
  return factory as ToolstackFactory;
}
