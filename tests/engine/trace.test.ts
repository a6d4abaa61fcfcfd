import { describe, expect, it } from 'vitest';
import { Engine } from '../../hypervisor/engine/engine.js';
import { Trace } from '../../hypervisor/engine/trace.js';

/** A small world whose events depend on the seed: random wake-ups recorded in the trace. */
function runWorld(seed: number): string {
  const engine = new Engine({ seed });
  const rng = engine.prng.stream('world');
  const tick = (dom: number): void => {
    engine.emit('wake', dom, 0, { jitter: rng.int(0, 99) });
    if (engine.now < 1_000_000) engine.after(rng.int(1, 50_000), tick, dom);
  };
  for (let d = 1; d <= 4; d++) engine.at(0, tick, d);
  engine.runUntilIdle();
  return engine.trace.digest();
}

describe('trace', () => {
  it('the same seed gives the same digest; different seeds give different digests', () => {
    expect(runWorld(1)).toBe(runWorld(1));
    expect(runWorld(1)).not.toBe(runWorld(2));
  });

  it('keeps only the newest records in its bounded ring, but the digest covers all of them', () => {
    const t = new Trace(3);
    const u = new Trace(100);
    for (let i = 0; i < 10; i++) {
      t.record({ timeNs: i, kind: 'k', dom: 1, vcpu: 0 });
      u.record({ timeNs: i, kind: 'k', dom: 1, vcpu: 0 });
    }
    expect(t.records().map((r) => r.timeNs)).toEqual([7, 8, 9]);
    expect(t.totalRecords).toBe(10);
    expect(t.digest()).toBe(u.digest());
  });

  it('filters by kind, domain, vCPU and time', () => {
    const t = new Trace();
    t.record({ timeNs: 1, kind: 'evtchn.send', dom: 1, vcpu: 0 });
    t.record({ timeNs: 2, kind: 'sched.run', dom: 2, vcpu: 1, pcpu: 0, durNs: 5 });
    t.record({ timeNs: 3, kind: 'evtchn.upcall', dom: 2, vcpu: 1 });
    expect(t.records({ kind: /^evtchn\./ }).map((r) => r.timeNs)).toEqual([1, 3]);
    expect(t.records({ dom: 2, vcpu: 1 }).length).toBe(2);
    expect(t.records({ fromNs: 2, toNs: 2 }).map((r) => r.kind)).toEqual(['sched.run']);
  });

  it('exports Chrome Trace Event JSON: spans on per-pCPU tracks, instants per domain', () => {
    const t = new Trace();
    t.record({ timeNs: 1000, kind: 'sched.run', dom: 3, vcpu: 1, pcpu: 2, durNs: 30_000 });
    t.record({ timeNs: 2000, kind: 'evtchn.send', dom: 3, vcpu: 0, fields: { port: 5 } });
    const json = JSON.parse(JSON.stringify(t.toChromeTrace({ seed: 9 }))) as ReturnType<
      Trace['toChromeTrace']
    >;
    const span = json.traceEvents.find((e) => e.ph === 'X');
    expect(span).toMatchObject({ name: 'd3v1', ts: 1, dur: 30, pid: 0, tid: 2 });
    const instant = json.traceEvents.find((e) => e.ph === 'i');
    expect(instant).toMatchObject({ name: 'evtchn.send', ts: 2, pid: 4, args: { port: 5 } });
    expect(json.traceEvents.some((e) => e.ph === 'M' && e.args?.name === 'pCPU 2')).toBe(true);
    expect(json.metadata).toMatchObject({ seed: 9, digest: t.digest() });
  });

  it('a disabled trace records nothing', () => {
    const engine = new Engine({ trace: false });
    engine.emit('x', 0, 0);
    expect(engine.trace.totalRecords).toBe(0);
  });
});
