import { describe, expect, it } from 'vitest';
import {
  distinctDirtyPages,
  pageDataWireBytes,
  predictPrecopy,
  STATE_RECORDS_BYTES,
} from '../../dom0/migration/precopy-model.js';
import { precopyPolicy } from '../../dom0/migration/precopy-policy.js';
import type { PrecopyPolicy } from '../../dom0/migration/types.js';

const GBIT = 125_000_000; // bytes per second
const N = 16_384; // a 64 MiB guest
const LAT = 100_000; // 100 µs

describe('stream sizes (reference 10.2)', () => {
  it('a PAGE_DATA page costs 4096 data + 8 pfn bytes, plus 16 bytes per record of up to 1024 pages', () => {
    expect(pageDataWireBytes(0)).toBe(0);
    expect(pageDataWireBytes(1)).toBe(4104 + 16);
    expect(pageDataWireBytes(1024)).toBe(1024 * 4104 + 16);
    expect(pageDataWireBytes(1025)).toBe(1025 * 4104 + 32);
  });
  it('the state records after the pages are TSC_INFO (8+24), SHARED_INFO (8+4096) and END (8)', () => {
    expect(STATE_RECORDS_BYTES).toBe(32 + 4104 + 8);
  });
});

describe('the memory dirtier pattern', () => {
  it('dirties min(W, r*t) distinct pages', () => {
    const p = { workingSetPages: 1000, pagesPerSecond: 2000 };
    expect(distinctDirtyPages(p, 250_000_000)).toBe(500);
    expect(distinctDirtyPages(p, 499_999_999)).toBe(999);
    expect(distinctDirtyPages(p, 2_000_000_000)).toBe(1000);
    expect(distinctDirtyPages(null, 1e9)).toBe(0);
  });
});

