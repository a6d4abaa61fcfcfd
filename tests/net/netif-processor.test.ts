import { describe, expect, it } from 'vitest';
import { CreditLimiter, parseRateNode } from '../../dom0/backends/netback/credit.js';
import {
  NETBACK_BOUNCE_PAGES,
  NetifProcessor,
} from '../../dom0/backends/netback/netif-processor.js';
import {
  NETIF_RSP_ERROR,
  NETIF_RSP_NULL,
  NETIF_RSP_OKAY,
  NETTXF_extra_info,
  NETTXF_more_data,
  readNetifRxResponse,
  readNetifTxResponse,
  writeNetifRxRequest,
  writeNetifTxRequest,
} from '../../hypercalls/io/netif.js';
import { sharedRingInit, SRING_REQ_EVENT_OFF } from '../../hypercalls/io/ring.js';
import { asGrantRef } from '../../hypercalls/types.js';
import { FramePool, PageFrame } from '../../dom0/net/frame-pool.js';
import { FakeHost } from './fake-host.js';

const FE = 1;
const framePool = (pages: { gmfn: number; bytes: Uint8Array }[]) =>
  pages.length > 0 ? new FramePool(pages) : undefined;

function setup(opts: { mtu?: number; credit?: CreditLimiter; poolPages?: number } = {}) {
  const host = new FakeHost();
  const txMfn = host.allocFrame();
  const rxMfn = host.allocFrame();
  const txPage = host.frames.get(txMfn) as Uint8Array;
  const rxPage = host.frames.get(rxMfn) as Uint8Array;
  const txView = new DataView(txPage.buffer);
  const rxView = new DataView(rxPage.buffer);
  sharedRingInit(txView);
  sharedRingInit(rxView);
  const delivered: Uint8Array[] = [];
  const p = host.platform();
  const hostCopy = host.copy(0);
  let copyCalls = 0;
  const proc = NetifProcessor.attach(txPage, rxPage, {
    frontendDomid: FE,
    copy: (ops, count) => {
      copyCalls++;
      return hostCopy(ops, count);
    },
    bounce: p.grants.allocPages(NETBACK_BOUNCE_PAGES) ?? [],
    mtu: opts.mtu ?? 1500,
    rxSg: true,
    // Without zeroCopy every frame reaches the bridge as bytes in dom0.
    deliver: (f) => delivered.push(f as Uint8Array),
    now: () => host.engine.now,
    credit: opts.credit,
    framePool: framePool(p.grants.allocPages(opts.poolPages ?? 0) ?? []),
  });
  if (!proc.ok) throw new Error(proc.error);
  let txProd = 0;
  let rxProd = 0;
  /** A guest page filled with `fill`, granted read-only (tx) or writable (rx) to dom0. */
  const page = (fill: number, readonly = true) => {
    const mfn = host.allocFrame();
    (host.frames.get(mfn) as Uint8Array).fill(fill);
    return {
      mfn,
      ref: host.grant(FE, mfn, 0, readonly),
      bytes: host.frames.get(mfn) as Uint8Array,
    };
  };
  const pushTx = (
    reqs: { gref: number; offset?: number; flags?: number; id: number; size: number }[],
  ) => {
    for (const r of reqs) {
      const off = 64 + (txProd % 256) * 12;
      writeNetifTxRequest(txView, off, {
        gref: asGrantRef(r.gref),
        offset: r.offset ?? 0,
        flags: r.flags ?? 0,
        id: r.id,
        size: r.size,
      });
      txProd++;
    }
    txView.setUint32(0, txProd >>> 0, true);
  };
  const txRsp = (idx: number) => readNetifTxResponse(txView, 64 + (idx % 256) * 12);
  const postRx = (ref: number, id: number) => {
    writeNetifRxRequest(rxView, 64 + (rxProd % 256) * 8, { id, gref: asGrantRef(ref) });
    rxProd++;
    rxView.setUint32(0, rxProd, true);
  };
  const rxRsp = (idx: number) => readNetifRxResponse(rxView, 64 + (idx % 256) * 8);
  return {
    host,
    proc: proc.value,
    delivered,
    page,
    pushTx,
    txRsp,
    txView,
    postRx,
    rxRsp,
    rxView,
    copyCalls: () => copyCalls,
  };
}

