// Guests on one bridge over the real grant-table engine (grant-tables/), driven by direct calls:
// each has a NetfrontCore and a zero-copy NetifProcessor whose bridge port takes NetFrames, so a
// test can hold a frame between netback's tx and the receiver's rx and look at every counter.

import {
  NETBACK_BOUNCE_PAGES,
  NETBACK_POOL_PAGES,
  NetifProcessor,
} from '../../dom0/backends/netback/netif-processor.js';
import { Bridge } from '../../dom0/net/bridge.js';
import type { BridgePort } from '../../dom0/net/bridge-port.js';
import { FramePool } from '../../dom0/net/frame-pool.js';
import { NetfrontCore } from '../../domU/net/netfront-core.js';
import type { PageFrag } from '../../domU/net/page-frag.js';
import { GNTTABOP_copy } from '../../hypercalls/grant-table.js';
import { PAGE_SIZE } from '../../hypercalls/types.js';
import { World, type Dom } from '../grant-tables/world.js';

export interface ZcVif {
  readonly domid: number;
  readonly mac: number;
  readonly dom: Dom;
  readonly core: NetfrontCore;
  readonly proc: NetifProcessor;
  readonly port: BridgePort;
  /** Every frame netfront delivered, copied. */
  readonly got: Uint8Array[];
  /** Grants netfront made, in order (ref). */
  readonly grants: number[];
  /** Times netback asked for its zero-copy answers to be pushed; the guest's next free pfn. */
  readonly state: { completions: number; nextPfn: number };
}

/** The MAC of guest `domid`: 00:16:3e:00:00:<domid>. */
export const macOf = (domid: number): number => 0x00163e000000 + domid;

export class ZcRig {
  readonly w = new World(64 << 20);
  readonly dom0: Dom;
  readonly bridge = new Bridge('xenbr0', { now: () => 0 });
  readonly vifs: ZcVif[] = [];
  private dom0Pages = 0;

  constructor() {
    this.dom0 = this.w.domain(0, 512, 4);
  }

  addVif(domid: number, mtu = 1500, portMtu = mtu): ZcVif {
    const dom = this.w.domain(domid, 700, 4);
    const grants: number[] = [];
    const v = { completions: 0, nextPfn: 0 };
    const core = NetfrontCore.setup({
      allocPage: () => v.nextPfn++,
      freePage: () => undefined,
      pfnToMfn: (pfn) => dom.mem.pfnToMfn(pfn),
      writableView: (pfn) => dom.mem.writableView(pfn),
      view: (pfn) => dom.mem.view(pfn),
      grantAccess: (mfn, ro) => {
        const ref = dom.client.grantAccess(0, mfn, ro);
        grants.push(ref);
        return ref;
      },
      endAccess: (ref) => dom.client.endAccess(ref),
      notify: () => undefined,
    });
    if (!core.ok) throw new Error(core.error);
    const d0 = this.dom0;
    const tx = d0.client.map(domid, core.value.txRef, false);
    const rx = d0.client.map(domid, core.value.rxRef, false);
    const page = () => {
      const pfn = this.dom0Pages++;
      return { gmfn: d0.mem.pfnToMfn(pfn), bytes: d0.mem.writableView(pfn) as Uint8Array };
    };
    const bounce = Array.from({ length: NETBACK_BOUNCE_PAGES }, page);
    const framePool = new FramePool(Array.from({ length: NETBACK_POOL_PAGES }, page));
    let port: BridgePort | null = null;
    const proc = NetifProcessor.attach(
      d0.mem.mappedView(tx.hostAddr) as Uint8Array,
      d0.mem.mappedView(rx.hostAddr) as Uint8Array,
      {
        frontendDomid: domid,
        copy: (ops, count) => d0.op(GNTTABOP_copy, ops, count),
        bounce,
        mtu,
        rxSg: true,
        deliver: (f) => this.bridge.input(port as BridgePort, f),
        now: () => 0,
        framePool,
        zeroCopy: true,
        onTxComplete: () => void v.completions++,
      },
    );
    if (!proc.ok) throw new Error(proc.error);
    const added = this.bridge.addPort({
      name: `vif${domid}.0`,
      kind: 'vif',
      mtu: portMtu,
      deliver: (f) => proc.value.enqueueRx(f),
      deliverFrame: (f) => proc.value.enqueueRx(f),
    });
    if (!added.ok) throw new Error(added.error);
    port = added.port;
    const got: Uint8Array[] = [];
    core.value.onFrame = (f) => got.push(f.slice());
    core.value.onFrameParts = (parts, len) => {
      const f = new Uint8Array(len);
      let pos = 0;
      for (const p of parts) {
        f.set(p, pos);
        pos += p.length;
      }
      got.push(f);
    };
    const vif: ZcVif = {
      domid,
      mac: macOf(domid),
      dom,
      core: core.value,
      proc: proc.value,
      port,
      got,
      grants,
      state: v,
    };
    this.vifs.push(vif);
    return vif;
  }

  /** `bytes` in fresh pages of `vif`'s guest: the pieces to send them from. */
  dataPages(vif: ZcVif, bytes: Uint8Array): PageFrag[] {
    const frags: PageFrag[] = [];
    for (let off = 0; off < bytes.length; off += PAGE_SIZE) {
      const pfn = vif.state.nextPfn++;
      const chunk = bytes.subarray(off, off + PAGE_SIZE);
      (vif.dom.mem.writableView(pfn) as Uint8Array).set(chunk);
      frags.push({ pfn, offset: 0, length: chunk.length });
    }
    return frags;
  }

  /** netback tx of every vif (frames reach the bridge and the receivers' queues). */
  tx(): void {
    for (const v of this.vifs) v.proc.processTx(64);
  }

  /** netback rx, netfront rx, the pushed zero-copy answers and netfront's tx collection. */
  rx(): void {
    for (const v of this.vifs) {
      v.proc.processRx(64);
      v.core.pollRx();
    }
    for (const v of this.vifs) {
      v.proc.pushTxCompletions();
      v.core.collectTx();
    }
  }

  pump(): void {
    this.tx();
    this.rx();
  }
}

/** An Ethernet header from `src` to `dst` (IPv4 EtherType), then `payload`. */
export function ethHead(dst: number, src: number, extra = 0): Uint8Array {
  const h = new Uint8Array(14 + extra);
  for (let i = 0; i < 6; i++) {
    h[5 - i] = Math.floor(dst / 256 ** i) % 256;
    h[11 - i] = Math.floor(src / 256 ** i) % 256;
  }
  h[12] = 0x08;
  for (let i = 14; i < h.length; i++) h[i] = i & 0xff;
  return h;
}

/** Test data: byte i is a mix of i and `seed`. */
export function pattern(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = (i * 31 + seed + (i >>> 9)) & 0xff;
  return out;
}

/** head then every fragment's bytes, as the frame should arrive. */
export function concat(head: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.length + data.length);
  out.set(head, 0);
  out.set(data, head.length);
  return out;
}
