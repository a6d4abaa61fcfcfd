// A test host for the network path: page frames, per-domain grant entries, GNTTABOP_copy with
// Xen's checks, interdomain event channels delivered through the engine, a synchronous xenstore
// with watches fired as engine events, and a BackendPlatform for dom0 over all of it.

import { Engine } from '../../hypervisor/engine/engine.js';
import {
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTST_bad_copy_arg,
  GNTST_bad_gntref,
  GNTST_general_error,
  GNTST_okay,
  GNTST_permission_denied,
  type gnttab_copy,
} from '../../hypercalls/grant-table.js';
import type { BackendPlatform, GrantMapping, LocalPage } from '../../dom0/backends/platform.js';
import type { NetfrontIo } from '../../domU/net/netfront-core.js';

interface Grant {
  mfn: number;
  readonly: boolean;
  to: number;
}

export const NOTIFY_LATENCY_NS = 2_000;

export class FakeHost {
  readonly engine = new Engine({ seed: 1, trace: false });
  readonly frames = new Map<number, Uint8Array>();
  readonly grantTables = new Map<number, Map<number, Grant>>();
  private nextMfn = 0x1000;
  private nextRef = new Map<number, number>();
  copyOps = 0;
  // event channels: global port ids
  private nextPort = 1;
  private readonly portHandlers = new Map<number, () => void>();
  private readonly peer = new Map<number, number>();
  // xenstore
  readonly store = new Map<string, string>();
  private readonly watches = new Map<number, { path: string; cb: (p: string) => void }>();
  private nextWatch = 1;

  allocFrame(): number {
    const mfn = this.nextMfn++;
    this.frames.set(mfn, new Uint8Array(4096));
    return mfn;
  }

  grant(domid: number, mfn: number, to: number, readonly: boolean): number {
    let t = this.grantTables.get(domid);
    if (!t) {
      t = new Map();
      this.grantTables.set(domid, t);
    }
    const ref = this.nextRef.get(domid) ?? 8;
    this.nextRef.set(domid, ref + 1);
    t.set(ref, { mfn, readonly, to });
    return ref;
  }

  /** The page granted by `domid` as `ref` to `to`, or a GNTST status. */
  private lookup(domid: number, ref: number, to: number, write: boolean): Uint8Array | number {
    const g = this.grantTables.get(domid)?.get(ref);
    if (!g) return GNTST_bad_gntref;
    if (g.to !== to) return GNTST_general_error;
    if (write && g.readonly) return GNTST_general_error;
    return this.frames.get(g.mfn) ?? GNTST_general_error;
  }

  private side(
    p: gnttab_copy['source'],
    gref: boolean,
    write: boolean,
    caller: number,
  ): Uint8Array | number {
    return gref
      ? this.lookup(p.domid, p.u.ref ?? -1, caller, write)
      : (this.frames.get(p.u.gmfn ?? -1) ?? GNTST_permission_denied);
  }

  /** GNTTABOP_copy as dom0 (`caller`). */
  copy(caller: number): (ops: gnttab_copy[], count: number) => number {
    return (ops, count) => {
      for (let i = 0; i < count; i++) {
        const op = ops[i] as gnttab_copy;
        this.copyOps++;
        const src = this.side(op.source, (op.flags & GNTCOPY_source_gref) !== 0, false, caller);
        const dst = this.side(op.dest, (op.flags & GNTCOPY_dest_gref) !== 0, true, caller);
        if (typeof src === 'number') op.status = src;
        else if (typeof dst === 'number') op.status = dst;
        else if (op.source.offset + op.len > 4096 || op.dest.offset + op.len > 4096) {
          op.status = GNTST_bad_copy_arg;
        } else {
          dst.set(src.subarray(op.source.offset, op.source.offset + op.len), op.dest.offset);
          op.status = GNTST_okay;
        }
      }
      return 0;
    };
  }

