// xl.create: `xl create` of a minimal guest, from command start to the guest running, measured as a
// user sees it (the built xl talking to a host daemon). The limit is the wall time of starting a
// bare Node process in the same run, the floor any CLI command pays.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, type Bench } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const xlBin = path.resolve(here, '../../dom0/cli/xl.js');
const xensimBin = path.resolve(here, '../../dom0/cli/xensim.js');

function timed(
  args: string[],
  env: NodeJS.ProcessEnv,
): { ms: number; status: number | null; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8', timeout: 60_000 });
  return { ms: performance.now() - t0, status: r.status, stderr: r.stderr };
}

export const benches: Bench[] = [
  {
    name: 'xl.create',
    unit: 'ms',
    better: 'lower',
    // No target in the issue: report the median; the ratio says how many bare process starts it costs.
    target: 20,
    run() {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-bench-'));
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: tmp,
        XENSIM_RUNTIME_DIR: path.join(tmp, 'run'),
        XDG_DATA_HOME: path.join(tmp, 'data'),
      };
      try {
        const cfg = path.join(tmp, 'mini.cfg');
        fs.writeFileSync(cfg, 'kernel = "/boot/vmlinuz-xensim-pv"\nmemory = 32\n');
        // Start the host first so that the figure is create itself, not the daemon's start.
        const warm = timed([xlBin, 'list'], env);
        if (warm.status !== 0) throw new Error(`xl list failed: ${warm.stderr}`);
        const creates: number[] = [];
        for (let i = 0; i < 7; i++) {
          const r = timed([xlBin, 'create', cfg, `name="mini${i}"`], env);
          if (r.status !== 0) throw new Error(`xl create failed: ${r.stderr}`);
          creates.push(r.ms);
        }
        const bare: number[] = [];
        for (let i = 0; i < 7; i++) bare.push(timed(['-e', ''], env).ms);
        return {
          value: median(creates),
          limit: median(bare),
          limitName: 'wall time to start a bare `node -e ""` process, same run',
          extra: { createMsAll: creates.map((x) => Math.round(x)).join(' ') },
        };
      } finally {
        spawnSync(process.execPath, [xensimBin, 'host', 'stop'], { env });
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
  },
];
