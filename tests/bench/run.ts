// `npm run bench [-- NAME…]`: runs every benchmark file (`*.bench.js` beside this one once built), each
// figure in a fresh child process so that one figure's heap and JIT state cannot skew another's.

import { fork } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { toLine, type Bench } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));

async function loadAll(): Promise<Map<string, { file: string; bench: Bench }>> {
  const out = new Map<string, { file: string; bench: Bench }>();
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.bench.js'))
    .sort();
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(here, f)).href)) as { benches?: Bench[] };
    for (const b of mod.benches ?? []) out.set(b.name, { file: f, bench: b });
  }
  return out;
}

async function runOne(name: string): Promise<void> {
  const all = await loadAll();
  const entry = all.get(name);
  if (!entry) throw new Error(`no benchmark named ${name}`);
  const result = await entry.bench.run();
  process.stdout.write(JSON.stringify(toLine(entry.bench, result)) + '\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--one' && args[1]) return runOne(args[1]);
  const all = await loadAll();
  if (args[0] === '--list') {
    for (const n of all.keys()) process.stdout.write(n + '\n');
    return;
  }
  const unknown = args.filter(
    (a) => !all.has(a) && ![...all.keys()].some((n) => n.startsWith(a + '.')),
  );
  if (unknown.length) {
    process.stderr.write(
      `unknown benchmark(s): ${unknown.join(', ')}; known: ${[...all.keys()].join(', ')}\n`,
    );
    process.exitCode = 2;
    return;
  }
  // A name selects that figure; a prefix (`sched`) selects its family.
  const names = args.length
    ? [...all.keys()].filter((n) => args.some((a) => n === a || n.startsWith(a + '.')))
    : [...all.keys()];
  let failed = 0;
  for (const n of names) {
    const code = await new Promise<number>((resolve) => {
      const child = fork(fileURLToPath(import.meta.url), ['--one', n], {
        stdio: 'inherit',
        execArgv: ['--expose-gc'],
      });
      child.on('exit', (c) => resolve(c ?? 1));
    });
    if (code !== 0) {
      failed++;
      process.stderr.write(`benchmark ${n} exited with code ${code}\n`);
    }
  }
  if (failed) process.exitCode = 1;
}

await main();
