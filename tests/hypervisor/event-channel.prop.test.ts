import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EVTCHNOP_alloc_unbound,
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_bind_ipi,
  EVTCHNOP_bind_virq,
  EVTCHNOP_close,
  EVTCHNOP_send,
  EVTCHNOP_status,
  EVTCHNSTAT_closed,
  EVTCHNSTAT_interdomain,
  EVTCHNSTAT_ipi,
  EVTCHNSTAT_unbound,
  EVTCHNSTAT_virq,
} from '../../hypercalls/event-channel.js';
import {
  XEN_EEXIST,
  XEN_EINVAL,
  XEN_ENOENT,
  XEN_ENOSPC,
  XEN_ESRCH,
} from '../../hypercalls/errno.js';
import { SHARED_INFO_evtchn_pending, testBit } from '../../hypercalls/shared-info.js';
import { VIRQ_DEBUG, VIRQ_TIMER } from '../../hypercalls/virq.js';
import { DOMID_SELF } from '../../hypercalls/xen.js';
import type { Domain } from '../../hypervisor/domain.js';
import { hc, makeHost } from './helpers.js';

const MAX_PORT = 6;
const NDOM = 3;

/** The model: per domain, port -> channel. */
type Chan =
  | { k: 'unbound'; remote: number }
  | { k: 'inter'; dom: number; port: number }
  | { k: 'ipi' }
  | { k: 'virq'; virq: number; vcpu: number };
type Model = Map<number, Chan>[];

type Op =
  | { t: 'alloc'; d: number; remote: number }
  | { t: 'bind'; d: number; rd: number; rp: number }
  | { t: 'close'; d: number; p: number }
  | { t: 'send'; d: number; p: number }
  | { t: 'ipi'; d: number; vcpu: number }
  | { t: 'virq'; d: number; virq: number; vcpu: number };

const dom = fc.integer({ min: 0, max: NDOM - 1 });
const port = fc.integer({ min: 0, max: MAX_PORT + 2 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    t: fc.constant('alloc' as const),
    d: dom,
    remote: fc.integer({ min: 0, max: NDOM }),
  }),
  fc.record({
    t: fc.constant('bind' as const),
    d: dom,
    rd: fc.integer({ min: 0, max: NDOM }),
    rp: port,
  }),
  fc.record({ t: fc.constant('close' as const), d: dom, p: port }),
  fc.record({ t: fc.constant('send' as const), d: dom, p: port }),
  fc.record({ t: fc.constant('ipi' as const), d: dom, vcpu: fc.integer({ min: 0, max: 2 }) }),
  fc.record({
    t: fc.constant('virq' as const),
    d: dom,
    virq: fc.constantFrom(VIRQ_TIMER, VIRQ_DEBUG),
    vcpu: fc.integer({ min: 0, max: 2 }),
  }),
);

function lowestFree(m: Map<number, Chan>): number {
  for (let p = 1; p <= MAX_PORT; p++) if (!m.has(p)) return p;
  return -1;
}

/** Applies `op` to the model; returns the expected return code. */
function step(model: Model, ids: number[], op: Op): number {
  const me = model[op.d] as Map<number, Chan>;
  const idx = (domid: number): number => ids.indexOf(domid);
  switch (op.t) {
    case 'alloc': {
      const p = lowestFree(me);
      if (p < 0) return -XEN_ENOSPC;
      me.set(p, { k: 'unbound', remote: ids[op.remote] ?? 999 });
      return 0;
    }
    case 'bind': {
      const rdId = ids[op.rd] ?? 999;
      const ri = idx(rdId);
      if (ri < 0) return -XEN_ESRCH;
      if (op.rp > MAX_PORT) return -XEN_EINVAL;
      const r = model[ri] as Map<number, Chan>;
      const rc = r.get(op.rp);
      if (!rc || rc.k !== 'unbound' || rc.remote !== ids[op.d]) return -XEN_EINVAL;
      const lp = lowestFree(me);
      if (lp < 0) return -XEN_ENOSPC;
      me.set(lp, { k: 'inter', dom: op.rd, port: op.rp });
      r.set(op.rp, { k: 'inter', dom: op.d, port: lp });
      return 0;
    }
    case 'close': {
      const c = me.get(op.p);
      if (op.p > MAX_PORT || op.p === 0 || !c) return -XEN_EINVAL;
      if (c.k === 'inter')
        (model[c.dom] as Map<number, Chan>).set(c.port, {
          k: 'unbound',
          remote: ids[op.d] as number,
        });
      me.delete(op.p);
      return 0;
    }
    case 'send': {
      const c = me.get(op.p);
      if (op.p > MAX_PORT || !c || c.k === 'virq') return -XEN_EINVAL;
      return 0;
    }
    case 'ipi': {
      if (op.vcpu >= 2) return -XEN_ENOENT;
      const p = lowestFree(me);
      if (p < 0) return -XEN_ENOSPC;
      me.set(p, { k: 'ipi' });
      return 0;
    }
    case 'virq': {
      if (op.vcpu >= 2) return -XEN_ENOENT;
      for (const c of me.values())
        if (c.k === 'virq' && c.virq === op.virq && c.vcpu === op.vcpu) return -XEN_EEXIST;
      const p = lowestFree(me);
      if (p < 0) return -XEN_ENOSPC;
      me.set(p, { k: 'virq', virq: op.virq, vcpu: op.vcpu });
      return 0;
    }
  }
}

