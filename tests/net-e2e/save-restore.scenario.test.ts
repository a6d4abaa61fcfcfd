// A guest with a vif through save and restore on a composed host: the restored domain gets its
// vif back (same MAC, new backend directory and bridge port) and its network works again.

import { afterEach, describe, expect, it } from 'vitest';
import type { SimHost } from '../../dom0/host/compose.js';
import { createGuest, guestCfg, netHost, runUntilConsole, SEC } from './world.js';

let host: SimHost | undefined;
afterEach(() => {
  host?.dispose();
  host = undefined;
});

describe('a guest with a vif across save and restore', () => {
  it('comes back with the same MAC on a new bridge port, and answers a ping', async () => {
    const h = (host = netHost());
    const d = await createGuest(h, guestCfg('server', ['ip=10.0.0.2']));
    h.runFor(1 * SEC);
    const before = await h.run(h.toolstack.networkList(d));
    await h.run(
      h.toolstack.save(
        { domid: d, file: '/var/lib/xen/save/server.save', checkpoint: false, leavePaused: false },
        () => undefined,
      ),
      120 * SEC,
    );
    h.runFor(1 * SEC);
    expect(h.bridges.get('xenbr0')?.ports).toEqual([]);
    const { domid: r } = await h.run(
      h.toolstack.restore(
        { file: '/var/lib/xen/save/server.save', paused: false },
        () => undefined,
      ),
      120 * SEC,
    );
    h.runFor(2 * SEC);
    const after = await h.run(h.toolstack.networkList(r));
    expect(after.map((n) => [n.mac, n.state])).toEqual([[before[0]?.mac, 4]]);
    expect(h.bridges.get('xenbr0')?.ports.map((p) => p.name)).toEqual([`vif${r}.0`]);
    const c = await createGuest(h, guestCfg('client', ['ip=10.0.0.1'], 'init=ping -- 10.0.0.2 2'));
    expect(runUntilConsole(h, c, 'packet loss')).toContain(
      '2 packets transmitted, 2 received, 0% packet loss',
    );
  });
});
