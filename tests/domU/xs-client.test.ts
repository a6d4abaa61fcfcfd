// The guest's xenbus client against a scripted xenstored end on the real ring page
// (drivers/xen/xenbus/xenbus_xs.c, xenbus_comms.c; xs_wire.h ring rules).

import { describe, expect, it } from 'vitest';
import type { KThread } from '../../domU/kthread.js';
import { xsRing } from '../../hypercalls/io/xenstore-ring.js';
import {
  XS_ERROR,
  XS_READ,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_WRITE,
  encodeXsHeader,
  encodeXsMessage,
  xsStrings,
} from '../../hypercalls/io/xs-wire.js';
import { EVTCHNOP_send } from '../../hypercalls/event-channel.js';
import { STORE_PFN } from './fake-xen.js';
import { xsHarness } from './harness.js';

describe('xenbus client basics', () => {
  it('read, write, mkdir, directory and rm round-trip through the ring', () => {
    const { xs, xsd, run } = xsHarness();
    const out = run(
      (function* () {
        const w = yield* xs.write('data/greeting', 'hello');
        const r = yield* xs.read('data/greeting');
        const m = yield* xs.mkdir('data/dir');
        const d = yield* xs.directory('data');
        const rm = yield* xs.rm('data/greeting');
        const gone = yield* xs.read('data/greeting');
        return { w, r, m, d, rm, gone };
      })(),
    );
    expect(out.w.ok && out.r).toEqual({ ok: true, value: 'hello' });
    expect(out.m.ok).toBe(true);
    expect(out.d).toEqual({ ok: true, value: ['dir', 'greeting'] });
    expect(out.rm.ok).toBe(true);
    expect(out.gone).toEqual({ ok: false, error: 'ENOENT' });
    expect(xsd.get('data/greeting')).toBeUndefined();
  });

  it('every ring update is followed by EVTCHNOP_send on the store port, and req_ids are distinct', () => {
    const { xs, xsd, xen, run } = xsHarness();
    run(
      (function* () {
        yield* xs.write('a', '1');
        yield* xs.write('b', '2');
      })(),
    );
    expect(xen.count('event_channel_op', EVTCHNOP_send)).toBeGreaterThanOrEqual(4);
    const ids = xsd.requests.map((r) => r.reqId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('the calling thread blocks in SCHEDOP_block until the reply arrives', () => {
    const { xs, xen, run } = xsHarness();
    run(xs.read('nothing'));
    expect(xen.count('sched_op', 1)).toBeGreaterThan(0);
  });
});

describe('ring wrap and split messages', () => {
  it('requests and replies cross the 2^32 index wrap intact', () => {
    const { xs, xsd, xen, run } = xsHarness({ startIndex: 0xffffff00 });
    const value = 'v'.repeat(600);
    const r = run(
      (function* () {
        for (let i = 0; i < 4; i++) yield* xs.write(`data/k${i}`, value + i);
        return yield* xs.read('data/k3');
      })(),
    );
    expect(r).toEqual({ ok: true, value: value + '3' });
    const dv = new DataView((xen.memory.page(STORE_PFN) as Uint8Array).buffer);
    // The indices really wrapped.
    expect(xsRing.reqProd(dv)).toBeLessThan(0xffffff00);
    expect(xsRing.rspCons(dv)).toBeLessThan(0xffffff00);
    expect(xsd.get('data/k2')).toBe(value + '2');
  });

  it('a request larger than the ring is written in pieces as xenstored consumes', () => {
    const { xs, xsd, run } = xsHarness({ startIndex: 0xfffffe00 });
    const big = 'x'.repeat(3000);
    const r = run(
      (function* () {
        const w = yield* xs.write('data/big', big);
        return w.ok ? yield* xs.read('data/big') : w;
      })(),
    );
    expect(r).toEqual({ ok: true, value: big });
    expect(xsd.maxReqChunk).toBeLessThanOrEqual(1024);
    expect(xsd.reqChunks).toBeGreaterThanOrEqual(3);
  });

  it('replies dribbled in 7-byte pieces are reassembled', () => {
    const { xs, xsd, run } = xsHarness();
    xsd.rspChunk = 7;
    xsd.set('data/x', 'some value here');
    expect(run(xs.read('data/x'))).toEqual({ ok: true, value: 'some value here' });
  });
});

describe('watches', () => {
  it('a watch fires once on registration and on each change, callbacks run on xenwatch', () => {
    const { xs, xsd, run } = xsHarness();
    const seen: string[] = [];
    run(
      (function* () {
        const w = yield* xs.watch('data/w', function* (path) {
          seen.push(path);
          const v = yield* xs.read('data/w');
          seen.push(v.ok ? `=${v.value}` : `!${v.error}`);
        });
        expect(w.ok).toBe(true);
        yield* xs.write('data/w', 'one');
        yield* xs.write('data/w', 'two');
        yield* xs.read('data/w');
      })(),
    );
    run(
      (function* () {
        yield 1000;
      })(),
    );
    expect(seen[0]).toBe('data/w');
    expect(seen.filter((s) => s === 'data/w').length).toBe(3);
    expect(xsd.watches).toHaveLength(1);
  });

  it('watch events interleaved before a reply are queued and the reply still matches its request', () => {
    const { xs, xsd, run } = xsHarness();
    const seen: string[] = [];
    xsd.set('data/v', 'value');
    let token = '';
    run(
      (function* () {
        const w = yield* xs.watch('data', function* (path) {
          seen.push(path);
          yield 0;
        });
        token = w.ok ? w.value : '';
      })(),
    );
    xsd.intercept = (m) => {
      if (m.type !== XS_READ) return undefined;
      xsd.intercept = null;
      return [
        encodeXsMessage({ type: 15, reqId: 0, txId: 0, payload: xsStrings('data/a', token) }),
        encodeXsMessage({ type: 15, reqId: 0, txId: 0, payload: xsStrings('data/b', token) }),
        encodeXsMessage({
          type: XS_READ,
          reqId: m.reqId,
          txId: 0,
          payload: new TextEncoder().encode('value'),
        }),
        encodeXsMessage({ type: 15, reqId: 0, txId: 0, payload: xsStrings('data/c', token) }),
      ];
    };
    const r = run(xs.read('data/v'));
    run(
      (function* () {
        yield 1000;
      })(),
    );
    expect(r).toEqual({ ok: true, value: 'value' });
    expect(seen).toEqual(['data', 'data/a', 'data/b', 'data/c']);
  });

  it('unwatch sends XS_UNWATCH and later events for the token are dropped', () => {
    const { xs, xsd, run } = xsHarness();
    let fired = 0;
    run(
      (function* () {
        const w = yield* xs.watch('data/u', function* () {
          fired++;
          yield 0;
        });
        if (!w.ok) return;
        yield* xs.write('data/x', '1'); // settle the first event
        const u = yield* xs.unwatch(w.value);
        expect(u.ok).toBe(true);
        yield* xs.write('data/u', 'changed');
      })(),
    );
    expect(xsd.watches).toHaveLength(0);
    expect(fired).toBe(1);
  });
});

describe('transactions', () => {
  it('EAGAIN at commit reruns the whole body in a new transaction', () => {
    const { xs, xsd, run } = xsHarness();
    xsd.set('data/counter', '0');
    xsd.failCommits = 2;
    let bodies = 0;
    const r = run(
      xs.transaction(function* (tx) {
        bodies++;
        const v = yield* tx.read('data/counter');
        if (!v.ok) return v;
        const w = yield* tx.write('data/counter', String(Number(v.value) + 1));
        return w.ok ? { ok: true as const, value: Number(v.value) + 1 } : w;
      }),
    );
    expect(r).toEqual({ ok: true, value: 1 });
    expect(bodies).toBe(3);
    expect(xs.txRetries).toBe(2);
    expect(xsd.get('data/counter')).toBe('1');
    const starts = xsd.requests.filter((m) => m.type === XS_TRANSACTION_START).length;
    const ends = xsd.requests.filter((m) => m.type === XS_TRANSACTION_END).length;
    expect([starts, ends]).toEqual([3, 3]);
    // Requests inside the body carry the transaction's id.
    expect(xsd.requests.filter((m) => m.type === XS_WRITE).every((m) => m.txId !== 0)).toBe(true);
  });

  it('a body error aborts with END "F" and nothing is committed', () => {
    const { xs, xsd, run } = xsHarness();
    const r = run(
      xs.transaction(function* (tx) {
        yield* tx.write('data/tmp', 'x');
        return yield* tx.read('data/missing');
      }),
    );
    expect(r).toEqual({ ok: false, error: 'ENOENT' });
    expect(xsd.get('data/tmp')).toBeUndefined();
    const end = xsd.requests.find((m) => m.type === XS_TRANSACTION_END);
    expect(new TextDecoder().decode(end?.payload)).toBe('F\0');
  });
});

describe('garbage from xenstored', () => {
  it('a reply header announcing more than 4096 bytes fails that request with EIO; later replies still work', () => {
    const { xs, xsd, run } = xsHarness();
    xsd.set('data/ok', 'fine');
    xsd.intercept = (m) => {
      xsd.intercept = null;
      const h = new Uint8Array(16);
      encodeXsHeader(h, 0, { type: m.type, reqId: m.reqId, txId: 0, len: 5000 });
      return [h];
    };
    const bad = run(xs.read('data/ok'));
    expect(bad.ok).toBe(false);
    expect(bad.ok ? '' : bad.error).toBe('EIO');
    expect(run(xs.read('data/ok'))).toEqual({ ok: true, value: 'fine' });
    expect(xs.errors.some((e) => e.includes('5000'))).toBe(true);
  });

  it('a reply with an unknown req_id is dropped; the real reply still completes the request', () => {
    const { xs, xsd, run } = xsHarness();
    xsd.set('data/ok', 'fine');
    xsd.inject(
      encodeXsMessage({ type: XS_READ, reqId: 999, txId: 0, payload: new Uint8Array([1, 2]) }),
    );
    expect(run(xs.read('data/ok'))).toEqual({ ok: true, value: 'fine' });
    expect(xs.errors).toContain('reply with unknown req_id 999 dropped');
  });

  it('an XS_ERROR with an unknown name reads as EINVAL, a reply of the wrong type as EIO', () => {
    const { xs, xsd, run } = xsHarness();
    let n = 0;
    xsd.intercept = (m) => {
      n++;
      if (n === 1)
        return [
          encodeXsMessage({ type: XS_ERROR, reqId: m.reqId, txId: 0, payload: xsStrings('EWHAT') }),
        ];
      return [
        encodeXsMessage({ type: XS_WRITE, reqId: m.reqId, txId: 0, payload: xsStrings('OK') }),
      ];
    };
    const a = run(xs.read('x'));
    const b = run(xs.read('y'));
    expect(a.ok ? '' : a.error).toBe('EINVAL');
    expect(b.ok ? '' : b.error).toBe('EIO');
  });

  it('corrupt ring indices fail outstanding and later requests with EIO instead of throwing', () => {
    const { xs, xen, run } = xsHarness();
    const dv = new DataView((xen.memory.page(STORE_PFN) as Uint8Array).buffer);
    xsRing.setRspProd(dv, 5000);
    xen.raise(1);
    const r = run(xs.read('data/x'));
    expect(r.ok ? '' : r.error).toBe('EIO');
    expect(run(xs.write('data/y', '1')).ok).toBe(false);
  });
});

describe('suspend quiescing', () => {
  it('xs.suspend waits for outstanding replies and holds new requests until cancel', () => {
    const { xs, xsd, run, runner } = xsHarness();
    xsd.set('data/a', 'A');
    let later: unknown = null;
    const t: KThread = (function* () {
      yield* xs.suspend();
      runner.spawn(
        'late',
        (function* () {
          later = yield* xs.read('data/a');
        })(),
      );
      yield 1_000_000;
      expect(later).toBeNull();
      xs.suspendCancel();
    })();
    run(t);
    run(
      (function* () {
        yield 1000;
      })(),
    );
    expect(later).toEqual({ ok: true, value: 'A' });
  });
});
