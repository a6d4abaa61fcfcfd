// Every ```js example in docs/scripting.md runs as a user would run it (a Node module importing
// 'xensim', i.e. the built package) and must print exactly the ```text block that follows it.

import { spawnSync } from 'node:child_process';
import { ensureBuilt, root } from '../support/built-cli.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const guide = fs.readFileSync(path.join(root, 'docs/scripting.md'), 'utf8');
// Inside the package, so that `import 'xensim'` resolves to this package (Node self-reference).
const work = path.join(root, 'tests/.tmp-docs');

interface Example {
  code: string;
  expected: string;
  title: string;
}

function examples(): Example[] {
  const out: Example[] = [];
  const re = /^## (.*)$|^```js\n([\s\S]*?)^```\n\n```text\n([\s\S]*?)^```$/gm;
  let title = '';
  for (let m = re.exec(guide); m; m = re.exec(guide)) {
    if (m[1] !== undefined) title = m[1];
    else out.push({ title, code: m[2] ?? '', expected: m[3] ?? '' });
  }
  return out;
}

beforeAll(() => {
  fs.mkdirSync(work, { recursive: true });
  // The examples import the built package.
  ensureBuilt([path.join(root, 'dist/dom0/index.js')]);
}, 120_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('docs/scripting.md', () => {
  const list = examples();
  it('has runnable examples', () => {
    expect(list.length).toBeGreaterThanOrEqual(3);
  });
  it.each(list.map((e, i) => [i + 1, e.title, e] as const))(
    'example %i (%s) prints what the guide says',
    (i, _t, ex) => {
      const file = path.join(work, `example-${i}.mjs`);
      fs.writeFileSync(file, ex.code);
      const r = spawnSync(process.execPath, [file], {
        cwd: work,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(ex.expected);
    },
  );
});
