import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVTCHN_2L_NR_CHANNELS } from '../../hypercalls/event-channel.js';
import { XEN_DOMCTL_INTERFACE_VERSION } from '../../hypercalls/domctl.js';
import type { Domain } from '../../hypervisor/domain.js';
import type { Hypervisor } from '../../hypervisor/hypervisor.js';
import { ECS } from '../../hypervisor/evtchn/evtchn-table.js';
import { cpuBound } from '../../hypervisor/workloads/cpu-bound.js';
import { sleeper } from '../../hypervisor/workloads/sleeper.js';
import { guest, hc, makeHost } from './helpers.js';

/** Values a guest may pass: small and huge integers, wrong types, and structs with plausible field names. */
const scalar = fc.oneof(
  fc.integer({ min: -3, max: 40 }),
  fc.integer(),
  fc.constantFrom(0x7ff0, 0x7ff4, 0xffff, 2 ** 32, -0, NaN, Infinity, 1.5),
  fc.constantFrom(null, undefined, 'x', true, [] as unknown[]),
);
const field = fc.constantFrom(
  'port',
  'dom',
  'remote_dom',
  'remote_port',
  'local_port',
  'vcpu',
  'virq',
  'reason',
  'domain_id',
  'id',
  'timeout',
  'ports',
  'period_ns',
  'timeout_abs_ns',
  'flags',
  'submap_idx',
  'cmd',
  'interface_version',
  'domain',
  'u',
  'max',
  'pirq',
);
const struct = fc.dictionary(field, fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })), {
  maxKeys: 6,
});
const arg = fc.oneof(
  scalar,
  struct,
  fc.constant({ interface_version: XEN_DOMCTL_INTERFACE_VERSION, cmd: 5, domain: 0, u: {} }),
);
const call = fc.record({
  nr: fc.oneof(fc.integer({ min: 0, max: 45 }), fc.integer()),
  a1: fc.oneof(fc.integer({ min: -1, max: 12 }), scalar),
  a2: arg,
  a3: arg,
  who: fc.integer({ min: 0, max: 1 }),
});

/** Invariants that no unprivileged hypercall may break. */
function checkInvariants(hv: Hypervisor, dom0: Domain): void {
  expect(dom0.isShuttingDown).toBe(false);
  expect(dom0.controllerPauseCount).toBe(0);
  expect(hv.liveDomain(0)).toBe(dom0);
  const seen = new Set<unknown>();
  for (const p of hv.executor.pcpus) {
    if (p.curr) {
      expect(p.curr.runningOn).toBe(p.id);
      expect(seen.has(p.curr)).toBe(false);
      seen.add(p.curr);
    }
  }
  for (const d of hv.domains()) {
    const t = d.evtchn;
    expect(t.stateOf(0)).toBe(ECS.RESERVED);
    for (let port = 1; port < t.state.length; port++) {
      expect(port < EVTCHN_2L_NR_CHANNELS).toBe(true);
      if (t.stateOf(port) !== ECS.INTERDOMAIN) continue;
      const peer = hv.domain(t.remoteDom[port] as number);
      if (!peer) continue;
      const rp = t.remotePort[port] as number;
      expect(peer.evtchn.stateOf(rp)).toBe(ECS.INTERDOMAIN);
      expect(peer.evtchn.remoteDom[rp]).toBe(d.domid);
      expect(peer.evtchn.remotePort[rp]).toBe(port);
    }
    for (const v of d.vcpus) {
      if (v.runningOn >= 0) expect(hv.executor.pcpus[v.runningOn]?.curr).toBe(v);
      expect(v.pauseCount).toBeGreaterThanOrEqual(0);
      expect(v.workNs).toBeGreaterThanOrEqual(0);
    }
  }
}

describe('hypercalls with any arguments from unprivileged domains', () => {
  it('return an errno or run, never throw, and leave the host consistent', () => {
    fc.assert(
      fc.property(fc.array(call, { minLength: 1, maxLength: 40 }), (calls) => {
        const hv = makeHost({ nrPcpus: 2, scheduler: 'credit' });
        const dom0 = hv.createDom0({ maxVcpus: 1 });
        const a = guest(hv, { vcpus: 2, program: cpuBound(200_000) });
        const b = guest(hv, { program: sleeper({ periodNs: 1_000_000, workNs: 50_000 }) });
        const others = [a, b];
        hv.engine.runFor(2_000_000);
        for (const c of calls) {
          const d = others[c.who] as Domain;
          let rc = 0;
          expect(() => {
            rc = hc(d).hypercall(c.nr, c.a1, c.a2, c.a3);
          }).not.toThrow();
          expect(Number.isInteger(rc)).toBe(true);
          expect(() => hv.engine.runFor(100_000)).not.toThrow();
        }
        expect(() => hv.engine.runFor(20_000_000)).not.toThrow();
        checkInvariants(hv, dom0);
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
