// Property tests run from a fixed seed so that every run of the suite (and CI) is reproducible, as
// every simulation is. `FC_SEED=<n>` replays a seed fast-check printed; `FC_SEED=random` explores
// new sequences (fast-check then prints the seed of any failure).

import fc from 'fast-check';

const raw = process.env.FC_SEED;
if (raw !== 'random') {
  const seed = raw === undefined || raw === '' ? 20261122 : Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer or "random", got ${raw}`);
  fc.configureGlobal({ seed });
}
