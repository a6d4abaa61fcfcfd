// Two guests on a composed host's xenbr0: vifs from `vif = [...]` in their configs, netback and
// netfront connected through xenstore, the vif-bridge hotplug run by the toolstack, ping(8) as the
// guests' init, and a capture of the pinger's vif read back by tshark.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimHost } from '../../dom0/host/compose.js';
import { createGuest, guestCfg, netHost, runUntilConsole, SEC } from './world.js';

let host: SimHost | undefined;
let dir: string | undefined;
afterEach(() => {
  host?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
  host = dir = undefined;
});

function requireTshark(): void {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'tshark is not installed: run `apt-get install -y --no-install-recommends tshark` (CI installs it)',
    );
  }
}

describe('two guests on xenbr0', () => {
  it('ping each other by the ip= of their vif specs, with an RTT per reply', async () => {
    const h = (host = netHost());
    const b = await createGuest(h, guestCfg('pong', ['ip=10.0.0.2,mac=00:16:3e:00:00:02']));
    const a = await createGuest(
      h,
      guestCfg('pinger', ['ip=10.0.0.1,mac=00:16:3e:00:00:01'], 'init=ping -- 10.0.0.2 3'),
    );
    expect(h.bridges.get('xenbr0')?.ports.map((p) => p.name)).toEqual([`vif${b}.0`, `vif${a}.0`]);
    const out = runUntilConsole(h, a, 'packet loss');
    expect(out).toContain('PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.');
    expect(out).toContain('3 packets transmitted, 3 received, 0% packet loss');
    const rtts = [
      ...out.matchAll(/64 bytes from 10\.0\.0\.2: icmp_seq=(\d) ttl=64 time=([0-9.]+) ms/g),
    ];
    expect(rtts.map((m) => m[1])).toEqual(['1', '2', '3']);
    for (const m of rtts) expect(Number(m[2])).toBeGreaterThan(0);
    expect(out).toMatch(/rtt min\/avg\/max = [0-9.]+\/[0-9.]+\/[0-9.]+ ms/);
    // The guest's init returned 0, so the kernel powered the guest off and the toolstack destroyed it.
    h.runUntil(() => h.bridges.get('xenbr0')?.ports.length === 1, 30 * SEC);
    expect(h.bridges.get('xenbr0')?.ports.map((p) => p.name)).toEqual([`vif${b}.0`]);
  });

  it('on different VLANs (vlan=10 and vlan=20) they cannot reach each other', async () => {
    const h = (host = netHost());
    await createGuest(h, guestCfg('pong', ['ip=10.0.0.2,vlan=20']));
    const a = await createGuest(
      h,
      guestCfg('pinger', ['ip=10.0.0.1,vlan=10'], 'init=ping -- 10.0.0.2 2'),
    );
    const out = runUntilConsole(h, a, 'packet loss', 120 * SEC);
    expect(out).toContain('2 packets transmitted, 0 received, 100% packet loss');
    expect(out).not.toContain('bytes from 10.0.0.2');
  });

  it('a capture of the pinger vif, read by `tshark -r`, shows the ICMP echo request and reply', async () => {
    requireTshark();
    const h = (host = netHost());
    dir = mkdtempSync(join(tmpdir(), 'xensim-e2e-pcap-'));
    const path = join(dir, 'ping.pcap');
    await createGuest(h, guestCfg('pong', ['ip=10.0.0.2']));
    const a = await createGuest(h, guestCfg('pinger', ['ip=10.0.0.1'], 'init=ping -- 10.0.0.2 1'), {
      paused: true,
    });
    const cap = h.bridges.capture(`vif${a}.0`, path);
    if (!cap.ok) throw new Error(cap.error);
    await h.run(h.toolstack.unpause(a));
    runUntilConsole(h, a, 'packet loss');
    cap.capture.stop();
    const summary = execFileSync('tshark', ['-r', path], { encoding: 'utf8' });
    expect(summary).toMatch(/10\.0\.0\.1 → 10\.0\.0\.2 +ICMP .*Echo \(ping\) request/);
    expect(summary).toMatch(/10\.0\.0\.2 → 10\.0\.0\.1 +ICMP .*Echo \(ping\) reply/);
    expect(summary).not.toContain('Malformed');
  });
});
