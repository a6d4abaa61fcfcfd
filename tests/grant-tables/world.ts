// Test fixture: machine memory plus grant tables, with plain domids (dom0 privileged).

import { GrantTables, type GrantTablesOptions } from '../../grant-tables/grant-tables.js';
import { GrantClient } from '../../hypercalls/grant-client.js';
import { XENMEM_populate_physmap, type GuestMemory } from '../../hypercalls/memory.js';
import { asDomId } from '../../hypercalls/types.js';
import { MachineMemory } from '../../hypervisor/memory/machine-memory.js';
import type { CallerContext } from '../../hypervisor/subsystems.js';

export const caller = (domid: number): CallerContext => ({
  domid: asDomId(domid),
  privileged: domid === 0,
});

export interface Dom {
  id: number;
  mem: GuestMemory;
  client: GrantClient;
  /** grant_table_op as the guest sees it: 0 or a negative errno. */
  op(cmd: number, uops: unknown, count: number): number;
}

export class World {
  readonly mm: MachineMemory;
  readonly gt: GrantTables;

  constructor(memoryBytes = 32 << 20, opts: GrantTablesOptions = {}) {
    this.mm = new MachineMemory({ memoryBytes });
    this.gt = new GrantTables(this.mm, opts);
  }

  /** A domain with `pages` populated pfns, its grant table (max `maxFrames`) and an initialised client. */
  domain(id: number, pages = 8, maxFrames = 4): Dom {
    const domid = asDomId(id);
    this.mm.createDomain(domid, pages + 16);
    const ext = Array.from({ length: pages }, (_, i) => i);
    this.mm.memoryOp(caller(0), XENMEM_populate_physmap, {
      extent_start: ext,
      nr_extents: pages,
      extent_order: 0,
      mem_flags: 0,
      domid: id,
    });
    this.gt.createDomain(domid, maxFrames);
    const g = this.mm.guest(domid);
    if (!g.ok) throw new Error('no guest');
    const mem = g.value;
    const op = (cmd: number, uops: unknown, count: number): number => {
      const r = this.gt.grantTableOp(caller(id), cmd, uops, count);
      return r.ok ? r.value : -r.errno;
    };
    const client = new GrantClient({
      gnttabOp: (cmd, uops, count) => op(cmd, uops, count),
      ownFrame: (mfn) => mem.ownFrame(mfn),
    });
    if (client.init() !== 0) throw new Error('grant client init failed');
    return { id, mem, client, op };
  }

  destroy(id: number, onReleased: (id: number) => void = () => undefined): boolean {
    this.gt.destroyDomain(asDomId(id));
    return this.mm.destroyDomain(asDomId(id), onReleased);
  }
}
