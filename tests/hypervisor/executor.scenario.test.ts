import { describe, expect, it } from 'vitest';
import {
  EVTCHNOP_alloc_unbound,
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_send,
} from '../../hypercalls/event-channel.js';
import type { GuestProgram } from '../../hypercalls/guest-interface.js';
import { SCHEDOP_block } from '../../hypercalls/sched.js';
import { RUNSTATE_blocked, RUNSTATE_running } from '../../hypercalls/vcpu.js';
import { DOMID_SELF } from '../../hypercalls/xen.js';
import { DEFAULT_COSTS } from '../../hypervisor/costs.js';
import type { Domain } from '../../hypervisor/domain.js';
import type { Pcpu } from '../../hypervisor/executor.js';
import { dispatcherFor } from '../../hypervisor/workloads/event-handler.js';
import { bindTimerVirq, sleeper } from '../../hypervisor/workloads/sleeper.js';
import { guest, hc, makeHost } from './helpers.js';

const MS = 1_000_000;
/** A timer wake on an idle pCPU: switch in, event upcall, then set_timer_op and SCHEDOP_block. */
const WAKE_COST_NS =
  DEFAULT_COSTS.contextSwitchNs + DEFAULT_COSTS.upcallNs + 2 * DEFAULT_COSTS.hypercallNs;

describe('executor: costs are paid when incurred (sched/core.c schedule(), do_block())', () => {
  for (const scheduler of ['credit', 'credit2'] as const) {
    it(`a ticking idle guest sees each timer event at its deadline, not after its last block's costs (${scheduler})`, () => {
      const hv = makeHost({ nrPcpus: 2, scheduler });
      const late: number[] = [];
      guest(hv, { program: sleeper({ periodNs: MS, onWake: (l) => late.push(l) }) });
      hv.engine.runFor(50 * MS);
      expect(late.length).toBeGreaterThan(40);
      expect(Math.max(...late)).toBe(0);
    });
  }

  it('a blocking step holds its pCPU for its hypercalls, the switch and the upcall, then blocks', () => {
    const hv = makeHost({ nrPcpus: 2, scheduler: 'credit2', trace: true });
    const wakes: number[] = [];
    const d = guest(hv, {
      program: sleeper({ periodNs: MS, onWake: () => wakes.push(hv.engine.now) }),
    });
    const v = d.vcpus[0] as NonNullable<(typeof d.vcpus)[0]>;
    hv.engine.runUntil(10 * MS - 1);
    const t = 10 * MS + ((wakes[0] as number) % MS);
    hv.engine.runUntil(t);
    const cpu = v.processor;
    const ranBefore = hv.runstateTime(v, RUNSTATE_running);
    hv.engine.runUntil(t + WAKE_COST_NS - 1);
    expect(hv.executor.isIdle(cpu)).toBe(false);
    expect(hv.runstateTime(v, RUNSTATE_running)).toBe(ranBefore + WAKE_COST_NS - 1);
    hv.engine.runUntil(t + WAKE_COST_NS + 10);
    expect(hv.executor.isIdle(cpu)).toBe(true);
    expect(v.runstate).toBe(RUNSTATE_blocked);
    expect(hv.runstateTime(v, RUNSTATE_running)).toBe(ranBefore + WAKE_COST_NS);
    const spans = hv.engine.trace
      .records({ kind: 'sched.run' })
      .filter((r) => r.timeNs >= 2 * MS && r.timeNs <= t);
    expect(spans.length).toBeGreaterThan(5);
    for (const s of spans) expect(s.durNs).toBe(WAKE_COST_NS);
    // Nothing is left owed to the next wake.
    expect(v.workNs).toBe(0);
    expect(v.chargeNs).toBe(0);
  });

  it("work queued while a pCPU finishes a blocked vCPU's costs starts when they end, on that pCPU", () => {
    // One pCPU: a sleeper blocks at its wake, and a second domain woken just after must wait for the
    // first one's switch, upcall and hypercalls before it runs.
    const hv = makeHost({ nrPcpus: 1, scheduler: 'credit2' });
    const wakesA: number[] = [];
    guest(hv, { program: sleeper({ periodNs: MS, onWake: () => wakesA.push(hv.engine.now) }) });
    const tA = 5 * MS;
    const resumedB: number[] = [];
    guest(hv, {
      program: function* (env) {
        bindTimerVirq(env, 0);
        env.hypercalls.set_timer_op(tA + 100);
        env.hypercalls.sched_op(SCHEDOP_block);
        yield 0;
        resumedB.push(env.now());
        for (;;) {
          env.hypercalls.sched_op(SCHEDOP_block);
          yield 0;
        }
      },
    });
    hv.engine.runUntil(tA + MS / 2);
    expect(wakesA).toContain(tA);
    expect(resumedB).toEqual([tA + WAKE_COST_NS]);
  });
});

/** Blocks; once woken at or after `fromNs`, sends on the port `next()` names (0: none). */
function relay(fromNs: number, next: () => number, timerAtNs = 0): GuestProgram {
  return function* relayProgram(env, vcpu) {
    const h = env.hypercalls;
    dispatcherFor(env);
    if (timerAtNs > 0) {
      bindTimerVirq(env, vcpu);
      h.set_timer_op(timerAtNs);
    }
    for (;;) {
      h.sched_op(SCHEDOP_block);
      yield 0;
      const port = next();
      if (env.now() >= fromNs && port !== 0) h.event_channel_op(EVTCHNOP_send, { port });
    }
  };
}

function connect(a: Domain, b: Domain): number {
  const alloc = { dom: DOMID_SELF, remote_dom: b.domid, port: 0 };
  expect(hc(a).event_channel_op(EVTCHNOP_alloc_unbound, alloc)).toBe(0);
  const bind = { remote_dom: a.domid, remote_port: alloc.port, local_port: 0 };
  expect(hc(b).event_channel_op(EVTCHNOP_bind_interdomain, bind)).toBe(0);
  return alloc.port;
}

describe('executor: deferred pCPU runs (timer softirq exit)', () => {
  it('a chain of wakes nested several flushes deep runs each pCPU once, and every link at the timer time', () => {
    const hv = makeHost({ nrPcpus: 6, scheduler: 'credit2' });
    const T = 5 * MS;
    const sendPort: number[] = [0, 0, 0, 0, 0, 0];
    const doms: Domain[] = [];
    for (let i = 0; i < 6; i++) {
      const program = relay(T, () => sendPort[i] as number, i === 0 ? T : 0);
      doms.push(guest(hv, { program, paused: true }));
    }
    for (let i = 0; i < 5; i++) sendPort[i] = connect(doms[i] as Domain, doms[i + 1] as Domain);
    for (const d of doms) hv.unpauseByController(d);
    hv.engine.runUntil(T - 1);

    const ex = hv.executor as unknown as { pcpuWork: (p: Pcpu, fromEvent: boolean) => void };
    const original = ex.pcpuWork.bind(ex);
    const runsAtT = new Map<number, number>();
    ex.pcpuWork = (p, fromEvent) => {
      if (hv.engine.now === T) runsAtT.set(p.id, (runsAtT.get(p.id) ?? 0) + 1);
      original(p, fromEvent);
    };
    hv.engine.runUntil(T + 10 * MS);

    // Each link woke at T on its own pCPU: six pCPUs ran, none of them twice.
    expect(runsAtT.size).toBe(6);
    for (const n of runsAtT.values()) expect(n).toBe(1);
    for (const d of doms) expect(d.vcpus[0]?.runstate).toBe(RUNSTATE_blocked);
  });
});
