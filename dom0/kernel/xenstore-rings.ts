// xenstored's domain connections (tools/xenstore/xenstored_domain.c new_domain, map_interface,
// domain_cleanup): on XS_INTRODUCE it maps the guest's store page (privcmd foreign map of the MFN
// start_info names, as xenstored does when no grant mapping is used), binds an interdomain port to
// the guest's store event channel, and serves the ring; when the domain dies it unmaps the page and
// closes the port, so the dead domain's frames can go.

import type { ForeignMapping, ForeignMemory } from '../../hypercalls/memory.js';

import { connectGuestRing, type GuestRingConnection } from '../xenstored/guest-ring-connection.js';
import type { Xenstored } from '../xenstored/xenstored.js';
import type { Dom0Kernel } from './dom0-kernel.js';

interface RingGlue {
  ring: GuestRingConnection;
  mapping: ForeignMapping;
  port: number;
}

export interface XenstoreRings {
  /** Releases the glue of every domain xenstored no longer knows (call after domain cleanup). */
  reap(): void;
  /** Domains served over a ring now. */
  readonly domids: () => number[];
}

export function serveXenstoreRings(
  store: Xenstored,
  kernel: Dom0Kernel,
  foreign: ForeignMemory,
): XenstoreRings {
  const glue = new Map<number, RingGlue>();
  const release = (domid: number): void => {
    const g = glue.get(domid);
    if (!g) return;
    glue.delete(domid);
    kernel.closePort(g.port);
    foreign.unmapForeign(g.mapping);
  };
  store.introduceHook = (domid, gfn, port) => {
    if (glue.has(domid)) release(domid);
    const m = foreign.mapForeignMfns(domid, [gfn], true);
    if (!m.ok) return 'EINVAL';
    const page = m.value.view(0);
    if (!page) {
      foreign.unmapForeign(m.value);
      return 'EINVAL';
    }
    let ring: GuestRingConnection | null = null;
    const local = kernel.bindInterdomain(domid, port, () => ring?.kick());
    if (local < 0) {
      foreign.unmapForeign(m.value);
      return 'EINVAL';
    }
    ring = connectGuestRing(store, domid, page, () => kernel.notify(local));
    glue.set(domid, { ring, mapping: m.value, port: local });
    return ring.conn;
  };
  return {
    reap() {
      for (const domid of [...glue.keys()]) if (!store.domains.has(domid)) release(domid);
    },
    domids: () => [...glue.keys()].sort((a, b) => a - b),
  };
}