const ok = <T>(r: { ok: true; value: T } | { ok: false; error: string }): T => {
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe('netback tx: guest -> bridge (netback.c xenvif_tx_build_gops)', () => {
  it('grant-copies a one-slot packet and answers in the request slot with NETIF_RSP_OKAY', () => {
    const t = setup();
    const p = t.page(0xab);
    t.pushTx([{ gref: p.ref, offset: 100, id: 42, size: 60 }]);
    const out = t.proc.processTx(64);
    expect(out).toMatchObject({ packets: 1, fault: null, notify: true });
    expect(t.delivered).toHaveLength(1);
    expect(t.delivered[0]).toEqual(new Uint8Array(60).fill(0xab));
    expect(ok(t.txRsp(0))).toEqual({ id: 42, status: NETIF_RSP_OKAY });
    expect(t.txView.getUint32(8, true)).toBe(1); // rsp_prod
    expect(t.txView.getUint32(SRING_REQ_EVENT_OFF, true)).toBe(2); // final check armed
  });

  it('assembles a packet from several slots in order (first size = whole packet)', () => {
    const t = setup();
    const [a, b, c] = [t.page(1), t.page(2), t.page(3)];
    t.pushTx([
      { gref: a.ref, id: 1, size: 1000, flags: NETTXF_more_data },
      { gref: b.ref, id: 2, size: 300, flags: NETTXF_more_data },
      { gref: c.ref, id: 3, size: 200 },
    ]);
    t.proc.processTx(64);
    const f = t.delivered[0] as Uint8Array;
    expect(f.length).toBe(1000);
    expect([f[0], f[499], f[500], f[799], f[800], f[999]]).toEqual([1, 1, 2, 2, 3, 3]);
    expect([0, 1, 2].map((i) => ok(t.txRsp(i)))).toEqual([
      { id: 1, status: 0 },
      { id: 2, status: 0 },
      { id: 3, status: 0 },
    ]);
  });

  it('waits for the last slot of a packet the frontend has not finished publishing', () => {
    const t = setup();
    const a = t.page(1);
    t.pushTx([{ gref: a.ref, id: 1, size: 100, flags: NETTXF_more_data }]);
    expect(t.proc.processTx(64)).toMatchObject({ packets: 0, fault: null });
    t.pushTx([{ gref: a.ref, id: 2, size: 40 }]);
    expect(t.proc.processTx(64)).toMatchObject({ packets: 1, fault: null });
    expect(t.delivered[0]?.length).toBe(100);
  });

  it('drops a malformed frame shorter than an Ethernet header with NETIF_RSP_ERROR and carries on', () => {
    const t = setup();
    const p = t.page(7);
    t.pushTx([
      { gref: p.ref, id: 5, size: 10 },
      { gref: p.ref, id: 6, size: 60 },
    ]);
    const out = t.proc.processTx(64);
    expect(out.fault).toBeNull();
    expect(ok(t.txRsp(0))).toEqual({ id: 5, status: NETIF_RSP_ERROR });
    expect(ok(t.txRsp(1))).toEqual({ id: 6, status: NETIF_RSP_OKAY });
    expect(t.delivered).toHaveLength(1);
    expect(t.proc.metrics).toMatchObject({
      txDropped: 1,
      txPackets: 1,
      lastDrop: 'bad packet size 10',
    });
  });

  it('drops a frame beyond the MTU (1500 + 14 + 4 for a tag)', () => {
    const t = setup();
    const [a, b] = [t.page(1), t.page(2)];
    t.pushTx([
      { gref: a.ref, id: 1, size: 1519, flags: NETTXF_more_data },
      { gref: b.ref, id: 2, size: 19 },
    ]);
    t.proc.processTx(64);
    expect(ok(t.txRsp(0)).status).toBe(NETIF_RSP_ERROR);
    expect(ok(t.txRsp(1)).status).toBe(NETIF_RSP_ERROR);
    expect(t.proc.metrics.lastDrop).toContain('exceeds MTU 1500');
    expect(t.delivered).toHaveLength(0);
  });

  it('an oversized packet (fragments adding up past its 16-bit size, > 65535) is a fatal error', () => {
    const t = setup();
    const pages = Array.from({ length: 17 }, (_, i) => t.page(i));
    t.pushTx(
      pages.map((p, i) => ({
        gref: p.ref,
        id: i,
        size: i === 0 ? 0xffff : 4096,
        flags: i < 16 ? NETTXF_more_data : 0,
      })),
    );
    const out = t.proc.processTx(64);
    expect(out.fault).toContain('Packet is bigger than frame');
    expect(t.delivered).toHaveLength(0);
  });

  it('a slot crossing its page is a fatal error', () => {
    const t = setup();
    const p = t.page(1);
    t.pushTx([{ gref: p.ref, offset: 4000, id: 1, size: 200 }]);
    expect(t.proc.processTx(64).fault).toContain('Cross page boundary');
  });

  it('a bogus grant ref drops that packet with NETIF_RSP_ERROR and says why', () => {
    const t = setup();
    t.pushTx([{ gref: 9999, id: 3, size: 60 }]);
    const out = t.proc.processTx(64);
    expect(out.fault).toBeNull();
    expect(ok(t.txRsp(0))).toEqual({ id: 3, status: NETIF_RSP_ERROR });
    expect(t.proc.metrics.lastDrop).toContain('invalid grant reference');
  });

  it('req_prod garbage is a fatal error (Impossible number of requests)', () => {
    const t = setup();
    t.txView.setUint32(0, 0xdeadbeef, true);
    expect(t.proc.processTx(64).fault).toContain('Impossible number of requests');
    expect(t.delivered).toHaveLength(0);
  });

  it('more requests than ring slots is a fatal error', () => {
    const t = setup();
    t.txView.setUint32(0, 257, true);
    expect(t.proc.processTx(64).fault).toContain('req_prod 257');
  });

  it('19 slots drop the packet; more than 20 slots are fatal', () => {
    const t = setup();
    const p = t.page(1);
    const chain = (n: number, base: number) =>
      Array.from({ length: n }, (_, i) => ({
        gref: p.ref,
        id: base + i,
        size: i === 0 ? n * 10 : 10,
        flags: i < n - 1 ? NETTXF_more_data : 0,
      }));
    t.pushTx(chain(19, 0));
    expect(t.proc.processTx(64).fault).toBeNull();
    expect(t.proc.metrics.lastDrop).toContain('too many slots (19 > 18)');
    t.pushTx(chain(22, 100));
    expect(t.proc.processTx(64).fault).toContain('Too many slots');
  });

  it('an extra-info slot of an unknown type is fatal; a GSO extra gets NETIF_RSP_NULL', () => {
    const t = setup();
    const p = t.page(1);
    t.pushTx([{ gref: p.ref, id: 1, size: 60, flags: NETTXF_extra_info }]);
    // GSO extra: type 1, flags 0, size 1448, type TCPV4.
    const off = 64 + 1 * 12;
    t.txView.setUint8(off, 1);
    t.txView.setUint8(off + 1, 0);
    t.txView.setUint16(off + 2, 1448, true);
    t.txView.setUint8(off + 4, 1);
    t.txView.setUint32(0, 2, true);
    expect(t.proc.processTx(64).fault).toBeNull();
    expect(ok(t.txRsp(1)).status).toBe(NETIF_RSP_NULL);
    expect(t.delivered).toHaveLength(1);
    writeNetifTxRequest(t.txView, 64 + 2 * 12, {
      gref: asGrantRef(p.ref),
      offset: 0,
      flags: NETTXF_extra_info,
      id: 2,
      size: 60,
    });
    t.txView.setUint8(64 + 3 * 12, 9);
    t.txView.setUint32(0, 4, true);
    expect(t.proc.processTx(64).fault).toContain('Invalid extra type');
  });
});

describe('netback rx: bridge -> guest (rx.c xenvif_rx_action)', () => {
  it('copies a queued frame into the posted buffer and answers in the request slot with its length', () => {
    const t = setup();
    const buf = t.page(0, false);
    t.postRx(buf.ref, 0);
    t.proc.enqueueRx(new Uint8Array(100).fill(0x5a));
    const out = t.proc.processRx(64);
    expect(out).toMatchObject({ packets: 1, notify: true, fault: null });
    expect(ok(t.rxRsp(0))).toEqual({ id: 0, offset: 0, flags: 0, status: 100 });
    expect(buf.bytes.subarray(0, 100)).toEqual(new Uint8Array(100).fill(0x5a));
    expect(buf.bytes[100]).toBe(0);
  });

  it('keeps frames queued until buffers are posted, asking for an event via req_event', () => {
    const t = setup();
    t.proc.enqueueRx(new Uint8Array(60).fill(1));
    expect(t.proc.processRx(64).packets).toBe(0);
    expect(t.proc.rxQueued).toBe(1);
    expect(t.rxView.getUint32(SRING_REQ_EVENT_OFF, true)).toBe(1);
    t.postRx(t.page(0, false).ref, 0);
    expect(t.proc.processRx(64).packets).toBe(1);
    expect(t.proc.rxQueued).toBe(0);
  });

  it('a frame larger than a page spans slots with NETRXF_more_data', () => {
    const t = setup();
    const [a, b] = [t.page(0, false), t.page(0, false)];
    t.postRx(a.ref, 0);
    t.postRx(b.ref, 1);
    t.proc.enqueueRx(new Uint8Array(5000).fill(3));
    t.proc.processRx(64);
    expect(ok(t.rxRsp(0))).toMatchObject({ id: 0, flags: 4, status: 4096 });
    expect(ok(t.rxRsp(1))).toMatchObject({ id: 1, flags: 0, status: 904 });
  });

  it('a bogus rx grant ref answers NETIF_RSP_ERROR for that slot and carries on', () => {
    const t = setup();
    t.postRx(4242, 0);
    const good = t.page(0, false);
    t.postRx(good.ref, 1);
    t.proc.enqueueRx(new Uint8Array(60).fill(1));
    t.proc.enqueueRx(new Uint8Array(61).fill(2));
    const out = t.proc.processRx(64);
    expect(out.fault).toBeNull();
    expect(ok(t.rxRsp(0)).status).toBe(NETIF_RSP_ERROR);
    expect(ok(t.rxRsp(1)).status).toBe(61);
    expect(t.proc.metrics.rxErrors).toBe(1);
  });

  it('a run of frames is copied by batched GNTTABOP_copy calls, each byte-exact in its own slot', () => {
    const t = setup();
    const sizes = [60, 1500, 5000, 1514, 4096, 61, 1500, 1500, 1500, 1500, 9000, 64];
    for (let i = 0; i < sizes.length; i++) {
      t.proc.enqueueRx(new Uint8Array(sizes[i] as number).map((_, k) => (i * 31 + k) & 0xff));
    }
    const bufs = Array.from({ length: 20 }, (_, i) => {
      const b = t.page(0, false);
      t.postRx(b.ref, i);
      return b;
    });
    const out = t.proc.processRx(64);
    expect(out).toMatchObject({ packets: sizes.length, fault: null });
    // 18 chunks in 18 bounce pages: far fewer calls than frames.
    expect(t.copyCalls()).toBeLessThan(sizes.length / 2);
    let slot = 0;
    for (let i = 0; i < sizes.length; i++) {
      const size = sizes[i] as number;
      const got: number[] = [];
      for (let pos = 0; pos < size; pos += 4096) {
        const chunk = Math.min(4096, size - pos);
        const more = pos + chunk < size;
        expect(ok(t.rxRsp(slot))).toEqual({
          id: slot,
          offset: 0,
          flags: more ? 4 : 0,
          status: chunk,
        });
        got.push(...(bufs[slot] as { bytes: Uint8Array }).bytes.subarray(0, chunk));
        slot++;
      }
      expect(got).toEqual(Array.from({ length: size }, (_, k) => (i * 31 + k) & 0xff));
    }
    expect(t.proc.metrics.rxPackets).toBe(sizes.length);
    expect(t.proc.metrics.rxBytes).toBe(sizes.reduce((a, b) => a + b, 0));
  });

  it('a read-only grant posted as an rx buffer is refused by the copy (status ERROR)', () => {
    const t = setup();
    t.postRx(t.page(0, true).ref, 0);
    t.proc.enqueueRx(new Uint8Array(60));
    t.proc.processRx(64);
    expect(ok(t.rxRsp(0)).status).toBe(NETIF_RSP_ERROR);
  });

  it('rx req_prod garbage is a fatal error', () => {
    const t = setup();
    t.rxView.setUint32(0, 0x80000000, true);
    t.proc.enqueueRx(new Uint8Array(60));
    expect(t.proc.processRx(64).fault).toContain('Impossible number of rx requests');
  });
});

describe('frames in dom0 pages (one grant copy each way)', () => {
  it('tx copies every slot straight into one pool frame; rx copies that frame straight into the guest buffer', () => {
    const t = setup({ poolPages: 4 });
    const [a, b] = [t.page(0x11), t.page(0x22)];
    t.pushTx([
      { gref: a.ref, id: 1, size: 1000, flags: NETTXF_more_data },
      { gref: b.ref, offset: 8, id: 2, size: 300 },
    ]);
    const ops = t.host.copyOps;
    const kept: Uint8Array[] = [];
    t.proc.processTx(64);
    expect(t.host.copyOps - ops).toBe(2);
    const f = t.delivered[0] as Uint8Array;
    expect(f).toBeInstanceOf(PageFrame);
    kept.push(f.slice());
    expect(kept[0]).toEqual(new Uint8Array(1000).map((_, i) => (i < 700 ? 0x11 : 0x22)));
    // Loop it back: queued (retained), then one copy from the pool page into the posted buffer.
    t.proc.enqueueRx(f);
    const buf = t.page(0, false);
    t.postRx(buf.ref, 0);
    const before = t.host.copyOps;
    t.proc.processRx(64);
    expect(t.host.copyOps - before).toBe(1);
    expect(ok(t.rxRsp(0))).toEqual({ id: 0, offset: 0, flags: 0, status: 1000 });
    expect(buf.bytes.subarray(0, 1000)).toEqual(kept[0]);
  });

  it('a run of tx packets is copied by one GNTTABOP_copy call and answered in request order', () => {
    const t = setup({ poolPages: 8 });
    const pages = [1, 2, 3, 4, 5].map((v) => t.page(v));
    t.pushTx([
      { gref: (pages[0] as { ref: number }).ref, id: 10, size: 100 },
      { gref: (pages[1] as { ref: number }).ref, id: 11, size: 1000, flags: NETTXF_more_data },
      { gref: (pages[2] as { ref: number }).ref, id: 12, size: 400 },
      { gref: 4242, id: 13, size: 60 }, // a bogus grant: this packet alone is dropped
      { gref: (pages[4] as { ref: number }).ref, id: 14, size: 70 },
    ]);
    const calls = t.copyCalls();
    const out = t.proc.processTx(64);
    expect(out).toMatchObject({ packets: 4, fault: null, notify: true });
    expect(t.copyCalls() - calls).toBe(1);
    expect([0, 1, 2, 3, 4].map((i) => ok(t.txRsp(i)))).toEqual([
      { id: 10, status: NETIF_RSP_OKAY },
      { id: 11, status: NETIF_RSP_OKAY },
      { id: 12, status: NETIF_RSP_OKAY },
      { id: 13, status: NETIF_RSP_ERROR },
      { id: 14, status: NETIF_RSP_OKAY },
    ]);
    expect(t.delivered.map((f) => [f.length, f[0], f[f.length - 1]])).toEqual([
      [100, 1, 1],
      [1000, 2, 3],
      [70, 5, 5],
    ]);
    expect(t.proc.metrics.txDropped).toBe(1);
  });

  it('a queued pool frame keeps its bytes while later packets are sent', () => {
    const t = setup({ poolPages: 1 });
    const p1 = t.page(0x31);
    t.pushTx([{ gref: p1.ref, id: 1, size: 1400 }]);
    t.proc.processTx(64);
    t.proc.enqueueRx(t.delivered[0] as Uint8Array);
    // The second frame shares the page; the third does not fit and goes through bounce pages.
    for (const id of [2, 3]) {
      t.pushTx([{ gref: t.page(0x30 + id).ref, id, size: 1400 }]);
      t.proc.processTx(64);
    }
    expect(t.delivered.map((f) => f instanceof PageFrame)).toEqual([true, true, false]);
    expect(t.delivered[2]).toEqual(new Uint8Array(1400).fill(0x33));
    const buf = t.page(0, false);
    t.postRx(buf.ref, 0);
    t.proc.processRx(64);
    expect(buf.bytes.subarray(0, 1400)).toEqual(new Uint8Array(1400).fill(0x31));
  });
});

describe('rate limiting (tx_credit_exceeded)', () => {
  it('parses the backend rate node libxl writes (bytes,usec)', () => {
    expect(parseRateNode('125000,50000')).toEqual({ bytes: 125000, intervalUs: 50000 });
    expect(parseRateNode('x')).toBeUndefined();
    expect(parseRateNode('0,50000')).toBeUndefined();
  });

  it('holds a packet beyond the credit until the next window, then sends it', () => {
    const credit = new CreditLimiter(1000, 50_000, 0);
    const t = setup({ credit });
    const p = t.page(1);
    t.pushTx([
      { gref: p.ref, id: 1, size: 600 },
      { gref: p.ref, id: 2, size: 600 },
    ]);
    const out = t.proc.processTx(64);
    expect(out.packets).toBe(1);
    expect(out.throttledUntilNs).toBe(50_000_000);
    expect(t.proc.metrics.txThrottled).toBe(1);
    t.host.engine.runUntil(50_000_000);
    t.proc.creditTimerFired();
    expect(t.proc.processTx(64).packets).toBe(1);
    expect(t.delivered).toHaveLength(2);
  });
});
