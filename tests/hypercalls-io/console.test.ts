import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MASK_XENCONS_IDX,
  XENCONSOLE_CONNECTED,
  XENCONSOLE_DISCONNECTED,
  XENCONS_CONNECTION_OFF,
  XENCONS_INTERFACE_BYTES,
  XENCONS_IN_CONS_OFF,
  XENCONS_IN_PROD_OFF,
  XENCONS_OUT_CONS_OFF,
  XENCONS_OUT_OFF,
  XENCONS_OUT_PROD_OFF,
  readXenconsConnection,
  writeXenconsConnection,
  xenconsReadIn,
  xenconsReadOut,
  xenconsWriteIn,
  xenconsWriteOut,
} from '../../hypercalls/io/console.js';
import { hex, page } from './hex.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('xencons_interface layout (console.h)', () => {
  it('has in[1024]@0, out[2048]@1024, in_cons@3072 in_prod@3076 out_cons@3080 out_prod@3084, connection@3088', () => {
    expect([
      XENCONS_OUT_OFF,
      XENCONS_IN_CONS_OFF,
      XENCONS_IN_PROD_OFF,
      XENCONS_OUT_CONS_OFF,
      XENCONS_OUT_PROD_OFF,
    ]).toEqual([1024, 3072, 3076, 3080, 3084]);
    expect(XENCONS_CONNECTION_OFF).toBe(3088);
    expect(XENCONS_INTERFACE_BYTES).toBe(3089);
    expect([XENCONSOLE_CONNECTED, XENCONSOLE_DISCONNECTED]).toEqual([0, 1]);
  });

  it('guest output lands in out[] at out_prod and only out_prod moves (golden bytes)', () => {
    const { mem, view } = page();
    expect(xenconsWriteOut(view, text('hi\n'))).toEqual({ ok: true, value: 3 });
    expect(mem.subarray(1024, 1027)).toEqual(hex('68 69 0a'));
    expect(mem.subarray(3072, 3088)).toEqual(hex('00000000 00000000 00000000 03000000'));
    expect(xenconsReadOut(view)).toEqual({ ok: true, value: text('hi\n') });
    expect(mem.subarray(3080, 3084)).toEqual(hex('03000000'));
  });

  it('backend input lands in in[] and the guest drains it', () => {
    const { mem, view } = page();
    expect(xenconsWriteIn(view, text('ls'))).toEqual({ ok: true, value: 2 });
    expect(mem.subarray(0, 2)).toEqual(text('ls'));
    expect(mem.subarray(3076, 3080)).toEqual(hex('02000000'));
    expect(xenconsReadIn(view, 1)).toEqual({ ok: true, value: text('l') });
    expect(xenconsReadIn(view)).toEqual({ ok: true, value: text('s') });
    expect(xenconsReadIn(view)).toEqual({ ok: true, value: new Uint8Array(0) });
  });

  it('writes stop when the ring is full: 2048 bytes of out, 1024 of in', () => {
    const { view } = page();
    expect(xenconsWriteOut(view, new Uint8Array(3000).fill(65))).toEqual({ ok: true, value: 2048 });
    expect(xenconsWriteOut(view, text('x'))).toEqual({ ok: true, value: 0 });
    expect(xenconsWriteIn(view, new Uint8Array(1500))).toEqual({ ok: true, value: 1024 });
  });

  it('wraps the data and the free-running indices across 2^32', () => {
    const { mem, view } = page();
    view.setUint32(XENCONS_OUT_CONS_OFF, 0xfffffff0, true);
    view.setUint32(XENCONS_OUT_PROD_OFF, 0xfffffff0, true);
    const data = Uint8Array.from({ length: 40 }, (_, i) => i + 1);
    expect(xenconsWriteOut(view, data)).toEqual({ ok: true, value: 40 });
    expect(view.getUint32(XENCONS_OUT_PROD_OFF, true)).toBe(0x18);
    expect(mem[1024 + MASK_XENCONS_IDX(0xfffffff0, 2048)]).toBe(1); // out[2032]
    expect(mem[1024 + 2047]).toBe(16);
    expect(mem[1024]).toBe(17);
    expect(xenconsReadOut(view)).toEqual({ ok: true, value: data });
    expect(view.getUint32(XENCONS_OUT_CONS_OFF, true)).toBe(0x18);
  });

  it('indices more than a ring apart are reported as corrupt and nothing moves', () => {
    const { view } = page();
    view.setUint32(XENCONS_OUT_PROD_OFF, 2049, true);
    expect(xenconsReadOut(view).ok).toBe(false);
    expect(xenconsWriteOut(view, text('a')).ok).toBe(false);
    expect(view.getUint32(XENCONS_OUT_CONS_OFF, true)).toBe(0);
    view.setUint32(XENCONS_IN_CONS_OFF, 5, true); // cons ahead of prod: 2^32 - 5 queued
    expect(xenconsReadIn(view).ok).toBe(false);
  });

  it('refuses a view shorter than the interface', () => {
    const view = new DataView(new ArrayBuffer(3088));
    expect(xenconsReadOut(view).ok).toBe(false);
    expect(readXenconsConnection(view).ok).toBe(false);
  });

  it('the connection flag is a byte at 3088 holding CONNECTED (0) or DISCONNECTED (1)', () => {
    const { mem, view } = page();
    expect(writeXenconsConnection(view, XENCONSOLE_DISCONNECTED).ok).toBe(true);
    expect(mem[3088]).toBe(1);
    expect(readXenconsConnection(view)).toEqual({ ok: true, value: 1 });
    expect(writeXenconsConnection(view, 2).ok).toBe(false);
  });

  it('any interleaving of writes and reads delivers the bytes in order across the wrap (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0xfffff000, max: 0xffffffff }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 700 })), { maxLength: 30 }),
        (start, steps) => {
          const { view } = page();
          view.setUint32(XENCONS_OUT_CONS_OFF, start, true);
          view.setUint32(XENCONS_OUT_PROD_OFF, start, true);
          let sent = 0;
          let got = 0;
          for (const [write, n] of steps) {
            if (write) {
              const data = Uint8Array.from({ length: n }, (_, i) => (sent + i) & 0xff);
              const w = xenconsWriteOut(view, data);
              expect(w).toEqual({ ok: true, value: Math.min(n, 2048 - (sent - got)) });
              if (w.ok) sent += w.value;
            } else {
              const r = xenconsReadOut(view, n);
              expect(r.ok).toBe(true);
              if (!r.ok) continue;
              expect(r.value.length).toBe(Math.min(n, sent - got));
              r.value.forEach((b, i) => expect(b).toBe((got + i) & 0xff));
              got += r.value.length;
            }
            expect(view.getUint32(XENCONS_OUT_PROD_OFF, true)).toBe((start + sent) >>> 0);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
