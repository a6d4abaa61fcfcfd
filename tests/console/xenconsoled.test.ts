// The console backend (tools/console/daemon/io.c) against the real grant-table engine: the page
// found through grant ref 0 and `console/port`, output drained into a bounded log and to attached
// clients, input into the `in` ring, detach, domain removal, and a guest corrupting its own ring.

import { describe, expect, it } from 'vitest';
import { ConsoleLog } from '../../dom0/backends/console/console-log.js';
import { Xenconsoled } from '../../dom0/backends/console/xenconsoled.js';
import { seedReservedGrants } from '../../hypercalls/grant-client.js';
import { GNTTABOP_setup_table, type gnttab_setup_table } from '../../hypercalls/grant-table.js';
import {
  XENCONS_CONNECTION_OFF,
  XENCONS_OUT_PROD_OFF,
  XENCONSOLE_CONNECTED,
  XENCONSOLE_DISCONNECTED,
  xenconsReadIn,
  xenconsWriteOut,
  writeXenconsConnection,
} from '../../hypercalls/io/console.js';
import { DOMID_SELF } from '../../hypercalls/xen.js';
import { BlkWorld, type GuestDom } from '../blk/world.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** What the domain builder and toolstack do for a console: page, ref 0, unbound port, nodes. */
function guestConsole(w: BlkWorld, g: GuestDom, limit?: number) {
  const pfn = 300;
  const mfn = g.dom.mem.pfnToMfn(pfn);
  const page = g.dom.mem.writableView(pfn);
  if (!page) throw new Error('no page');
  const view = new DataView(page.buffer, page.byteOffset, 4096);
  writeXenconsConnection(view, XENCONSOLE_DISCONNECTED);
  const st: gnttab_setup_table = { dom: DOMID_SELF, nr_frames: 1, frame_list: [0] };
  expect(g.dom.op(GNTTABOP_setup_table, [st], 1)).toBe(0);
  const frame = g.dom.mem.ownFrame(st.frame_list?.[0] ?? -1);
  if (!frame) throw new Error('no table frame');
  seedReservedGrants(new DataView(frame.buffer, frame.byteOffset, 4096), 0, mfn, mfn);
  const port = w.evt.allocUnbound(g.id);
  const got: number[] = [];
  w.evt.listen(g.id, port, () => got.push(1));
  const base = `/local/domain/${g.id}/console`;
  w.xs.write(`${base}/ring-ref`, String(mfn));
  w.xs.write(`${base}/port`, String(port));
  w.xs.write(`${base}/type`, 'xenconsoled');
  if (limit !== undefined) w.xs.write(`${base}/limit`, String(limit));
  /** The guest prints (hvc_xen's write + notify). */
  const print = (s: string) => {
    const r = xenconsWriteOut(view, enc(s));
    expect(r.ok).toBe(true);
    w.evt.send(g.id, port);
    w.q.drain();
  };
  return { view, port, print, events: got };
}

function setup(limit?: number) {
  const w = new BlkWorld();
  const d = new Xenconsoled(w.platform());
  expect(d.start()).toBe(true);
  const g = w.guest(1, 512);
  const c = guestConsole(w, g, limit);
  w.q.drain();
  return { w, d, g, c };
}

describe('xenconsoled', () => {
  it('connects to a domain once console/port exists: maps ref 0, binds the port, marks the page CONNECTED', () => {
    const { d, c } = setup();
    expect(d.consoles.get(1)?.connected).toBe(true);
    expect(c.view.getUint8(XENCONS_CONNECTION_OFF)).toBe(XENCONSOLE_CONNECTED);
  });

  it('guest output goes to the log; an attached client gets the log first, then live output', () => {
    const { d, c } = setup();
    c.print('booting\n');
    expect(dec(d.log(1) ?? new Uint8Array())).toBe('booting\n');
    const a = d.attach(1);
    if (!a) throw new Error('no console');
    const seen: string[] = [];
    a.onData((b) => seen.push(dec(b)));
    c.print('login: ');
    expect(seen).toEqual(['booting\n', 'login: ']);
    // The guest was told its out ring drained.
    expect(c.events.length).toBeGreaterThan(0);
  });

  it('client input lands in the in ring and the guest is notified; detach stops delivery only', () => {
    const { w, d, c } = setup();
    const a = d.attach(1, false);
    if (!a) throw new Error('no console');
    const seen: string[] = [];
    a.onData((b) => seen.push(dec(b)));
    const before = c.events.length;
    a.write(enc('root\n'));
    w.q.drain();
    expect(c.events.length).toBe(before + 1);
    const r = xenconsReadIn(c.view);
    expect(r.ok && dec(r.value)).toBe('root\n');
    a.close();
    c.print('after detach\n');
    expect(seen).toEqual([]);
    expect(dec(d.log(1) ?? new Uint8Array())).toBe('after detach\n');
  });

  it('input beyond the 1 KiB in ring waits until the guest consumes', () => {
    const { d, c } = setup();
    const a = d.attach(1, false);
    if (!a) throw new Error('no console');
    a.write(new Uint8Array(1500).fill(0x61));
    const first = xenconsReadIn(c.view);
    expect(first.ok && first.value.length).toBe(1024);
    c.print(''); // any event from the guest lets the daemon push the rest
    const rest = xenconsReadIn(c.view);
    expect(rest.ok && rest.value.length).toBe(476);
  });

  it('the log is bounded by console/limit: the oldest bytes go', () => {
    const { d, c } = setup(16);
    c.print('0123456789');
    c.print('abcdefghij');
    expect(dec(d.log(1) ?? new Uint8Array())).toBe('456789abcdefghij');
    expect(d.consoles.get(1)?.log.droppedBytes).toBe(4);
  });

  it('the domain going away closes its console and tells attached clients', () => {
    const { w, d } = setup();
    const a = d.attach(1);
    if (!a) throw new Error('no console');
    let closed = 0;
    a.onClose(() => closed++);
    w.xs.rm('/local/domain/1');
    w.q.drain();
    expect(closed).toBe(1);
    expect(d.consoles.has(1)).toBe(false);
    expect(d.attach(1)).toBeUndefined();
  });

  it('a guest corrupting its out indices loses its console; another domain is unaffected', () => {
    const { w, d, c } = setup();
    const g2 = w.guest(2, 512);
    const c2 = guestConsole(w, g2);
    w.q.drain();
    c.view.setUint32(XENCONS_OUT_PROD_OFF, 0x10000, true);
    w.evt.send(1, c.port);
    w.q.drain();
    expect(d.consoles.get(1)?.connected).toBe(false);
    expect(d.consoles.get(1)?.error).toMatch(/out_prod/);
    c2.print('still here\n');
    expect(dec(d.log(2) ?? new Uint8Array())).toBe('still here\n');
  });
});

describe('ConsoleLog', () => {
  it('keeps the newest bytes across wrap-around and oversize appends', () => {
    const log = new ConsoleLog(8);
    log.append(enc('abcdef'));
    log.append(enc('ghij'));
    expect(dec(log.contents())).toBe('cdefghij');
    log.append(enc('0123456789AB'));
    expect(dec(log.contents())).toBe('456789AB');
    expect(log.totalBytes).toBe(22);
    expect(log.droppedBytes).toBe(14);
  });
});
