// VLANs across a trunk and a bulk transfer on a composed host: two bridges joined by an 802.1Q
// trunk carry VLANs 10 and 20 tagged between guests in those VLANs; a bulk-send/bulk-recv pair
// moves a megabyte through netfront, netback and xenbr0 and the receiver's CRC-32 matches.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimHost } from '../../dom0/host/compose.js';
import { joinBridges } from '../../dom0/net/uplink.js';
import { PortCapture } from '../../dom0/net/pcap.js';
import { crc32 } from '../../domU/net/inet.js';
import { patternBytes } from '../../domU/net/workloads.js';
import { createGuest, guestCfg, netHost, runUntilConsole, SEC } from './world.js';

let host: SimHost | undefined;
let dir: string | undefined;
afterEach(() => {
  host?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
  host = dir = undefined;
});

/** The 802.1Q VLAN ids of the frames in a pcap file (TPID 0x8100 at offset 12), in order. */
function vlanTags(pcap: Uint8Array): number[] {
  const dv = new DataView(pcap.buffer, pcap.byteOffset, pcap.byteLength);
  const tags: number[] = [];
  for (let off = 24; off + 16 <= pcap.length;) {
    const incl = dv.getUint32(off + 8, true);
    const f = off + 16;
    if (incl >= 16 && dv.getUint16(f + 12) === 0x8100) tags.push(dv.getUint16(f + 14) & 0xfff);
    off = f + incl;
  }
  return tags;
}

describe('a trunk between two bridges', () => {
  it('carries VLANs 10 and 20 tagged, and each guest reaches its own VLAN across it', async () => {
    const h = (host = netHost());
    dir = mkdtempSync(join(tmpdir(), 'xensim-e2e-trunk-'));
    expect(h.bridgeCommand(['add', 'xenbr1']).exitCode).toBe(0);
    const br0 = h.bridges.get('xenbr0');
    const br1 = h.bridges.get('xenbr1');
    if (!br0 || !br1) throw new Error('bridges missing');
    const trunk = joinBridges(br0, br1, undefined, { name: 'trunk0' });
    if (!trunk.ok) throw new Error(trunk.error);
    const path = join(dir, 'trunk.pcap');
    const cap = PortCapture.start(trunk.a, path, {});
    if (!cap.ok) throw new Error(cap.error);

    // VLAN 10: 10.0.10.1 (xenbr0) <-> 10.0.10.2 (xenbr1); VLAN 20 likewise, same MAC-free configs.
    await createGuest(h, guestCfg('c10', ['ip=10.0.10.2,vlan=10,bridge=xenbr1']));
    await createGuest(h, guestCfg('c20', ['ip=10.0.20.2,vlan=20,bridge=xenbr1']));
    const a10 = await createGuest(
      h,
      guestCfg('a10', ['ip=10.0.10.1,vlan=10'], 'init=ping -- 10.0.10.2 2'),
    );
    const a20 = await createGuest(
      h,
      guestCfg('a20', ['ip=10.0.20.1,vlan=20'], 'init=ping -- 10.0.20.2 2'),
    );
    const out10 = runUntilConsole(h, a10, 'packet loss');
    const out20 = runUntilConsole(h, a20, 'packet loss');
    cap.capture.stop();
    expect(out10).toContain('2 packets transmitted, 2 received, 0% packet loss');
    expect(out20).toContain('2 packets transmitted, 2 received, 0% packet loss');

    const tags = vlanTags(readFileSync(path));
    expect(new Set(tags)).toEqual(new Set([10, 20]));
    // Every frame on the trunk is tagged: the access ports' untagged frames gained their VLAN.
    expect(tags.length).toBe(cap.capture.frames);
    // tshark agrees: both VLAN ids appear in 802.1Q headers.
    const ids = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'vlan.id'], {
      encoding: 'utf8',
    });
    expect(new Set(ids.trim().split('\n'))).toEqual(new Set(['10', '20']));
  });
});

describe('a bulk transfer between two guests', () => {
  it('arrives byte-exact: the receiver counts every byte and its CRC-32 is that of the data sent', async () => {
    const h = (host = netHost());
    const bytes = 1 << 20;
    const seed = 7;
    const rx = await createGuest(
      h,
      guestCfg('sink', ['ip=10.0.0.2'], 'init=bulk-recv -- 5001 120'),
    );
    const tx = await createGuest(
      h,
      guestCfg('source', ['ip=10.0.0.1'], `init=bulk-send -- 10.0.0.2 ${bytes} ${seed} 5001`),
    );
    const recv = runUntilConsole(h, rx, 'bulk-recv: ' + String(bytes), 120 * SEC);
    const sent = runUntilConsole(h, tx, 'crc32', 30 * SEC);
    const expectCrc = crc32(patternBytes(seed, bytes)).toString(16).padStart(8, '0');
    expect(recv).toContain(`bulk-recv: ${bytes} bytes, crc32 ${expectCrc}, ok`);
    expect(sent).toMatch(
      new RegExp(`bulk-send: ${bytes} bytes in \\d+ datagrams, .*crc32 ${expectCrc}, confirmed`),
    );
  });
});
