// What dom0's backend drivers (Linux drivers/block/xen-blkback, drivers/xen/xenbus backend side,
// tools/console/daemon) reach the host through: grant copy and map of a frontend's grant refs,
// interdomain event channels, xenstore on behalf of dom0, dom0's own pages for bounce buffers, and
// virtual time. The composition root builds one per host over dom0's hypercall page.

import {
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_close,
  EVTCHNOP_send,
  type EvtchnBindInterdomain,
} from '../../hypercalls/event-channel.js';
import type { HypercallInterface } from '../../hypercalls/guest-interface.js';
import {
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_bad_handle,
  GNTST_general_error,
  GNTST_okay,
  GNTTABOP_copy,
  GNTTABOP_map_grant_ref,
  GNTTABOP_unmap_grant_ref,
  type gnttab_copy,
  type gnttab_map_grant_ref,
  type gnttab_unmap_grant_ref,
} from '../../hypercalls/grant-table.js';
import type { GuestMemory } from '../../hypercalls/memory.js';
import { PAGE_SIZE } from '../../hypercalls/types.js';

/** One of dom0's own pages: its frame number (the `u.gmfn` of a grant copy) and its bytes. */
export interface LocalPage {
  readonly gmfn: number;
  /** The 4 KiB of the frame, which the backend fills before and drains after a grant copy. */
  readonly bytes: Uint8Array;
}

/** A foreign page grant-mapped into dom0 (GNTTABOP_map_grant_ref with GNTMAP_host_map). */
export interface GrantMapping {
  /** GNTST_* of the map. */
  readonly status: number;
  /** The maptrack handle for unmap (valid when status is GNTST_okay). */
  readonly handle: number;
  /** The mapped page (a writable map only), undefined on failure. */
  readonly bytes: Uint8Array | undefined;
}

export interface BackendGrants {
  /**
   * HYPERVISOR_grant_table_op(GNTTABOP_copy, ops, count): 0 or a negative errno; each of the first
   * `count` ops gets its GNTST status. Callers reuse the op objects between calls.
   */
  copy(ops: gnttab_copy[], count: number): number;
  /** Maps `ref` granted by `domid` (a ring page: writable). */
  map(domid: number, ref: number, readonly: boolean): GrantMapping;
  /** Unmaps a mapping made by `map`; returns its GNTST status. */
  unmap(mapping: GrantMapping): number;
  /** `count` of dom0's own pages for bounce buffers (not necessarily adjacent), or undefined. */
  allocPages(count: number): LocalPage[] | undefined;
  freePages(pages: readonly LocalPage[]): void;
}

export interface BackendEventChannels {
  /** EVTCHNOP_bind_interdomain to the frontend's unbound port: dom0's local port, or a negative errno. */
  bindInterdomain(remoteDomid: number, remotePort: number): number;
  /** EVTCHNOP_send on a local port: 0 or a negative errno. */
  send(port: number): number;
  /** EVTCHNOP_close (and stop delivering to the handler): 0 or a negative errno. */
  close(port: number): number;
  /**
   * Runs `handler` each time dom0's kernel takes an event on `port` (in dom0's upcall, on a dom0
   * vCPU). One handler per port; a new one replaces the old.
   */
  listen(port: number, handler: () => void): void;
}

/** A watch registration (unwatch with it). */
export type BackendWatch = number;

/** xenstore as dom0 (privileged), synchronous like libxenstore over the local socket. */
export interface BackendXenstore {
  /** The node's value, undefined when it does not exist (or cannot be read). */
  read(path: string): string | undefined;
  /** true when written. */
  write(path: string, value: string): boolean;
  /** Removes a node and its children; true when it is gone. */
  rm(path: string): boolean;
  /** Child names, [] when the node does not exist. */
  directory(path: string): string[];
  /**
   * XS_WATCH: `cb` gets the path that changed (the watched path itself first, as xenstored fires a
   * new watch once). Undefined when xenstored refused the watch.
   */
  watch(path: string, cb: (path: string) => void): BackendWatch | undefined;
  unwatch(watch: BackendWatch): void;
}

/** A timer handle from BackendClock.at. */
export type BackendTimer = number;

/** Virtual time (the engine's queue): backends never read the wall clock. */
export interface BackendClock {
  /** Virtual ns since the host booted. */
  now(): number;
  /** Runs `fn` at absolute virtual time `timeNs` (>= now). */
  at(timeNs: number, fn: () => void): BackendTimer;
  cancel(timer: BackendTimer): void;
}

/** Everything a backend needs from dom0; nothing else crosses into dom0/backends/. */
export interface BackendPlatform {
  /** The backend domain's id (0 for dom0). */
  readonly domid: number;
  readonly grants: BackendGrants;
  readonly evtchn: BackendEventChannels;
  readonly xs: BackendXenstore;
  readonly clock: BackendClock;
}

// ---- Over dom0's hypercall page ----------------------------------------------------------------

