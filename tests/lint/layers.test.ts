// Proves each layer and determinism rule of eslint.layers.js fires on a violating file, and stays
// quiet on a conforming one (docs/architecture.md, "Layers").

import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { fileURLToPath } from 'node:url';
import { layerConfigs, COMPOSITION_ROOT } from '../../eslint.layers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({
  cwd: root,
  overrideConfigFile: true,
  overrideConfig: [
    { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
    ...layerConfigs,
  ],
});

async function ruleIds(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? `fatal: ${m.message}`);
}

describe('layer rules', () => {
  it.each([
    ['hypercalls/x.ts', "import { Engine } from '../hypervisor/engine/engine.js';"],
    ['hypercalls/io/x.ts', "import { Engine } from '../../hypervisor/engine/engine.js';"],
    ['hypercalls/x.ts', "import { readFileSync } from 'node:fs';"],
    ['hypercalls/x.ts', "import { createMachine } from 'xstate';"],
    ['domU/x.ts', "import { Engine } from '../hypervisor/engine/engine.js';"],
    ['domU/net/x.ts', "import { x } from '../../dom0/toolstack/x.js';"],
    ['domU/x.ts', "import { x } from '../grant-tables/x.js';"],
    ['dom0/x.ts', "import { Engine } from '../hypervisor/engine/engine.js';"],
    ['dom0/xenstored/x.ts', "import { x } from '../../domU/kernel.js';"],
    ['dom0/x.ts', "import { x } from '../grant-tables/table.js';"],
    ['hypervisor/x.ts', "import { x } from '../dom0/x.js';"],
    ['hypervisor/sched/x.ts', "import { x } from '../../grant-tables/x.js';"],
    ['grant-tables/x.ts', "import { x } from '../domU/x.js';"],
  ])('%s may not %s', async (file, code) => {
    expect(await ruleIds(file, code)).toContain('no-restricted-imports');
  });

  it.each([
    ['hypercalls/io/blkif.ts', "import { PAGE_SIZE } from '../types.js';"],
    ['domU/kernel.ts', "import { DOMID_SELF } from '../hypercalls/xen.js';"],
    ['dom0/xenstored/store.ts', "import { XEN_EINVAL } from '../../hypercalls/errno.js';"],
    ['dom0/x.ts', "import { readFileSync } from 'node:fs';"],
    ['hypervisor/x.ts', "import { ok } from '../hypercalls/errno.js';"],
    ['grant-tables/x.ts', "import { Engine } from '../hypervisor/engine/engine.js';"],
    [COMPOSITION_ROOT, "import { Engine } from '../../hypervisor/engine/engine.js';"],
  ])('%s may %s', async (file, code) => {
    expect(await ruleIds(file, code)).toEqual([]);
  });
});

describe('determinism rules in core folders', () => {
  const violations: [string, string][] = [
    ['Date.now()', 'export const t = Date.now();'],
    ['new Date()', 'export const t = new Date();'],
    ['Math.random()', 'export const r = Math.random();'],
    ['performance.now()', 'export const t = performance.now();'],
    ['setTimeout', 'setTimeout(() => undefined, 1);'],
    ['setInterval', 'setInterval(() => undefined, 1);'],
    ['setImmediate', 'setImmediate(() => undefined);'],
    ['process', 'export const e = process.env.X;'],
  ];
  for (const folder of ['hypervisor', 'grant-tables', 'hypercalls', 'domU']) {
    it.each(violations)(`${folder}/ bans %s`, async (_name, code) => {
      const ids = await ruleIds(`${folder}/x.ts`, code);
      expect(
        ids.some((id) => id === 'no-restricted-globals' || id === 'no-restricted-properties'),
      ).toBe(true);
    });
  }

  it('dom0/ (the I/O shell) may read the wall clock and use timers', async () => {
    expect(
      await ruleIds('dom0/host/daemon.ts', 'setTimeout(() => undefined, Date.now() % 10);'),
    ).toEqual([]);
  });

  it('core code may use Math for arithmetic', async () => {
    expect(
      await ruleIds('hypervisor/x.ts', 'export const m = Math.max(1, Math.floor(2.5));'),
    ).toEqual([]);
  });
});