describe('the analytic pre-copy model', () => {
  it('a slow writer converges: round 1 sends all, round 2 what round 1 dirtied, then < 50 dirty stops', () => {
    const r = predictPrecopy({
      guestPages: N,
      dirty: { workingSetPages: 1024, pagesPerSecond: 1000 },
      bytesPerSecond: GBIT,
      latencyNs: LAT,
      policy: precopyPolicy('xen'),
    });
    const b1 = N * 4104 + 16 * 16;
    const t1 = (b1 / GBIT) * 1e9; // 537.9 ms
    const d1 = Math.floor(t1 / 1e6); // 1000 pages/s: one page a ms
    expect(d1).toBe(537);
    const b2 = d1 * 4104 + 16;
    const t2 = (b2 / GBIT) * 1e9;
    const d2 = Math.floor(t2 / 1e6);
    expect(d2).toBe(17);
    expect(r.rounds.map((x) => [x.round, x.pagesSent, x.dirtyPages, x.final])).toEqual([
      [1, N, d1, false],
      [2, d1, d2, false],
      [3, d2, 0, true],
    ]);
    expect(r.rounds[0]?.durationNs).toBe(Math.round(t1));
    // The stop-and-copy round counts its pages; the state records follow it in the totals.
    expect(r.rounds[2]?.bytes).toBe(d2 * 4104 + 16);
    const b3 = d2 * 4104 + 16 + STATE_RECORDS_BYTES;
    expect(r.totalBytes).toBe(b1 + b2 + b3);
    expect(r.pagesSent).toBe(N + d1 + d2);
    expect(r.downtimeNs).toBe(Math.round((b3 / GBIT) * 1e9 + LAT));
    expect(r.totalNs).toBe(Math.round(t1 + t2 + (b3 / GBIT) * 1e9 + LAT));
    expect(r.downtimeNs).toBeLessThan(1_000_000); // under a millisecond
  });

  it('a writer faster than the link never converges: Xen stops at the round limit with a long downtime', () => {
    const W = 8192; // 32 MiB working set written at 400 MB/s over a 125 MB/s link
    const r = predictPrecopy({
      guestPages: N,
      dirty: { workingSetPages: W, pagesPerSecond: 100_000 },
      bytesPerSecond: GBIT,
      latencyNs: LAT,
      policy: precopyPolicy('xen'),
    });
    expect(r.liveRounds).toBe(5);
    expect(r.rounds.slice(0, 5).map((x) => x.dirtyPages)).toEqual([W, W, W, W, W]);
    expect(r.rounds.slice(1).map((x) => x.pagesSent)).toEqual([W, W, W, W, W]);
    const finalBytes = pageDataWireBytes(W) + STATE_RECORDS_BYTES;
    expect(r.downtimeNs).toBe(Math.round((finalBytes / GBIT) * 1e9 + LAT));
    expect(r.downtimeNs).toBeGreaterThan(250_000_000); // a quarter of a second stopped
  });

  it("the legacy policy's 3x rule stops a non-converging writer at round 6, before its 29-round limit", () => {
    const W = N / 2;
    const r = predictPrecopy({
      guestPages: N,
      dirty: { workingSetPages: W, pagesPerSecond: 100_000 },
      bytesPerSecond: GBIT,
      latencyNs: LAT,
      policy: precopyPolicy('legacy'),
    });
    // After round 5 exactly 3x was sent (16384 + 4 * 8192): not more, so it goes on once more.
    expect(r.rounds.slice(0, 5).reduce((n, x) => n + x.pagesSent, 0)).toBe(3 * N);
    expect(r.liveRounds).toBe(6);
    expect(r.rounds.at(-1)?.pagesSent).toBe(W);
  });

  it('an idle guest under the legacy policy takes a second, empty live round (< 50 sent stops it)', () => {
    const r = predictPrecopy({
      guestPages: N,
      dirty: null,
      bytesPerSecond: GBIT,
      latencyNs: LAT,
      policy: precopyPolicy('legacy'),
    });
    expect(r.rounds.map((x) => x.pagesSent)).toEqual([N, 0, 0]);
    expect(r.downtimeNs).toBe(Math.round((STATE_RECORDS_BYTES / GBIT) * 1e9 + LAT));
  });

  it('the guest dirties on during the suspend handshake, and the extra commit trips add latency', () => {
    const base = {
      guestPages: N,
      dirty: { workingSetPages: 1024, pagesPerSecond: 1000 },
      bytesPerSecond: GBIT,
      latencyNs: LAT,
      policy: precopyPolicy('xen'),
    };
    const a = predictPrecopy(base);
    const b = predictPrecopy({ ...base, suspendNs: 20_000_000, commitTrips: 3 });
    expect(b.rounds.at(-1)?.pagesSent).toBe((a.rounds.at(-1)?.pagesSent ?? 0) + 20);
    expect(b.downtimeNs - a.downtimeNs).toBe(Math.round(2 * LAT + ((20 * 4104) / GBIT) * 1e9));
    // The setup's headers and handshake trips come before round 1: time and bytes, not downtime.
    const c = predictPrecopy({ ...base, headerBytes: 125_000, setupTrips: 2 });
    expect(c.totalNs - a.totalNs).toBe(1_000_000 + 2 * LAT);
    expect(c.totalBytes - a.totalBytes).toBe(125_000);
    expect(c.downtimeNs).toBe(a.downtimeNs);
  });

  it('a non-live save sends every page once with the guest stopped', () => {
    const r = predictPrecopy({
      guestPages: N,
      dirty: { workingSetPages: 1024, pagesPerSecond: 1000 },
      bytesPerSecond: GBIT,
      latencyNs: LAT,
      policy: precopyPolicy('xen'),
      live: false,
    });
    expect(r.rounds).toHaveLength(1);
    expect(r.rounds[0]?.pagesSent).toBe(N);
    expect(r.downtimeNs).toBe(r.totalNs);
  });

  it('throws on a policy that never stops rather than looping', () => {
    const never: PrecopyPolicy = { name: 'xen', decide: () => 'continue' };
    expect(() =>
      predictPrecopy({
        guestPages: 10,
        dirty: null,
        bytesPerSecond: GBIT,
        latencyNs: 0,
        policy: never,
      }),
    ).toThrow(/did not stop/);
  });
});