/** What `hypercallBackendPlatform` needs: dom0's own pieces, as the composition root holds them. */
export interface Dom0BackendDeps {
  readonly domid: number;
  /** dom0's hypercall page (grant_table_op and event_channel_op are used). */
  readonly hypercalls: Pick<HypercallInterface, 'grant_table_op' | 'event_channel_op'>;
  /** dom0's memory: pfnToMfn and writableView for bounce pages, mappedView for grant maps. */
  readonly memory: Pick<GuestMemory, 'pfnToMfn' | 'writableView' | 'mappedView'>;
  /** A free pfn of dom0's own for a bounce page, or -1 (dom0's page allocator). */
  allocPfn(): number;
  freePfn(pfn: number): void;
  /** dom0's kernel: run `handler` when an event arrives on `port` (and stop on close). */
  listen(port: number, handler: (() => void) | null): void;
  readonly xs: BackendXenstore;
  readonly clock: BackendClock;
  /**
   * Start of this backend's region of dom0's address space for grant maps (a vmalloc-like area).
   * Backends of the same domain need disjoint regions, or their mappings would collide.
   */
  readonly mapBase?: number;
}

/** Default first host address used for backend grant maps. */
const BACKEND_MAP_BASE = 0x7000_0000_0000;

/**
 * The BackendPlatform the composition root hands to blkback and xenconsoled: grant ops and event
 * channel ops through dom0's hypercall page, bounce pages from dom0's allocator.
 */
export function hypercallBackendPlatform(d: Dom0BackendDeps): BackendPlatform {
  const h = d.hypercalls;
  const hostAddrs = new Map<number, number>();
  const freeAddrs: number[] = [];
  let nextAddr = d.mapBase ?? BACKEND_MAP_BASE;
  const pfnOf = new Map<number, number>();
  const grants: BackendGrants = {
    copy: (ops, count) => h.grant_table_op(GNTTABOP_copy, ops, count),
    map(domid, ref, readonly) {
      const hostAddr = freeAddrs.pop() ?? (nextAddr += PAGE_SIZE);
      const op: gnttab_map_grant_ref = {
        host_addr: hostAddr,
        flags: GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0),
        ref,
        dom: domid,
      };
      const rc = h.grant_table_op(GNTTABOP_map_grant_ref, [op], 1);
      const status = rc < 0 ? GNTST_general_error : (op.status ?? GNTST_general_error);
      if (status !== GNTST_okay) {
        freeAddrs.push(hostAddr);
        return { status, handle: -1, bytes: undefined };
      }
      const handle = op.handle ?? -1;
      hostAddrs.set(handle, hostAddr);
      return { status, handle, bytes: d.memory.mappedView(hostAddr) };
    },
    unmap(mapping) {
      const hostAddr = hostAddrs.get(mapping.handle);
      if (hostAddr === undefined) return GNTST_bad_handle;
      const op: gnttab_unmap_grant_ref = {
        host_addr: hostAddr,
        dev_bus_addr: 0,
        handle: mapping.handle,
      };
      const rc = h.grant_table_op(GNTTABOP_unmap_grant_ref, [op], 1);
      const status = rc < 0 ? GNTST_general_error : (op.status ?? GNTST_general_error);
      if (status === GNTST_okay) {
        hostAddrs.delete(mapping.handle);
        freeAddrs.push(hostAddr);
      }
      return status;
    },
    allocPages(count) {
      const out: LocalPage[] = [];
      for (let i = 0; i < count; i++) {
        const pfn = d.allocPfn();
        const bytes = pfn < 0 ? undefined : d.memory.writableView(pfn);
        if (bytes === undefined) {
          if (pfn >= 0) d.freePfn(pfn);
          grants.freePages(out);
          return undefined;
        }
        const gmfn = d.memory.pfnToMfn(pfn);
        pfnOf.set(gmfn, pfn);
        out.push({ gmfn, bytes });
      }
      return out;
    },
    freePages(pages) {
      for (const p of pages) {
        const pfn = pfnOf.get(p.gmfn);
        if (pfn === undefined) continue;
        pfnOf.delete(p.gmfn);
        d.freePfn(pfn);
      }
    },
  };
  const evtchn: BackendEventChannels = {
    bindInterdomain(remoteDomid, remotePort) {
      const arg: EvtchnBindInterdomain = {
        remote_dom: remoteDomid,
        remote_port: remotePort,
        local_port: 0,
      };
      const rc = h.event_channel_op(EVTCHNOP_bind_interdomain, arg);
      return rc < 0 ? rc : arg.local_port;
    },
    send: (port) => h.event_channel_op(EVTCHNOP_send, { port }),
    close(port) {
      d.listen(port, null);
      return h.event_channel_op(EVTCHNOP_close, { port });
    },
    listen: (port, handler) => d.listen(port, handler),
  };
  return { domid: d.domid, grants, evtchn, xs: d.xs, clock: d.clock };
}
