// User-written guest programs: the shape a module exports and the check that turns an imported
// module object into a runnable program. The import itself happens in dom0 or the CLI (domU has no
// filesystem); built-in workloads are looked up by name the same way.

import type { GuestMain } from './kernel-api.js';
import { cpuBurner } from './workloads/cpu-burner.js';
import { diskReader, diskWriter } from './workloads/disk-io.js';
import { idle } from './workloads/idle.js';
import { memoryDirtier } from './workloads/memory-dirtier.js';
import { bulkRecvTool, bulkSendTool, echoServerTool, pingTool } from './workloads/net-tools.js';

/**
 * What a guest program module exports:
 *
 *   import type { GuestModule } from 'xensim/domU';
 *   export default function* main(k, args) { k.print('hello\n'); yield* k.sleep(1e9); return 0; }
 *
 * `default` is a generator function (k: Kernel, args: string[]) => KThread<number | void>.
 */
export interface GuestModule {
  default: GuestMain;
  /** Optional name for traces and `xl list`-like output. */
  name?: string;
}

export type LoadResult = { ok: true; name: string; main: GuestMain } | { ok: false; error: string };

/** The constructor of every `function*` (not a global name in JavaScript). */
const GeneratorFunction = (
  Object.getPrototypeOf(function* () {
    /* empty */
  }) as { constructor: unknown }
).constructor;

/** Checks an imported module object; never throws. */
export function loadGuestModule(mod: unknown, fallbackName = 'guest'): LoadResult {
  if (typeof mod !== 'object' || mod === null)
    return { ok: false, error: 'module is not an object' };
  const m = mod as Record<string, unknown>;
  const main = m.default;
  if (typeof main !== 'function') {
    return {
      ok: false,
      error: 'module has no default export function (export default function* main(k) {...})',
    };
  }
  if (!(main instanceof (GeneratorFunction as new () => unknown))) {
    return {
      ok: false,
      error:
        'default export must be a generator function (function*): guest code yields, it does not await',
    };
  }
  const name = typeof m.name === 'string' && m.name !== '' ? m.name : main.name || fallbackName;
  return { ok: true, name, main: main as GuestMain };
}

/** Built-in workloads by name (for a command line such as `workload=cpu-burner 50`). */
export const BUILTIN_WORKLOADS: Readonly<Record<string, GuestMain>> = {
  idle,
  'cpu-burner': cpuBurner,
  'memory-dirtier': memoryDirtier,
  'disk-writer': diskWriter,
  'disk-reader': diskReader,
  ping: pingTool,
  'echo-server': echoServerTool,
  'bulk-send': bulkSendTool,
  'bulk-recv': bulkRecvTool,
};

/** A built-in by name, as a loaded program. */
export function builtinWorkload(name: string): LoadResult {
  const main = BUILTIN_WORKLOADS[name];
  return main
    ? { ok: true, name, main }
    : { ok: false, error: `unknown workload ${JSON.stringify(name)}` };
}
