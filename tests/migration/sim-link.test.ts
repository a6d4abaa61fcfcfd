import { describe, expect, it } from 'vitest';
import { Engine } from '../../hypervisor/engine/engine.js';
import { simLink } from '../../dom0/migration/sim-link.js';
import { runOp, type Op } from '../../dom0/toolstack/task.js';
import type { Dom0Clock } from '../../dom0/toolstack/platform.js';
import type { MigrationChannel } from '../../dom0/migration/types.js';

function clockOf(e: Engine): Dom0Clock {
  return {
    now: () => e.now,
    at: (t, fn) => e.at(Math.max(t, e.now), fn),
    cancel: (id) => void e.cancel(id),
    epochS: 0,
  };
}

/** 1 MB/s: a byte is a µs on the wire. */
const MBPS = 1_000_000;
const LAT = 50_000;

function recorder(ch: MigrationChannel, e: Engine) {
  const got: { t: number; n: number; first: number }[] = [];
  const closes: { t: number; reason: string | null }[] = [];
  ch.onData((c) => got.push({ t: e.now, n: c.length, first: c[0] ?? -1 }));
  ch.onClose((reason) => closes.push({ t: e.now, reason }));
  return { got, closes };
}

describe('the in-process migration link', () => {
  it('serializes chunks on the sender direction and delivers each latencyNs after it left', () => {
    const e = new Engine({ trace: false });
    const [a, b] = simLink(clockOf(e), { bytesPerSecond: MBPS, latencyNs: LAT });
    const rb = recorder(b, e);
    const left: number[] = [];
    function* sender(): Op<void> {
      yield a.send(new Uint8Array(1000).fill(1));
      left.push(e.now);
      yield a.send(new Uint8Array(500).fill(2));
      left.push(e.now);
    }
    runOp(clockOf(e), sender());
    e.runUntilIdle();
    expect(left).toEqual([1_000_000, 1_500_000]);
    expect(rb.got).toEqual([
      { t: 1_000_000 + LAT, n: 1000, first: 1 },
      { t: 1_500_000 + LAT, n: 500, first: 2 },
    ]);
    expect(a.bytesSent).toBe(1500);
    expect(b.bytesSent).toBe(0);
  });

  it('queues chunks sent back to back: the second leaves after the first, not at once', () => {
    const e = new Engine({ trace: false });
    const [a, b] = simLink(clockOf(e), { bytesPerSecond: MBPS, latencyNs: LAT });
    const rb = recorder(b, e);
    const resumed: number[] = [];
    a.send(new Uint8Array(100))(() => resumed.push(e.now));
    a.send(new Uint8Array(100))(() => resumed.push(e.now));
    e.runUntilIdle();
    expect(resumed).toEqual([100_000, 200_000]);
    expect(rb.got.map((g) => g.t)).toEqual([100_000 + LAT, 200_000 + LAT]);
  });

  it('the two directions are independent', () => {
    const e = new Engine({ trace: false });
    const [a, b] = simLink(clockOf(e), { bytesPerSecond: MBPS, latencyNs: LAT });
    const ra = recorder(a, e);
    const rb = recorder(b, e);
    a.send(new Uint8Array(1000))(() => undefined);
    b.send(new Uint8Array(10))(() => undefined);
    e.runUntilIdle();
    expect(ra.got[0]?.t).toBe(10_000 + LAT);
    expect(rb.got[0]?.t).toBe(1_000_000 + LAT);
  });

  it('an orderly close reaches the peer after the data in flight, as null', () => {
    const e = new Engine({ trace: false });
    const [a, b] = simLink(clockOf(e), { bytesPerSecond: MBPS, latencyNs: LAT });
    const ra = recorder(a, e);
    const rb = recorder(b, e);
    a.send(new Uint8Array(1000))(() => undefined);
    a.close();
    a.close(); // idempotent
    expect(a.closed).toBe(true);
    expect(b.closed).toBe(false);
    e.runUntilIdle();
    expect(rb.got.map((g) => g.t)).toEqual([1_000_000 + LAT]);
    expect(rb.closes).toEqual([{ t: 1_000_000 + LAT, reason: null }]);
    expect(b.closed).toBe(true);
    expect(ra.closes).toEqual([]); // the closer is not told about its own close
  });

  it('abort fails both ends at once and drops the data in flight', () => {
    const e = new Engine({ trace: false });
    const [a, b] = simLink(clockOf(e), { bytesPerSecond: MBPS, latencyNs: LAT });
    const ra = recorder(a, e);
    const rb = recorder(b, e);
    let resumedAt = -1;
    a.send(new Uint8Array(1000))(() => (resumedAt = e.now));
    e.runUntil(300_000);
    b.abort('target died');
    expect(a.closed && b.closed).toBe(true);
    e.runUntilIdle();
    expect(rb.got).toEqual([]);
    expect(ra.closes).toEqual([{ t: 300_000, reason: 'target died' }]);
    expect(rb.closes).toEqual([{ t: 300_000, reason: 'target died' }]);
    expect(resumedAt).toBe(300_000); // the waiting sender is let go at once
    b.abort('again');
    e.runUntilIdle();
    expect(ra.closes).toHaveLength(1);
  });

  it('a send on a closed end resumes at once and is dropped', () => {
    const e = new Engine({ trace: false });
    const [a, b] = simLink(clockOf(e), { bytesPerSecond: MBPS, latencyNs: LAT });
    const rb = recorder(b, e);
    a.close();
    let at = -1;
    e.runFor(5000);
    a.send(new Uint8Array(1000))(() => (at = e.now));
    e.runUntilIdle();
    expect(at).toBe(5000);
    expect(a.bytesSent).toBe(0);
    expect(rb.got).toEqual([]);
  });

  it('data sent towards an end that closed itself is dropped', () => {
    const e = new Engine({ trace: false });
    const [a, b] = simLink(clockOf(e), { bytesPerSecond: MBPS, latencyNs: LAT });
    const ra = recorder(a, e);
    b.send(new Uint8Array(10))(() => undefined);
    a.close();
    e.runUntilIdle();
    expect(ra.got).toEqual([]);
  });

  it('is deterministic: the same sends give the same delivery times', () => {
    const run = (): number[] => {
      const e = new Engine({ trace: false });
      const [a, b] = simLink(clockOf(e), { bytesPerSecond: 3_000_000, latencyNs: 7 });
      const t: number[] = [];
      b.onData(() => t.push(e.now));
      for (let i = 1; i <= 20; i++) a.send(new Uint8Array(i * 37))(() => undefined);
      e.runUntilIdle();
      return t;
    };
    const first = run();
    expect(first).toHaveLength(20);
    expect(run()).toEqual(first);
    // 37 * 210 bytes at 3 MB/s: the last chunk leaves at 2.59 ms (rounded up to a whole ns).
    expect(first.at(-1)).toBe(Math.ceil((37 * 210 * 1e9) / 3_000_000) + 7);
  });

  it('refuses a link without bandwidth or with a fractional latency', () => {
    const c = clockOf(new Engine({ trace: false }));
    expect(() => simLink(c, { bytesPerSecond: 0, latencyNs: 0 })).toThrow(RangeError);
    expect(() => simLink(c, { bytesPerSecond: 1, latencyNs: 0.5 })).toThrow(RangeError);
  });
});
