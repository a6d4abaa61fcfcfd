// net.small: 64-byte-payload UDP frames from one guest's netfront through netback, the bridge and
// a second netback into the other guest's netfront, against the engine hold rate measured in the
// same run; net.bulk: MTU-sized frames over the same path in payload bytes/s, against 4 KiB page
// copies with Uint8Array.set. Rings are grant-mapped and data grant-copied by the real grant-table
// engine (grant-tables/) over machine memory. After the timed runs one more batch is checked byte
// for byte at the receiver.
//
// Bound on net.bulk: each byte is copied three times (into netfront's granted tx page, by netback's
// tx grant copy into a dom0 frame, by its rx grant copy into the receiver's buffer), each at about
// the limit's speed, so the ratio cannot pass ~1/3 even with no per-frame cost at all; with the
// per-frame cost of the ring, bridge and grant-op handling (~0.5 us) an MTU-sized frame gets ~0.1.

import {
  NETBACK_BOUNCE_PAGES,
  NETBACK_POOL_PAGES,
  NetifProcessor,
} from '../../dom0/backends/netback/netif-processor.js';
import { FramePool } from '../../dom0/net/frame-pool.js';
import { Bridge } from '../../dom0/net/bridge.js';
import { NetfrontCore } from '../../domU/net/netfront-core.js';
import { NetStack } from '../../domU/net/net-stack.js';
import { GNTTABOP_copy } from '../../hypercalls/grant-table.js';
import { World } from '../grant-tables/world.js';
import { engineHoldRate } from './engine.bench.js';
import { median, opsPerSec, type Bench } from './harness.js';

export const BATCH = 64;

interface Vif {
  core: NetfrontCore;
  proc: NetifProcessor;
}

/** Two guests on one bridge, driven by direct calls (no event queue) so the figure is the data path. */
export function rig(): {
  a: Vif;
  b: Vif;
  frame: (payloadBytes: number) => Uint8Array;
  received: () => number;
  checkWith: (fn: (f: Uint8Array) => void) => void;
} {
  const w = new World(64 << 20);
  const dom0 = w.domain(0, 256, 4);
  const bridge = new Bridge('xenbr0', { now: () => 0 });
  let received = 0;
  /** Set after the timed runs: looks at the bytes of each frame that arrives. */
  let check: ((f: Uint8Array) => void) | null = null;
  const vif = (domid: number): Vif => {
    const d = w.domain(domid, 600, 4);
    let nextPfn = 0;
    const core = NetfrontCore.setup({
      allocPage: () => nextPfn++,
      freePage: () => undefined,
      pfnToMfn: (pfn) => d.mem.pfnToMfn(pfn),
      writableView: (pfn) => d.mem.writableView(pfn),
      view: (pfn) => d.mem.view(pfn),
      grantAccess: (mfn, ro) => d.client.grantAccess(0, mfn, ro),
      endAccess: (ref) => d.client.endAccess(ref),
      notify: () => undefined,
    });
    if (!core.ok) throw new Error(core.error);
    const tx = dom0.client.map(domid, core.value.txRef, false);
    const rx = dom0.client.map(domid, core.value.rxRef, false);
    const name = `vif${domid}.0`;
    // dom0 pages 64 * domid on: bounce pages, then the frame pool (as netback-device allocates).
    const page = (pfn: number) => ({
      gmfn: dom0.mem.pfnToMfn(pfn),
      bytes: dom0.mem.writableView(pfn) as Uint8Array,
    });
    const base = 64 * domid;
    const bounce = Array.from({ length: NETBACK_BOUNCE_PAGES }, (_, i) => page(base + i));
    const framePool = new FramePool(
      Array.from({ length: NETBACK_POOL_PAGES }, (_, i) => page(base + NETBACK_BOUNCE_PAGES + i)),
    );
    const proc = NetifProcessor.attach(
      dom0.mem.mappedView(tx.hostAddr) as Uint8Array,
      dom0.mem.mappedView(rx.hostAddr) as Uint8Array,
      {
        frontendDomid: domid,
        copy: (ops, count) => dom0.op(GNTTABOP_copy, ops, count),
        bounce,
        mtu: 1500,
        rxSg: true,
        deliver: (f) => bridge.input(port, f),
        now: () => 0,
        framePool,
      },
    );
    if (!proc.ok) throw new Error(proc.error);
    const added = bridge.addPort({ name, kind: 'vif', deliver: (f) => proc.value.enqueueRx(f) });
    if (!added.ok) throw new Error(added.error);
    const port = added.port;
    core.value.onFrame = (f) => {
      received++;
      if (check !== null) check(f);
    };
    return { core: core.value, proc: proc.value };
  };
  const a = vif(1);
  const b = vif(2);
  // Teach the bridge where B lives, so frames are forwarded, not flooded.
  const stackB = new NetStack(
    { mac: 0x00163e000002, mtu: 1500, transmit: (f) => b.core.send(f) },
    { ip: 0x0a000002, prefixLen: 24 },
    { now: () => 0 },
  );
  stackB.sendUdp(0x0a0000ff, 1, 1, new Uint8Array(1));
  b.proc.processTx(BATCH);
  const frame = (payloadBytes: number): Uint8Array => {
    const out: Uint8Array[] = [];
    const s = new NetStack(
      { mac: 0x00163e000001, mtu: 1500, transmit: (f) => (out.push(f), true) },
      { ip: 0x0a000001, prefixLen: 24 },
      { now: () => 0 },
    );
    s.sendUdp(0xffffffff, 9, 9, new Uint8Array(payloadBytes).fill(0x42));
    const f = out[0] as Uint8Array;
    f.set([0x00, 0x16, 0x3e, 0x00, 0x00, 0x02], 0);
    return f;
  };
  return { a, b, frame, received: () => received, checkWith: (fn) => (check = fn) };
}