  /** The guest side (NetfrontIo) of domain `domid` talking to backend 0 over `port`. */
  guestIo(domid: number, port: () => number): NetfrontIo {
    return {
      allocPage: () => this.allocFrame(),
      freePage: (pfn) => void this.frames.delete(pfn),
      pfnToMfn: (pfn) => pfn,
      writableView: (pfn) => this.frames.get(pfn),
      view: (pfn) => this.frames.get(pfn),
      grantAccess: (mfn, ro) => this.grant(domid, mfn, 0, ro),
      endAccess: (ref) => this.grantTables.get(domid)?.delete(ref) ?? false,
      notify: () => this.send(port()),
    };
  }

  /** EVTCHNOP_alloc_unbound for a guest: its port; `handler` runs on events. */
  allocUnbound(handler: () => void): number {
    const port = this.nextPort++;
    this.portHandlers.set(port, handler);
    return port;
  }

  send(port: number): number {
    const other = this.peer.get(port);
    if (other === undefined) return -22;
    this.engine.after(NOTIFY_LATENCY_NS, () => this.portHandlers.get(other)?.());
    return 0;
  }

  private fire(path: string): void {
    for (const w of [...this.watches.values()]) {
      if (path === w.path || path.startsWith(`${w.path}/`)) {
        this.engine.after(0, () => w.cb(path));
      }
    }
  }

  write(path: string, value: string): void {
    this.store.set(path, value);
    this.fire(path);
  }

  rm(path: string): void {
    for (const k of [...this.store.keys()]) {
      if (k === path || k.startsWith(`${path}/`)) this.store.delete(k);
    }
    this.fire(path);
  }

  /** A BackendPlatform for dom0. */
  platform(): BackendPlatform {
    const maps = new Map<number, Uint8Array>();
    let handle = 1;
    return {
      domid: 0,
      grants: {
        copy: this.copy(0),
        map: (domid, ref, readonly): GrantMapping => {
          const r = this.lookup(domid, ref, 0, !readonly);
          if (typeof r === 'number') return { status: r, handle: -1, bytes: undefined };
          const h = handle++;
          maps.set(h, r);
          return { status: GNTST_okay, handle: h, bytes: r };
        },
        unmap: (m) => (maps.delete(m.handle) ? GNTST_okay : -4),
        allocPages: (count): LocalPage[] =>
          Array.from({ length: count }, () => {
            const gmfn = this.allocFrame();
            return { gmfn, bytes: this.frames.get(gmfn) as Uint8Array };
          }),
        freePages: (pages) => {
          for (const p of pages) this.frames.delete(p.gmfn);
        },
      },
      evtchn: {
        bindInterdomain: (_dom, remotePort) => {
          if (!this.portHandlers.has(remotePort)) return -22;
          const port = this.nextPort++;
          this.peer.set(port, remotePort);
          this.peer.set(remotePort, port);
          return port;
        },
        send: (port) => this.send(port),
        close: (port) => {
          this.portHandlers.delete(port);
          const other = this.peer.get(port);
          this.peer.delete(port);
          if (other !== undefined) this.peer.delete(other);
          return 0;
        },
        listen: (port, handler) => void this.portHandlers.set(port, handler),
      },
      xs: {
        read: (p) => this.store.get(p),
        write: (p, v) => {
          this.write(p, v);
          return true;
        },
        rm: (p) => {
          this.rm(p);
          return true;
        },
        directory: (p) => {
          const out = new Set<string>();
          for (const k of this.store.keys()) {
            if (k.startsWith(`${p}/`)) out.add(k.slice(p.length + 1).split('/')[0] as string);
          }
          return [...out].sort();
        },
        watch: (path, cb) => {
          const id = this.nextWatch++;
          this.watches.set(id, { path, cb });
          this.engine.after(0, () => cb(path));
          return id;
        },
        unwatch: (id) => void this.watches.delete(id),
      },
      clock: {
        now: () => this.engine.now,
        at: (t, fn) => this.engine.at(t, fn),
        cancel: (t) => void this.engine.cancel(t),
      },
    };
  }
}
