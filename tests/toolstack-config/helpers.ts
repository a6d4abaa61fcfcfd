// Shared test helpers for the xl configuration front.

import type { ConfigResult, RandomSource } from '../../dom0/toolstack/config/index.js';
import { formatDiagnostic } from '../../dom0/toolstack/config/index.js';

/** A tiny deterministic random source (xorshift32), standing in for a seeded engine stream. */
export function seeded(seed = 1): RandomSource {
  let x = seed >>> 0 || 1;
  return {
    nextU32(): number {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x;
    },
  };
}

/** The value of an ok result; fails the test with the printed diagnostics otherwise. */
export function expectOk<T>(r: ConfigResult<T>): T {
  if (!r.ok) throw new Error(`expected ok, got:\n${r.errors.map(formatDiagnostic).join('\n')}`);
  return r.value;
}

/** The diagnostics of a failed result; fails the test if it succeeded. */
export function expectErrors<T>(r: ConfigResult<T>): ConfigResult<T> & { ok: false } {
  if (r.ok) throw new Error('expected errors, got ok');
  return r;
}