/** Frames/s guest A -> bridge -> guest B, in batches of 64 per notification. */
export function pathRate(payloadBytes: number): { framesPerS: number; frameBytes: number } {
  const r = rig();
  const f = r.frame(payloadBytes);
  const through = (n: number) => {
    for (let i = 0; i < n; i++) {
      // xmit_more: the requests of a run are published with one push (and at most one event).
      for (let k = 0; k < BATCH; k++) r.a.core.send(f, k < BATCH - 1);
      r.a.proc.processTx(BATCH);
      r.b.proc.processRx(BATCH);
      r.b.core.pollRx();
      r.a.core.collectTx();
    }
  };
  const before = r.received();
  const framesPerS = opsPerSec(through, BATCH);
  if (r.received() - before < BATCH) throw new Error('net bench: frames did not arrive');
  // Untimed: one more run, every frame compared with what was sent, byte for byte.
  let exact = 0;
  r.checkWith((got) => {
    if (got.length !== f.length || got.some((x, i) => x !== f[i])) {
      throw new Error('net bench: a frame arrived with other bytes than were sent');
    }
    exact++;
  });
  through(1);
  if (exact !== BATCH) throw new Error(`net bench: ${exact} of ${BATCH} frames arrived intact`);
  return { framesPerS, frameBytes: f.length };
}

/** 4 KiB page copies with Uint8Array.set over a 4 MiB pool: bytes/s. */
function pageCopyRate(): number {
  const pool = new ArrayBuffer(4 << 20);
  const pages: Uint8Array[] = [];
  for (let i = 0; i < 1024; i++) pages.push(new Uint8Array(pool, i * 4096, 4096));
  let k = 0;
  return opsPerSec((n) => {
    for (let i = 0; i < n; i++) {
      (pages[(k + 512) & 1023] as Uint8Array).set(pages[k & 1023] as Uint8Array);
      k++;
    }
  }, 4096);
}

export const benches: Bench[] = [
  {
    name: 'net.small',
    unit: 'frames/s',
    better: 'higher',
    target: 0.2,
    run() {
      pathRate(64); // warm-up
      // Interleaved, so that load from other processes hits the figure and its limit alike.
      const runs: number[] = [];
      const limits: number[] = [];
      for (let i = 0; i < 5; i++) {
        limits.push(engineHoldRate());
        runs.push(pathRate(64).framesPerS);
      }
      return {
        value: median(runs),
        limit: median(limits),
        limitName: 'engine hold rate (events/s, queue 1024)',
        extra: { frameBytes: 14 + 20 + 8 + 64 },
      };
    },
  },
  {
    name: 'net.bulk',
    unit: 'MB/s',
    better: 'higher',
    target: 0.5,
    run() {
      pathRate(1472);
      // Interleaved, so that load from other processes hits the figure and its limit alike.
      const runs: number[] = [];
      const limits: number[] = [];
      let frameBytes = 0;
      for (let i = 0; i < 5; i++) {
        limits.push(pageCopyRate() / 1e6);
        const r = pathRate(1472);
        frameBytes = r.frameBytes;
        runs.push((r.framesPerS * frameBytes) / 1e6);
      }
      return {
        value: median(runs),
        limit: median(limits),
        limitName: '4 KiB page copy bandwidth (Uint8Array.set)',
        extra: { frameBytes },
      };
    },
  },
];
