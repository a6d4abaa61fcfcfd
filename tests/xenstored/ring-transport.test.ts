import { describe, expect, it } from 'vitest';
import {
  XS_READ,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
  XENSTORE_ERROR_PROTO,
  XENSTORE_ERROR_RINGIDX,
  XENSTORE_RECONNECT,
  XENSTORE_CONNECTED,
  xsStrings,
  xsBytes,
  encodeXsMessage,
} from '../../hypercalls/io/xs-wire.js';
import { xsRing } from '../../hypercalls/io/xenstore-ring.js';
import { connectGuestRing } from '../../dom0/xenstored/guest-ring-connection.js';
import { XsRingTransport } from '../../dom0/xenstored/ring-transport.js';
import { Xenstored } from '../../dom0/xenstored/xenstored.js';
import { GuestRingSide } from './guest-ring.js';
import { req } from './helpers.js';
import {
  XS_GET_DOMAIN_PATH,
  XS_INTRODUCE,
  XS_MKDIR,
  XS_SET_PERMS,
} from '../../hypercalls/io/xs-wire.js';

function setup(start = 0) {
  const xs = new Xenstored();
  const d0 = xs.openSocketConnection();
  req(xs, d0, XS_MKDIR, '/local/domain/3/data|');
  req(xs, d0, XS_SET_PERMS, '/local/domain/3/data|n3|');
  const guest = new GuestRingSide(start);
  let notifies = 0;
  const g = connectGuestRing(xs, 3, guest.page, () => notifies++);
  xs.domainIntroduced(3, g.conn);
  return { xs, d0, guest, g, notifies: () => notifies };
}

const write = (reqId: number, path: string, value: string) => ({
  type: XS_WRITE,
  reqId,
  txId: 0,
  payload: new Uint8Array([...xsBytes(path), 0, ...xsBytes(value)]),
});

