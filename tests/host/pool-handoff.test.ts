// The guest-program handoff a migration in one process carries in its vCPU record: parked on the
// source under a one-shot ref, run lazily by the target's domain once it is first scheduled.

import { afterEach, describe, expect, it } from 'vitest';
import { HandoffTable, MAX_PARKED, unwrapHandoff } from '../../dom0/host/handoff.js';
import { SimPool } from '../../dom0/host/pool.js';
import {
  block,
  type GuestCoroutine,
  type GuestEnv,
  type GuestProgram,
} from '../../hypercalls/guest-interface.js';

const SEC = 1_000_000_000;
const small = { nrPcpus: 2, memoryBytes: 1024 << 20, dom0MemBytes: 256 << 20 };

/** A program that records each call (the call itself, as pvKernelProgram works at call time). */
function recording(): { program: GuestProgram; calls: { vcpu: number; domid: number }[] } {
  const calls: { vcpu: number; domid: number }[] = [];
  const program: GuestProgram = (env: GuestEnv, vcpu: number): GuestCoroutine => {
    calls.push({ vcpu, domid: env.domid });
    return (function* () {
      for (;;) yield* block(env.hypercalls);
    })();
  };
  return { program, calls };
}

const env = (domid: number): GuestEnv =>
  ({ domid, hypercalls: { sched_op: () => 0 } }) as unknown as GuestEnv;

describe('HandoffTable', () => {
  it('take is one-shot and refs are never reused', () => {
    const t = new HandoffTable('t1');
    const { program } = recording();
    const r1 = t.put(program);
    const r2 = t.put(program);
    expect(r1).toBe('handoff:t1.1');
    expect(r2).toBe('handoff:t1.2');
    expect(t.size).toBe(2);
    expect(t.take(r1)).toBeTypeOf('function');
    expect(t.take(r1)).toBeUndefined();
    expect(t.take('handoff:t1.99')).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it('a ref from another table (another process) finds nothing, whatever its number', () => {
    const mine = new HandoffTable();
    const theirs = new HandoffTable();
    const { program } = recording();
    const ref = theirs.put(program);
    mine.put(program);
    expect(mine.instance).not.toBe(theirs.instance);
    expect(mine.take(ref)).toBeUndefined();
    expect(theirs.take(ref)).toBeTypeOf('function');
  });

  it(`keeps at most ${MAX_PARKED} parked programs, dropping the oldest`, () => {
    const t = new HandoffTable('t');
    const { program } = recording();
    const refs = Array.from({ length: MAX_PARKED + 2 }, () => t.put(program));
    expect(t.size).toBe(MAX_PARKED);
    expect(t.take(refs[0] as string)).toBeUndefined();
    expect(t.take(refs[1] as string)).toBeUndefined();
    expect(t.take(refs[2] as string)).toBeTypeOf('function');
    expect(t.take(refs.at(-1) as string)).toBeTypeOf('function');
  });

  it('the wrapper calls nothing until a vCPU steps, and then vCPU 0 first', () => {
    const t = new HandoffTable();
    const { program, calls } = recording();
    const w = t.take(t.put(program));
    if (!w) throw new Error('no wrapper');
    const e = env(7);
    const c0 = w(e, 0);
    const c1 = w(e, 1);
    expect(calls).toEqual([]);
    c1.next(0); // vCPU 1 happens to run first: vCPU 0's call (the kernel's adopt) still comes first
    expect(calls).toEqual([
      { vcpu: 0, domid: 7 },
      { vcpu: 1, domid: 7 },
    ]);
    c0.next(0);
    expect(calls).toHaveLength(2); // vCPU 0 runs the coroutine made for it, not a second call
    expect(unwrapHandoff(w)).toBe(program);
  });

  it('handing off a wrapper parks the real program, not a wrapper of a wrapper', () => {
    const t = new HandoffTable();
    const { program } = recording();
    const w = t.take(t.put(program));
    if (!w) throw new Error('no wrapper');
    const again = t.take(t.put(w));
    expect(again && unwrapHandoff(again)).toBe(program);
  });

  it('revoke drops a parked ref, makes a taken-but-unrun wrapper fail, and is refused once it ran', () => {
    const t = new HandoffTable();
    const { program, calls } = recording();
    const parked = t.put(program);
    expect(t.revoke(parked)).toBe(true);
    expect(t.take(parked)).toBeUndefined();

    const takenRef = t.put(program);
    const taken = t.take(takenRef);
    if (!taken) throw new Error('no wrapper');
    expect(t.revoke(takenRef)).toBe(true);
    expect(() => taken(env(3), 0).next(0)).toThrow(/revoked/);
    expect(calls).toEqual([]);

    const ranRef = t.put(program);
    const ran = t.take(ranRef);
    if (!ran) throw new Error('no wrapper');
    ran(env(4), 0).next(0);
    expect(t.revoke(ranRef)).toBe(false);
    expect(t.revoke('handoff:t.404')).toBe(false);
  });
});

describe('handoff through a pool host’s guest-program registry', () => {
  let pool: SimPool | undefined;
  afterEach(() => {
    pool?.dispose();
    pool = undefined;
  });

  it('parks the program running a domain on one host; the other host’s domain runs it only once unpaused', async () => {
    const p = (pool = new SimPool({ hosts: ['src', 'dst'], defaults: small }));
    const src = p.host('src');
    const dst = p.host('dst');
    const cfg = { name: 'g', kernel: '/boot/vmlinuz-xensim-pv', memory: 32 };
    const srcDomid = await src.create(cfg);
    const srcDomain = src.hypervisor.domain(srcDomid);
    const programs = src.platform.programs;
    expect(programs.handOff?.(0)).toBeUndefined(); // dom0 never moves
    expect(programs.handOff?.(99)).toBeUndefined();
    const ref = programs.handOff?.(srcDomid);
    expect(ref).toMatch(/^handoff:[0-9a-f]{8}\.\d+$/);
    expect(p.handoffs.size).toBe(1);
    const parked = ref === undefined ? undefined : p.handoffs.take(ref);
    expect(parked && unwrapHandoff(parked)).toBe(srcDomain?.program);

    // The target side: a fresh ref for a recording program, resolved through dst's registry as the
    // hypervisor resolves XEN_DOMCTL_setvcpucontext's kernel ref, into a domain built paused.
    const rec = recording();
    const ref2 = p.handoffs.put(rec.program);
    const wrapper = dst.platform.programs.get(ref2);
    if (!wrapper) throw new Error('no wrapper');
    expect(dst.platform.programs.get(ref2)).toBeUndefined();
    const dstDomid = await dst.create({ ...cfg, name: 'g--incoming' }, { paused: true });
    const d = dst.hypervisor.domain(dstDomid);
    if (!d) throw new Error('no target domain');
    dst.hypervisor.boot(d, wrapper, 1);
    p.runFor(1 * SEC);
    expect(rec.calls).toEqual([]); // paused: built, never scheduled
    await p.run(dst.toolstack.unpause(dstDomid));
    p.runUntil(() => rec.calls.length > 0, 1 * SEC);
    expect(rec.calls).toEqual([{ vcpu: 0, domid: dstDomid }]);
  });
});
