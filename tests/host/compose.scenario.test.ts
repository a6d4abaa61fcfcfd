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

describe('a guest with a disk and a console on a composed host', () => {
  it('connects its vbd (reference 6.2 nodes), writes through blkfront/blkback into the image file, and logs to xenconsoled', async () => {
    host = new SimHost({ nrPcpus: 2, memoryBytes: 1024 << 20, dom0MemBytes: 256 << 20 });
    const h = host;
    const cfg = `${CFG.replace('guest1', 'disky')}
disk = [ '/var/lib/xen/images/guest.img,raw,xvda,rw' ]
extra = "init=disk-writer -- 64 7"
`;
    const xs = new XsClient(new LocalXenstoreConnection(h.xenstored));
    const fe = '/local/domain/1/device/vbd/51712';
    const be = '/local/domain/0/backend/vbd/1/51712';
    // Snapshot both directories the moment both ends are Connected (the guest then writes and powers off).
    let connected: Record<string, string | undefined> | undefined;
    const snap = (): void => {
      if (connected || xs.read(`${fe}/state`) !== '4' || xs.read(`${be}/state`) !== '4') return;
      connected = {};
      for (const n of ['ring-ref', 'event-channel', 'protocol', 'backend-id', 'virtual-device'])
        connected[`fe/${n}`] = xs.read(`${fe}/${n}`);
      for (const n of [
        'sectors',
        'sector-size',
        'info',
        'feature-flush-cache',
        'physical-device',
        'mode',
        'frontend-id',
      ])
        connected[`be/${n}`] = xs.read(`${be}/${n}`);
    };
    xs.watch('/local/domain', snap);
    let out = '';
    let attached = false;
    h.toolstack.onDomainEvent((e) => {
      if (e.type !== 'created' || attached) return;
      attached = true;
      h.engine.at(h.engine.now, () =>
        h.xenconsoled.attach(e.domid)?.onData((b) => (out += new TextDecoder().decode(b))),
      );
    });
    const created = await h.run(h.toolstack.create(req(cfg)), 60 * SEC);
    const domid = created.domid as number;
    expect(domid).toBe(1);
    h.engine.runUntilCondition(() => !h.hypervisor.liveDomain(domid), h.engine.now + 120 * SEC);
    expect(h.hypervisor.liveDomain(domid)).toBeUndefined(); // init returned: the guest powered off

    expect(connected).toMatchObject({
      'fe/protocol': 'x86_64-abi',
      'fe/backend-id': '0',
      'fe/virtual-device': '51712',
      'be/sectors': String((256 << 20) / 512),
      'be/sector-size': '512',
      'be/info': '0',
      'be/feature-flush-cache': '1',
      'be/mode': 'w',
      'be/frontend-id': '1',
    });
    expect(connected?.['fe/ring-ref']).toMatch(/^\d+$/);
    expect(connected?.['fe/event-channel']).toMatch(/^\d+$/);

    // init=disk-writer wrote 64 blocks of seed 7 from sector 0 and flushed before powering off.
    const { patternBlock } = await import('../../domU/workloads/disk-io.js');
    const { readFileSync } = await import('node:fs');
    const img = readFileSync(h.platform.fs.hostPath('/var/lib/xen/images/guest.img'));
    for (const i of [0, 1, 31, 63]) {
      expect(
        Buffer.compare(
          img.subarray(i * 4096, (i + 1) * 4096),
          Buffer.from(patternBlock(7, i, 4096)),
        ),
      ).toBe(0);
    }
    expect(img.subarray(64 * 4096, 65 * 4096).every((b) => b === 0)).toBe(true);
    expect(out).toMatch(/xensim PV kernel: domid 1/);
  });
});

describe('a kernel image naming a guest-program module', () => {
  it('runs the user program as init inside the PV kernel, and the guest powers off when it returns', async () => {
    host = new SimHost({ nrPcpus: 1, memoryBytes: 512 << 20, dom0MemBytes: 128 << 20 });
    const h = host;
    const { writeFileSync } = await import('node:fs');
    // A user's guest program: sequential generator code using the kernel API.
    writeFileSync(
      h.platform.fs.hostPath('/boot/hello.mjs'),
      `export default function* main(k, args) {
  k.print('hello from a guest program\\n');
  yield* k.sleep(5e6);
  k.print('slept 5 ms of virtual time\\n');
  return 0;
}
`,
    );
    writeFileSync(
      h.platform.fs.hostPath('/boot/hello-kernel'),
      JSON.stringify({ 'xensim-kernel': 1, module: 'hello.mjs' }),
    );
    const domid = await h.create({ name: 'hello', kernel: '/boot/hello-kernel', memory: 32 });
    expect(h.runUntil(() => !h.hypervisor.liveDomain(domid), 60 * SEC)).toBe(true);
    const out = h.consoleOutput(domid);
    expect(out).toContain('hello from a guest program');
    expect(out).toContain('slept 5 ms of virtual time');
  });

  it('a missing kernel or a module that is not a guest program is refused, naming the path, and nothing is left', async () => {
    host = new SimHost({ nrPcpus: 1, memoryBytes: 512 << 20, dom0MemBytes: 128 << 20 });
    const h = host;
    await expect(h.create({ name: 'nokernel', kernel: '/boot/nope', memory: 32 })).rejects.toThrow(
      /\/boot\/nope/,
    );
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      h.platform.fs.hostPath('/boot/bad.mjs'),
      'export default async function main() {}\n',
    );
    writeFileSync(
      h.platform.fs.hostPath('/boot/bad-kernel'),
      JSON.stringify({ 'xensim-kernel': 1, module: 'bad.mjs' }),
    );
    await expect(
      h.create({ name: 'bad', kernel: '/boot/bad-kernel', memory: 32 }),
    ).rejects.toThrow();
    expect((await h.domains()).map((d) => d.name)).toEqual(['Domain-0']);
  });
});
