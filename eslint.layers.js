// Layer and determinism rules of docs/architecture.md, kept apart from eslint.config.js so that
// tests/lint/layers.test.ts can prove each rule fires on a violating file.

/** Folders whose code must be deterministic: no wall clock, no ambient randomness, no timers. */
export const CORE_FOLDERS = ['hypervisor', 'grant-tables', 'hypercalls', 'domU'];

/** The one file allowed to wire layers together (architecture section 2). */
export const COMPOSITION_ROOT = 'dom0/host/compose.ts';

const nodeBuiltins = [
  'node:*',
  'fs',
  'path',
  'os',
  'net',
  'crypto',
  'child_process',
  'timers',
  'process',
  'perf_hooks',
];

const layer = (folder, banned, message) => ({
  files: [`${folder}/**/*.ts`],
  ignores: [COMPOSITION_ROOT],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: banned.map((name) => ({
          group: [`**/${name}`, `**/${name}/**`, name, `${name}/**`],
          message,
        })),
      },
    ],
  },
});

const determinismGlobals = [
  { name: 'Date', message: 'Core code uses virtual time (engine.now), never the wall clock.' },
  { name: 'setTimeout', message: 'Core code schedules engine events (engine.at), never timers.' },
  { name: 'setInterval', message: 'Core code schedules engine events (engine.at), never timers.' },
  { name: 'setImmediate', message: 'Core code schedules engine events (engine.at), never timers.' },
  { name: 'clearTimeout', message: 'Core code schedules engine events, never timers.' },
  { name: 'clearInterval', message: 'Core code schedules engine events, never timers.' },
  { name: 'queueMicrotask', message: 'Core code schedules engine events, never microtasks.' },
  {
    name: 'process',
    message: 'Core code is pure: inject what it needs instead of reading process.',
  },
  { name: 'performance', message: 'Core code uses virtual time, never performance.now().' },
];

/** @type {import('eslint').Linter.Config[]} */
export const layerConfigs = [
  {
    files: ['hypercalls/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...nodeBuiltins, 'xstate', 'msgpackr', 'yargs'],
              message: 'hypercalls/ is the public ABI and imports nothing outside itself.',
            },
            {
              regex: '^(\\.\\./)+(hypervisor|dom0|domU|grant-tables|tests)(/|$)',
              message: 'hypercalls/ is the public ABI and imports nothing outside itself.',
            },
          ],
        },
      ],
    },
  },
  layer(
    'domU',
    ['hypervisor', 'dom0', 'grant-tables'],
    'domU/ imports only hypercalls/ and itself.',
  ),
  layer(
    'dom0',
    ['hypervisor', 'domU', 'grant-tables'],
    'dom0/ imports only hypercalls/ and itself (the composition root excepted).',
  ),
  layer(
    'hypervisor',
    ['dom0', 'domU', 'grant-tables'],
    'hypervisor/ imports only hypercalls/ and itself; grant tables are wired in by the composition root.',
  ),
  layer(
    'grant-tables',
    ['dom0', 'domU'],
    'grant-tables/ imports only hypercalls/, hypervisor/ and itself.',
  ),
  {
    files: CORE_FOLDERS.map((f) => `${f}/**/*.ts`),
    rules: {
      'no-restricted-globals': ['error', ...determinismGlobals],
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: 'Use the engine PRNG (a named sub-stream), never Math.random.',
        },
        {
          object: 'performance',
          property: 'now',
          message: 'Core code uses virtual time, never performance.now().',
        },
        {
          object: 'Date',
          property: 'now',
          message: 'Core code uses virtual time, never Date.now().',
        },
        {
          object: 'globalThis',
          property: 'setTimeout',
          message: 'Core code schedules engine events, never timers.',
        },
        {
          object: 'globalThis',
          property: 'process',
          message: 'Core code is pure: inject what it needs.',
        },
      ],
    },
  },
];
