// hypercallBackendPlatform: the BackendPlatform the composition root builds over dom0's hypercall
// page, here over the REAL grant-table engine (grant_table_op as dom0) with fake event channels.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hypercallBackendPlatform } from '../../dom0/backends/platform.js';
import {
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_close,
  EVTCHNOP_send,
  type EvtchnBindInterdomain,
  type EvtchnPort,
} from '../../hypercalls/event-channel.js';
import {
  GNTST_bad_handle,
  GNTST_general_error,
  GNTST_okay,
  GTF_reading,
} from '../../hypercalls/grant-table.js';
import { makeImage, tempDir, type BlkWorld } from './world.js';
import { VbdHost } from './vbd-rig.js';

let tmp: { dir: string; cleanup: () => void };
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

function platformOver(w: BlkWorld) {
  let nextPfn = 0;
  const freed: number[] = [];
  return hypercallBackendPlatform({
    domid: 0,
    hypercalls: {
      grant_table_op: (cmd, uops, count) => w.dom0.op(cmd, uops, count),
      event_channel_op: (cmd, arg) => {
        if (cmd === EVTCHNOP_bind_interdomain) {
          const a = arg as EvtchnBindInterdomain;
          const p = w.evt.bindInterdomain(0, a.remote_dom, a.remote_port);
          if (p < 0) return p;
          a.local_port = p;
          return 0;
        }
        if (cmd === EVTCHNOP_send) return w.evt.send(0, (arg as EvtchnPort).port);
        if (cmd === EVTCHNOP_close) return w.evt.close(0, (arg as EvtchnPort).port);
        return -38;
      },
    },
    memory: w.dom0.mem,
    allocPfn: () => freed.pop() ?? (nextPfn < 128 ? nextPfn++ : -1),
    freePfn: (pfn) => {
      freed.push(pfn);
    },
    listen: (port, handler) => w.evt.listen(0, port, handler ?? (() => undefined)),
    xs: w.xs,
    clock: { now: () => 0, at: (_t, fn) => (w.q.post(fn), 0), cancel: () => undefined },
  });
}

describe('hypercallBackendPlatform over the real grant-table engine', () => {
  it('maps a granted page writable, reports a bad ref with its GNTST status, unmaps once', () => {
    const h = new VbdHost(platformOver);
    const p = platformOver(h.w);
    const g = h.w.guest(1);
    const mfn = g.dom.mem.pfnToMfn(10);
    const ref = g.dom.client.grantAccess(0, mfn, false);
    const m = p.grants.map(1, ref, false);
    expect(m.status).toBe(GNTST_okay);
    m.bytes?.fill(0x42, 0, 4);
    expect(g.dom.mem.view(10)?.[3]).toBe(0x42);
    expect((g.dom.client.entry(ref)?.flags ?? 0) & GTF_reading).toBe(GTF_reading);
    expect(p.grants.map(1, ref + 1, false).status).toBe(GNTST_general_error);
    expect(p.grants.unmap(m)).toBe(GNTST_okay);
    expect(p.grants.unmap(m)).toBe(GNTST_bad_handle);
    expect(g.dom.client.endAccess(ref)).toBe(true);
  });

  it('bounce pages are dom0 frames usable as the local side of a grant copy, and go back on free', () => {
    const h = new VbdHost(platformOver);
    const p = platformOver(h.w);
    const pages = p.grants.allocPages(3);
    expect(pages?.length).toBe(3);
    for (const pg of pages ?? []) expect(h.w.dom0.mem.mfnToPfn(pg.gmfn)).toBeGreaterThanOrEqual(0);
    p.grants.freePages(pages ?? []);
    expect(
      p.grants
        .allocPages(3)
        ?.map((x) => x.gmfn)
        .sort(),
    ).toEqual(pages?.map((x) => x.gmfn).sort());
  });

  it('blkback on it serves a guest write into the image and closes cleanly', () => {
    const h = new VbdHost(platformOver);
    const g = h.w.guest(1);
    const img = path.join(tmp.dir, 'disk.img');
    makeImage(img, 256);
    const v = h.attach(g, img);
    if (!v.disk) throw new Error('not connected');
    expect(h.w.run(v.disk.write(16, new Uint8Array(4096).fill(0x77))).ok).toBe(true);
    expect(h.w.run(v.disk.flush()).ok).toBe(true);
    expect(
      fs
        .readFileSync(img)
        .subarray(16 * 512, 24 * 512)
        .every((x) => x === 0x77),
    ).toBe(true);
    h.w.xs.write(`${v.fe}/state`, '6');
    h.w.q.drain();
    expect(h.w.xs.read(`${v.be}/state`)).toBe('6');
    expect(g.dom.client.endAccess(v.ring?.ringRef ?? -1)).toBe(true);
  });
});
