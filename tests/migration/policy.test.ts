import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DOWNTIME_TARGET_MS,
  precopyPolicy,
  predictedStopCopyNs,
} from '../../dom0/migration/precopy-policy.js';
import { pageDataWireBytes } from '../../dom0/migration/precopy-model.js';
import type { PrecopyRoundState } from '../../dom0/migration/types.js';

const state = (o: Partial<PrecopyRoundState>): PrecopyRoundState => ({
  round: 2,
  pagesSentThisRound: 1000,
  dirtyPages: 1000,
  pagesSentTotal: 20_000,
  guestPages: 16_384,
  roundDurationNs: 1_000_000,
  bytesPerSecond: 125_000_000,
  ...o,
});

describe("'xen': simple_precopy_policy (xg_sr_save.c)", () => {
  const p = precopyPolicy('xen');
  it('is named xen', () => expect(p.name).toBe('xen'));
  it('stops when fewer than 50 pages are dirty (SPP_TARGET_DIRTY_COUNT), continues at exactly 50', () => {
    expect(p.decide(state({ dirtyPages: 49 }))).toBe('stop-and-copy');
    expect(p.decide(state({ dirtyPages: 0 }))).toBe('stop-and-copy');
    expect(p.decide(state({ dirtyPages: 50 }))).toBe('continue');
  });
  it('stops after round 5 (SPP_MAX_ITERATIONS) however much is dirty, not after round 4', () => {
    expect(p.decide(state({ round: 4, dirtyPages: 100_000 }))).toBe('continue');
    expect(p.decide(state({ round: 5, dirtyPages: 100_000 }))).toBe('stop-and-copy');
  });
  it('ignores the total sent (no 3x rule since Xen 4.6)', () => {
    expect(p.decide(state({ pagesSentTotal: 10 * 16_384 }))).toBe('continue');
  });
});

describe("'legacy': xc_domain_save (Xen <= 4.5)", () => {
  const p = precopyPolicy('legacy');
  it('goes on past round 5 while pages keep coming', () => {
    expect(p.decide(state({ round: 5 }))).toBe('continue');
    expect(p.decide(state({ round: 28 }))).toBe('continue');
  });
  it('stops after round 29 (max_iters): the stop-and-copy is the 30th round', () => {
    expect(p.decide(state({ round: 29 }))).toBe('stop-and-copy');
  });
  it('stops when the round sent fewer than 50 pages (sent_this_iter < 50), whatever is dirty now', () => {
    expect(p.decide(state({ pagesSentThisRound: 49, dirtyPages: 5000 }))).toBe('stop-and-copy');
    expect(p.decide(state({ pagesSentThisRound: 50, dirtyPages: 10 }))).toBe('continue');
  });
  it('stops once more than 3x the p2m size was sent (total_sent > p2m_size * max_factor)', () => {
    expect(p.decide(state({ pagesSentTotal: 3 * 16_384 }))).toBe('continue');
    expect(p.decide(state({ pagesSentTotal: 3 * 16_384 + 1 }))).toBe('stop-and-copy');
  });
});

describe("'downtime': a stop-and-copy time target", () => {
  it('defaults to 300 ms', () => expect(DEFAULT_DOWNTIME_TARGET_MS).toBe(300));

  it('predicts the stop-and-copy from the wire bytes of the dirty pages at the measured rate', () => {
    expect(predictedStopCopyNs(1024, 4_202_512)).toBe(1e9); // 1024 * 4104 + one 16-byte header
    expect(pageDataWireBytes(1024)).toBe(4_202_512);
    expect(predictedStopCopyNs(0, 0)).toBe(0);
    expect(predictedStopCopyNs(1, 0)).toBe(Infinity);
    expect(predictedStopCopyNs(1, NaN)).toBe(Infinity);
    expect(predictedStopCopyNs(1, Infinity)).toBe(0); // a round that took no time
  });

  it('stops when the prediction is at or under the target, continues above it', () => {
    // 100 ms of pages at 125 MB/s: 12.5 MB.
    const p = precopyPolicy('downtime', { downtimeTargetMs: 100 });
    const bps = 125_000_000;
    const atTarget = 3045; // pageDataWireBytes(3045) = 12 496 728 bytes <= 12.5 MB
    expect(pageDataWireBytes(atTarget)).toBeLessThanOrEqual(bps / 10);
    expect(pageDataWireBytes(atTarget + 1)).toBeGreaterThan(bps / 10);
    expect(p.decide(state({ dirtyPages: atTarget, bytesPerSecond: bps }))).toBe('stop-and-copy');
    expect(p.decide(state({ dirtyPages: atTarget + 1, bytesPerSecond: bps }))).toBe('continue');
  });

  it('a slower measured link makes the same dirty set too slow to stop on', () => {
    const p = precopyPolicy('downtime');
    const d = state({ dirtyPages: 5000 }); // 20.5 MB: 164 ms at 125 MB/s, 1.6 s at 12.5 MB/s
    expect(p.decide(d)).toBe('stop-and-copy');
    expect(p.decide({ ...d, bytesPerSecond: 12_500_000 })).toBe('continue');
  });

  it('always terminates: round 29 stops even when the target is out of reach', () => {
    const p = precopyPolicy('downtime', { downtimeTargetMs: 0 });
    expect(p.decide(state({ round: 28, dirtyPages: 1 }))).toBe('continue');
    expect(p.decide(state({ round: 29, dirtyPages: 1e6 }))).toBe('stop-and-copy');
    expect(p.decide(state({ round: 3, dirtyPages: 0 }))).toBe('stop-and-copy');
  });

  it('refuses a negative or non-finite target', () => {
    expect(() => precopyPolicy('downtime', { downtimeTargetMs: -1 })).toThrow(RangeError);
    expect(() => precopyPolicy('downtime', { downtimeTargetMs: NaN })).toThrow(RangeError);
  });
});
