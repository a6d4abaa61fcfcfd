// A CPU burner: uses the vCPU for `dutyPercent` of every period and sleeps the rest (100 = spin,
// like a `while(1)` loop), optionally for a fixed CPU total, so scheduler weights, caps and pinning
// show up in what the guest gets.

import type { GuestMain, Kernel } from '../kernel-api.js';
import type { KThread } from '../kthread.js';

export interface CpuBurnerOptions {
  /** 1..100; default 100. */
  dutyPercent?: number;
  /** Period of the duty cycle, ns; default 10 ms. */
  periodNs?: number;
  /** Stop after this much CPU (ns); default: never. */
  totalNs?: number;
  /** Progress, for the caller (CPU ns burnt so far). */
  stats?: { burntNs: number };
}

export function* cpuBurn(k: Kernel, opts: CpuBurnerOptions = {}): KThread<number> {
  const duty = Math.min(100, Math.max(1, opts.dutyPercent ?? 100));
  const period = Math.max(1000, opts.periodNs ?? 10_000_000);
  const total = opts.totalNs ?? Infinity;
  const stats = opts.stats ?? { burntNs: 0 };
  const busy = Math.floor((period * duty) / 100);
  while (stats.burntNs < total) {
    const slice = Math.min(busy, total - stats.burntNs);
    const start = k.now();
    yield* k.burn(slice);
    stats.burntNs += slice;
    // Sleep what is left of this period in virtual time (the burst may have been preempted).
    if (duty < 100) {
      const rest = start + period - k.now();
      if (rest > 0) yield* k.sleep(rest);
    }
  }
  return 0;
}

/** `cpu-burner [duty%] [periodMs]` */
export const cpuBurner: GuestMain = function* cpuBurner(k, args) {
  const duty = Number(args[0] ?? 100);
  const periodMs = Number(args[1] ?? 10);
  return yield* cpuBurn(k, {
    dutyPercent: Number.isFinite(duty) ? duty : 100,
    periodNs: Number.isFinite(periodMs) ? periodMs * 1_000_000 : 10_000_000,
  });
};