describe('xenstore ring transport (xenstored_domain.c readchn/writechn)', () => {
  it('serves a request and signals the guest', () => {
    const { guest, g, notifies } = setup();
    guest.send(write(1, 'data/a', 'hello'));
    g.kick();
    const out = guest.receive();
    expect(out).toHaveLength(1);
    expect(out[0]?.reqId).toBe(1);
    expect(Buffer.from(out[0]?.payload ?? []).toString()).toBe('OK\0');
    expect(notifies()).toBeGreaterThan(0);
    expect(xsRing.serverFeatures(guest.dv)).toBe(3);
  });

  it('keeps working across the 2^32 index wrap, with messages split at the ring end', () => {
    const { guest, g } = setup(0xffffffff - 700);
    for (let i = 0; i < 40; i++) {
      guest.send(write(i, `data/k${i}`, 'v'.repeat(100 + i)));
      g.kick();
      const [reply] = guest.receive();
      expect(reply?.reqId).toBe(i);
      guest.send({ type: XS_READ, reqId: 1000 + i, txId: 0, payload: xsStrings(`data/k${i}`) });
      g.kick();
      const [read] = guest.receive();
      expect(Buffer.from(read?.payload ?? []).toString()).toBe('v'.repeat(100 + i));
    }
    expect(xsRing.reqProd(guest.dv)).toBeLessThan(0x10000); // wrapped
  });

  it('reassembles a message the guest writes a byte at a time', () => {
    const { guest, g } = setup();
    const bytes = encodeXsMessage(write(9, 'data/slow', 'x'));
    for (const b of bytes) {
      guest.writeBytes(Uint8Array.of(b));
      g.kick();
    }
    expect(guest.receive().map((m) => m.reqId)).toEqual([9]);
  });

  it('a reply larger than the free space is streamed as the guest consumes', () => {
    const { xs, d0, guest, g } = setup();
    req(xs, d0, XS_WRITE, `/local/domain/3/data/big|${'z'.repeat(3000)}`);
    guest.send({ type: XS_READ, reqId: 4, txId: 0, payload: xsStrings('data/big') });
    g.kick();
    let got = guest.receive();
    for (let i = 0; i < 10 && got.length === 0; i++) {
      g.kick();
      got = guest.receive();
    }
    expect(got[0]?.payload.length).toBe(3000);
  });

  it('watch events from other connections reach the guest through its ring', () => {
    const { xs, d0, guest, g } = setup();
    guest.send({ type: XS_WATCH, reqId: 2, txId: 0, payload: xsStrings('data', 'tk') });
    g.kick();
    expect(guest.receive().map((m) => m.type)).toEqual([XS_WATCH, XS_WATCH_EVENT]);
    const r = req(xs, d0, XS_WRITE, '/local/domain/3/data/x|1');
    for (const e of r.events) e.conn.deliver?.(e.message);
    const ev = guest.receive();
    expect(ev.map((m) => Buffer.from(m.payload).toString())).toEqual(['data/x\0tk\0']);
  });

  it('a guest that corrupts req_prod is dropped with error=RINGIDX; other guests carry on', () => {
    const a = setup();
    const guest2 = new GuestRingSide();
    const g2 = connectGuestRing(a.xs, 4, guest2.page, () => {});
    a.xs.domainIntroduced(4, g2.conn);
    xsRing.setReqProd(a.guest.dv, xsRing.reqCons(a.guest.dv) + 5000);
    a.g.kick();
    expect(xsRing.error(a.guest.dv)).toBe(XENSTORE_ERROR_RINGIDX);
    expect(a.g.conn.closed).toBe(true);
    guest2.send({ type: XS_READ, reqId: 5, txId: 0, payload: xsStrings('/tool') });
    g2.kick();
    expect(guest2.receive()[0]?.reqId).toBe(5);
  });

  it('a guest that corrupts rsp_cons is dropped', () => {
    const { guest, g } = setup();
    xsRing.setRspCons(guest.dv, 12345);
    guest.send(write(1, 'data/a', 'b'));
    g.kick();
    expect(xsRing.error(guest.dv)).toBe(XENSTORE_ERROR_RINGIDX);
    expect(g.conn.closed).toBe(true);
  });

  it('a header announcing more than 4096 bytes drops the connection with error=PROTO', () => {
    const { guest, g } = setup();
    const h = new Uint8Array(16);
    new DataView(h.buffer).setUint32(12, 5000, true);
    guest.writeBytes(h);
    g.kick();
    expect(xsRing.error(guest.dv)).toBe(XENSTORE_ERROR_PROTO);
    expect(g.conn.closed).toBe(true);
  });

  it('stops reading requests while 20 replies wait for the guest (quota outstanding)', () => {
    const { xs, d0, guest, g } = setup();
    req(xs, d0, XS_WRITE, `/local/domain/3/data/v|${'q'.repeat(100)}`);
    for (let i = 0; i < 30; i++)
      guest.send({ type: XS_READ, reqId: i, txId: 0, payload: xsStrings('data/v') });
    g.kick(); // 8 replies of 116 bytes fill the 1 KiB ring, 20 more wait, 2 requests stay unread
    expect(g.transport.queued).toBe(20);
    expect((xsRing.reqProd(guest.dv) - xsRing.reqCons(guest.dv)) >>> 0).toBe(2 * 23);
    const all: number[] = [];
    for (let i = 0; i < 50 && all.length < 30; i++) {
      all.push(...guest.receive().map((m) => m.reqId));
      g.kick();
    }
    expect(all).toEqual([...Array(30).keys()]);
  });

  it('a guest that never drains its ring loses watch events beyond 1024 queued, not its connection', () => {
    const { xs, d0, guest, g } = setup();
    guest.send({ type: XS_WATCH, reqId: 2, txId: 0, payload: xsStrings('data', 'tk') });
    g.kick();
    for (let i = 0; i < 1500; i++) {
      const r = req(xs, d0, XS_WRITE, `/local/domain/3/data/e${i}|1`);
      for (const e of r.events) e.conn.deliver?.(e.message);
    }
    expect(g.transport.queued).toBe(1024);
    expect(g.transport.droppedEvents).toBeGreaterThan(400);
    expect(g.conn.closed).toBe(false);
  });

  it('a reconnect request resets the indices and forgets watches', () => {
    const { xs, d0, guest, g } = setup(77);
    guest.send({ type: XS_WATCH, reqId: 2, txId: 0, payload: xsStrings('data', 'tk') });
    g.kick();
    guest.receive();
    xsRing.setConnection(guest.dv, XENSTORE_RECONNECT);
    g.kick();
    expect(xsRing.connection(guest.dv)).toBe(XENSTORE_CONNECTED);
    expect(xsRing.reqProd(guest.dv)).toBe(0);
    expect(g.conn.watches).toHaveLength(0);
    expect(req(xs, d0, XS_WRITE, '/local/domain/3/data/y|1').events).toHaveLength(0);
  });

  it('INTRODUCE reaches the glue through the introduce hook and the guest is then served', () => {
    const xs = new Xenstored();
    const d0 = xs.openSocketConnection();
    const guest = new GuestRingSide();
    let kick = (): void => {};
    const seen: number[][] = [];
    xs.introduceHook = (domid, gfn, port) => {
      seen.push([domid, gfn, port]);
      const g = connectGuestRing(xs, domid, guest.page, () => {});
      kick = g.kick;
      return g.conn;
    };
    const w = req(xs, d0, XS_WATCH, '@introduceDomain|i|');
    expect(w.text).toBe('OK|');
    const r = req(xs, d0, XS_INTRODUCE, '8|4321|5|');
    expect(r.text).toBe('OK|');
    expect(seen).toEqual([[8, 4321, 5]]);
    expect(r.events.map((e) => e.conn)).toEqual([d0]);
    guest.send({ type: XS_GET_DOMAIN_PATH, reqId: 1, txId: 0, payload: xsStrings('8') });
    kick();
    expect(Buffer.from(guest.receive()[0]?.payload ?? []).toString()).toBe('/local/domain/8\0');
  });

  it('refuses a page smaller than 4 KiB', () => {
    expect(
      () =>
        new XsRingTransport(new Uint8Array(100), {
          notify: () => {},
          onMessage: () => {},
          onFault: () => {},
        }),
    ).toThrow(RangeError);
  });
});
