// Jumbo frames between two guests on a composed host: both vifs have `mtu=9000`, the bulk sender
// sends its datagrams from pages of its own without copying (netfront grants them, netback keeps
// them as fragments, the receiving netback grant-copies them straight into the receiver's buffers),
// and the transfer arrives byte-exact in 9000-byte datagrams.

import { afterEach, describe, expect, it } from 'vitest';
import type { SimHost } from '../../dom0/host/compose.js';
import { crc32 } from '../../domU/net/inet.js';
import { patternBytes } from '../../domU/net/workloads.js';
import { createGuest, guestCfg, netHost, runUntilConsole, SEC } from './world.js';

let host: SimHost | undefined;
afterEach(() => {
  host?.dispose();
  host = undefined;
});

describe('a bulk transfer over jumbo frames (vif mtu=9000)', () => {
  it('arrives byte-exact in datagrams of 9000-byte IP packets, sent from the guest pages without copying', async () => {
    const h = (host = netHost());
    const bytes = 1 << 20;
    const seed = 11;
    const rx = await createGuest(
      h,
      guestCfg('sink', ['ip=10.0.0.2,mtu=9000'], 'init=bulk-recv -- 5001 120'),
    );
    const tx = await createGuest(
      h,
      guestCfg(
        'source',
        ['ip=10.0.0.1,mtu=9000'],
        `init=bulk-send -- 10.0.0.2 ${bytes} ${seed} 5001`,
      ),
    );
    const recv = runUntilConsole(h, rx, 'bulk-recv: ' + String(bytes), 120 * SEC);
    const sent = runUntilConsole(h, tx, 'crc32', 30 * SEC);
    const expectCrc = crc32(patternBytes(seed, bytes)).toString(16).padStart(8, '0');
    expect(recv).toContain(`bulk-recv: ${bytes} bytes, crc32 ${expectCrc}, ok`);
    // 9000 - 20 (IP) - 8 (UDP) - 9 (bulk header) bytes of data per datagram.
    const datagrams = Math.ceil(bytes / (9000 - 28 - 9));
    expect(sent).toMatch(
      new RegExp(
        `bulk-send: ${bytes} bytes in ${datagrams} datagrams, .*crc32 ${expectCrc}, confirmed`,
      ),
    );
    // The frames went zero-copy: the sender's vif linearized none of them.
    const vif = h.netback.device(tx, 0);
    expect(vif?.metrics.txPackets).toBeGreaterThanOrEqual(datagrams);
    expect(vif?.metrics.txZeroCopy).toBeGreaterThanOrEqual(datagrams);
    expect(vif?.metrics.txLinearized).toBe(0);
    expect(vif?.metrics.txDropped).toBe(0);
  });
});