function run(doms: Domain[], op: Op): number {
  const h = hc(doms[op.d] as Domain);
  const id = (i: number): number => doms[i]?.domid ?? 999;
  switch (op.t) {
    case 'alloc':
      return h.event_channel_op(EVTCHNOP_alloc_unbound, {
        dom: DOMID_SELF,
        remote_dom: id(op.remote),
        port: 0,
      });
    case 'bind':
      return h.event_channel_op(EVTCHNOP_bind_interdomain, {
        remote_dom: id(op.rd),
        remote_port: op.rp,
        local_port: 0,
      });
    case 'close':
      return h.event_channel_op(EVTCHNOP_close, { port: op.p });
    case 'send':
      return h.event_channel_op(EVTCHNOP_send, { port: op.p });
    case 'ipi':
      return h.event_channel_op(EVTCHNOP_bind_ipi, { vcpu: op.vcpu, port: 0 });
    case 'virq':
      return h.event_channel_op(EVTCHNOP_bind_virq, { virq: op.virq, vcpu: op.vcpu, port: 0 });
  }
}

const STAT = {
  unbound: EVTCHNSTAT_unbound,
  inter: EVTCHNSTAT_interdomain,
  ipi: EVTCHNSTAT_ipi,
  virq: EVTCHNSTAT_virq,
} as const;

describe('event channels against a model of port states', () => {
  it('random op sequences from three domains agree with the model, and sends mark the peer pending', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const hv = makeHost();
        const doms: Domain[] = [];
        for (let i = 0; i < NDOM; i++) {
          const r = hv.createDomain({ maxVcpus: 2, maxEvtchnPort: MAX_PORT });
          if (!r.ok) throw new Error('create');
          doms.push(r.value);
        }
        const ids = doms.map((d) => d.domid);
        const model: Model = doms.map(() => new Map<number, Chan>());
        for (const op of ops) {
          const before = op.t === 'send' ? (model[op.d] as Map<number, Chan>).get(op.p) : undefined;
          const expected = step(model, ids, op);
          expect(run(doms, op)).toBe(expected);
          if (expected === 0 && before?.k === 'inter') {
            const peer = doms[before.dom] as Domain;
            expect(testBit(peer.sharedInfo, SHARED_INFO_evtchn_pending, before.port)).toBe(true);
          }
        }
        for (let i = 0; i < NDOM; i++) {
          for (let p = 0; p <= MAX_PORT; p++) {
            const st = { dom: DOMID_SELF, port: p, status: -1, vcpu: -1 } as Record<string, number>;
            expect(hc(doms[i] as Domain).event_channel_op(EVTCHNOP_status, st)).toBe(0);
            const c = (model[i] as Map<number, Chan>).get(p);
            expect(st.status).toBe(c ? STAT[c.k] : EVTCHNSTAT_closed);
            if (c?.k === 'inter') {
              expect(st.interdomain_dom).toBe(ids[c.dom]);
              expect(st.interdomain_port).toBe(c.port);
            }
            if (c?.k === 'unbound') expect(st.unbound_dom).toBe(c.remote);
          }
        }
      }),
      { numRuns: 150, seed: 42 },
    );
  });
});
