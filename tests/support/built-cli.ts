// Shared by the tests that run xensim as a user does (the built `xl`, `xensim`, and the package
// itself): build `dist/` when any source is newer, and run the CLIs in an isolated home, runtime
// directory and data directory so that their host daemon is their own.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../..');
export const xlBin = path.join(root, 'dist/dom0/cli/xl.js');
export const xensimBin = path.join(root, 'dist/dom0/cli/xensim.js');

const SOURCE_DIRS = ['dom0', 'domU', 'hypervisor', 'hypercalls', 'grant-tables'];

function newestSourceMs(dir: string): number {
  let m = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) m = Math.max(m, newestSourceMs(p));
    else if (e.name.endsWith('.ts')) m = Math.max(m, fs.statSync(p).mtimeMs);
  }
  return m;
}

/** Builds dist/ unless every `built` file is newer than every source; throws if one is still missing. */
export function ensureBuilt(built: readonly string[] = [xlBin, xensimBin]): void {
  const newest = Math.max(...SOURCE_DIRS.map((d) => newestSourceMs(path.join(root, d))));
  if (built.some((f) => !fs.existsSync(f) || fs.statSync(f).mtimeMs < newest)) {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  }
  for (const f of built)
    if (!fs.existsSync(f)) throw new Error(`build did not produce ${path.relative(root, f)}`);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a built entry point with `tmp` as home, cwd, runtime directory and data directory. */
export function runIn(tmp: string, bin: string, args: readonly string[]): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: tmp,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: tmp,
      XENSIM_RUNTIME_DIR: path.join(tmp, 'run'),
      XDG_DATA_HOME: path.join(tmp, 'data'),
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
