// A whole host wired by the composition root: a guest built by the toolstack boots the xensim PV
// kernel, which talks to dom0's xenstored over its real ring page and event channel.

import { afterEach, describe, expect, it } from 'vitest';
import { SimHost } from '../../dom0/host/compose.js';
import { XsClient } from '../../dom0/toolstack/xs-client.js';
import { LocalXenstoreConnection } from '../../dom0/toolstack/xs-local.js';

const SEC = 1_000_000_000;
const CFG = `
name = "guest1"
kernel = "/boot/vmlinuz-xensim-pv"
memory = 64
vcpus = 2
`;

const req = (configText: string) => ({
  configText,
  configSource: 'guest1.cfg',
  overrides: [],
  paused: false,
  dryRun: false,
  cwd: '/',
});

let host: SimHost | undefined;
afterEach(() => host?.dispose());

describe('a host wired by the composition root', () => {
  it('creates a PV guest whose kernel reaches xenstored over its ring, and powers it off on request', async () => {
    host = new SimHost({ nrPcpus: 2, memoryBytes: 1024 << 20, dom0MemBytes: 256 << 20 });
    const h = host;
    const created = await h.run(h.toolstack.create(req(CFG)), 60 * SEC);
    expect(created.domid).toBe(1);
    h.runFor(2 * SEC);

    const list = await h.run(h.toolstack.listDomains());
    expect(list.map((d) => d.name)).toEqual(['Domain-0', 'guest1']);
    const guest = list[1];
    expect(guest?.vcpuOnline).toBe(2);
    expect(guest?.currentMemKb).toBe(64 * 1024);
    expect(guest?.paused).toBe(false);

    // Written by the guest kernel itself, through the xenstore ring: the ring and its event channel work.
    const xs = new XsClient(new LocalXenstoreConnection(h.xenstored));
    expect(xs.read('/local/domain/1/control/feature-poweroff')).toBe('1');
    expect(h.xenstoreRings.domids()).toEqual([1]);

    const death = await h.run(h.toolstack.shutdown(1, 'poweroff', true), 120 * SEC);
    expect(death?.event).toBe('shutdown');
    expect(death?.shutdownReason).toBe(0); // SHUTDOWN_poweroff
    h.runFor(1 * SEC);
    const after = await h.run(h.toolstack.listDomains());
    expect(after.map((d) => d.name)).toEqual(['Domain-0']);
    expect(h.xenstoreRings.domids()).toEqual([]);
    expect(xs.read('/local/domain/1/name')).toBeUndefined();
  });
});
