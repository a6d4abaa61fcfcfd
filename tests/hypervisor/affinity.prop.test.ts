import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  XEN_DOMCTL_INTERFACE_VERSION,
  XEN_DOMCTL_setvcpuaffinity,
  XEN_VCPUAFFINITY_HARD,
  XEN_VCPUAFFINITY_SOFT,
} from '../../hypercalls/domctl.js';
import { cpuBound } from '../../hypervisor/workloads/cpu-bound.js';
import { ioLike } from '../../hypervisor/workloads/io-like.js';
import { guest, hc, makeHost } from './helpers.js';

const NPCPU = 4;
const mask = fc
  .array(fc.boolean(), { minLength: NPCPU, maxLength: NPCPU })
  .filter((m) => m.includes(true));

describe('hard affinity', () => {
  for (const scheduler of ['credit', 'credit2'] as const) {
    it(`is never violated under ${scheduler}, also across a change at run time`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.record({ hard: mask, soft: mask, later: mask, io: fc.boolean() }), {
            minLength: 2,
            maxLength: 6,
          }),
          (specs) => {
            const hv = makeHost({ nrPcpus: NPCPU, scheduler, trace: true });
            const dom0 = hv.createDom0({ maxVcpus: 1 });
            const setAff = (domid: number, hard: boolean[], soft: boolean[]): number =>
              hc(dom0).domctl({
                cmd: XEN_DOMCTL_setvcpuaffinity,
                interface_version: XEN_DOMCTL_INTERFACE_VERSION,
                domain: domid,
                u: {
                  vcpu: 0,
                  flags: XEN_VCPUAFFINITY_HARD | XEN_VCPUAFFINITY_SOFT,
                  cpumap_hard: hard,
                  cpumap_soft: soft,
                },
              });
            const doms = specs.map((s) => {
              const d = guest(hv, {
                paused: true,
                program: s.io ? ioLike({ computeNs: 100_000, ioNs: 400_000 }) : cpuBound(),
              });
              expect(setAff(d.domid, s.hard, s.soft)).toBe(0);
              hv.unpauseByController(d);
              return d;
            });
            const T = 60_000_000;
            hv.engine.runFor(T);
            doms.forEach((d, i) =>
              expect(setAff(d.domid, specs[i]!.later, specs[i]!.soft)).toBe(0),
            );
            hv.engine.runFor(60_000_000);
            doms.forEach((d, i) => {
              const s = specs[i]!;
              for (const r of hv.engine.trace.records({ kind: 'sched.run', dom: d.domid })) {
                const cpu = r.pcpu ?? -1;
                const end = r.timeNs + (r.durNs ?? 0);
                if (end <= T) expect(s.hard[cpu]).toBe(true);
                else if (r.timeNs >= T) expect(s.later[cpu]).toBe(true);
                else expect(s.hard[cpu] && (s.later[cpu] || end === T)).toBe(true);
              }
              expect(hv.cpuTime(d)).toBeGreaterThan(0);
            });
          },
        ),
        { numRuns: 25, seed: 3 },
      );
    });
  }
});
