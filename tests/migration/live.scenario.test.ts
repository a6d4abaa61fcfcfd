// Live migration between two hosts of a pool (xg_sr_save.c / xl_migrate.c; reference 10): the
// guest keeps its memory and its running counter, every failure before commitment leaves it running
// on the source with nothing on the target, a target without memory refuses before any page moves,
// and a writer faster than the link converges only by the round limit (Clark et al. NSDI 2005).

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimPool } from '../../dom0/host/pool.js';
import type { SimHost } from '../../dom0/host/compose.js';
import { predictPrecopy } from '../../dom0/migration/precopy-model.js';
import { precopyPolicy } from '../../dom0/migration/precopy-policy.js';
import type { MigrationChannel, MigrationProgress } from '../../dom0/migration/types.js';
import { XENMEM_maximum_gpfn } from '../../hypercalls/memory.js';
import { createGuest, guestCfg, runUntilConsole } from '../net-e2e/world.js';

const SEC = 1_000_000_000;
const MiB = 1 << 20;
const DIRT_MAGIC = 0x64697274;

let pool: SimPool | undefined;
afterEach(() => {
  pool?.dispose();
  pool = undefined;
});

function twoHosts(bMemoryBytes = 1024 * MiB): SimPool {
  pool = new SimPool({
    hosts: ['a', { name: 'b', memoryBytes: bMemoryBytes }],
    defaults: { nrPcpus: 2, memoryBytes: 1024 * MiB, dom0MemBytes: 256 * MiB },
  });
  return pool;
}

async function dirtier(h: SimHost, ws: number, rate: number, memMiB = 32): Promise<number> {
  return h.create({
    name: 'g',
    kernel: '/boot/vmlinuz-xensim-pv',
    memory: memMiB,
    extra: `init=memory-dirtier -- ${ws} ${rate}`,
  });
}

/** The pfns a toolstack rewrites when it rebuilds a domain (P2M list, start_info). */
function rebuiltPfns(h: SimHost, domid: number): Set<number> {
  const rec = h.toolstack.registry.get(domid);
  if (!rec) throw new Error(`no domain ${domid}`);
  const l = rec.layout;
  const s = new Set<number>([l.startInfoPfn]);
  for (let i = 0; i < l.p2mPages; i++) s.add(l.p2mPfn + i);
  return s;
}

/** sha256 over every populated page but the rebuilt ones, and the memory dirtier's highest count. */
function memoryState(h: SimHost, domid: number): { sha: string; pages: number; counter: number } {
  const g = h.memory.guest(domid as never);
  if (!g.ok) throw new Error(`domain ${domid} has no memory`);
  const max = h.platform.hypercalls.memory_op(XENMEM_maximum_gpfn, domid);
  const skip = rebuiltPfns(h, domid);
  const hash = createHash('sha256');
  const page = new Uint8Array(4096);
  const dv = new DataView(page.buffer);
  let pages = 0;
  let counter = -1;
  for (let pfn = 0; pfn <= max; pfn++) {
    if (skip.has(pfn) || g.value.read(pfn, 0, page) !== 0) continue;
    pages++;
    hash.update(page);
    if (dv.getUint32(0, true) === DIRT_MAGIC) counter = Math.max(counter, dv.getUint32(12, true));
  }
  return { sha: hash.digest('hex'), pages, counter };
}

function names(h: SimHost): string[] {
  return [...h.toolstack.registry.all()].map((r) => r.name).sort();
}

describe('live migration in one engine', () => {
  it('moves a memory-dirtying guest with its memory byte for byte and its counter running on', async () => {
    const p = twoHosts();
    const a = p.host('a');
    const b = p.host('b');
    const domid = await dirtier(a, 512, 2000);
    p.runFor(2 * SEC);
    let atSuspend: ReturnType<typeof memoryState> | undefined;
    const phases: string[] = [];
    const { stats, domid: newDomid } = await p.migrate(domid, 'a', 'b', {
      leavePaused: true,
      onProgress: (pr: MigrationProgress) => {
        if (phases.at(-1) !== pr.phase) phases.push(pr.phase);
        // The guest is suspended from here on: its memory is what must arrive.
        if (pr.phase === 'stop-and-copy' && !atSuspend) atSuspend = memoryState(a, domid);
      },
    });
    expect(phases).toEqual(['reserve', 'precopy', 'suspend', 'stop-and-copy', 'commit', 'done']);
    expect(stats.policy).toBe('xen');
    expect(stats.targetDomid).toBe(newDomid);
    expect(stats.rounds[0]?.pagesSent).toBe(32 * 256); // round 1: every page
    expect(stats.downtimeNs).toBeGreaterThan(0);
    expect(stats.bytesOnWire).toBeGreaterThan(32 * MiB);

    // Paused on b as <name>, gone from a; the memory is the source's at suspend, byte for byte.
    expect(names(a)).toEqual([]);
    expect(names(b)).toEqual(['g']);
    const arrived = memoryState(b, newDomid);
    expect(arrived.pages).toBe(atSuspend?.pages);
    expect(arrived.sha).toBe(atSuspend?.sha);
    expect(arrived.counter).toBe(atSuspend?.counter);

    // Unpaused, the same guest program carries on counting from where it stopped (no reboot).
    await p.run(b.toolstack.unpause(newDomid));
    p.runFor(1 * SEC);
    const later = memoryState(b, newDomid);
    expect(later.counter).toBeGreaterThanOrEqual((atSuspend?.counter ?? 0) + 1900);
    expect(later.counter).toBeLessThanOrEqual((atSuspend?.counter ?? 0) + 2100);
    expect(b.consoleOutput(newDomid)).toMatch(/resumed in a new domain/);
    expect(p.handoffs.size).toBe(0);
  });

  it('a target without the memory refuses before any page moves; the guest never paused', async () => {
    const p = twoHosts(384 * MiB);
    const a = p.host('a');
    const b = p.host('b');
    const domid = await dirtier(a, 64, 100, 256);
    p.runFor(1 * SEC);
    const phases: string[] = [];
    await expect(
      p.migrate(domid, 'a', 'b', { onProgress: (pr) => phases.push(pr.phase) }),
    ).rejects.toThrow(/not enough free memory on the target: \d+ MiB free, \d+ MiB needed/);
    expect(phases).not.toContain('precopy');
    // Never asked to suspend: the kernel never froze (do_suspend's first words).
    expect(a.consoleOutput(domid)).not.toMatch(/Freezing/);
    expect(a.toolstack.xs.read(`/local/domain/${domid}/control/shutdown`) ?? '').toBe('');
    expect(names(a)).toEqual(['g']);
    expect(names(b)).toEqual([]);
    const before = a.hypervisor.domain(domid)?.cpuTimeNs ?? 0;
    p.runFor(1 * SEC);
    expect(a.hypervisor.domain(domid)?.cpuTimeNs ?? 0).toBeGreaterThan(before);
  });

  const faults: {
    name: string;
    side: 'source' | 'target';
    when: (pr: MigrationProgress) => boolean;
    suspended: boolean;
  }[] = [
    {
      name: 'the link drops in round 1',
      side: 'source',
      when: (pr) => pr.phase === 'precopy' && pr.pagesSent >= 2048,
      suspended: false,
    },
    {
      name: 'the link drops as the guest is being suspended',
      side: 'source',
      when: (pr) => pr.phase === 'suspend',
      suspended: false, // still running when the link went: it suspends, then is resumed
    },
    {
      name: 'the link drops in the stop-and-copy',
      side: 'source',
      when: (pr) => pr.phase === 'stop-and-copy',
      suspended: true,
    },
    {
      name: 'the target dies after receiving the domain, before the permission to go',
      side: 'target',
      when: (pr) => pr.phase === 'commit',
      suspended: true,
    },
  ];
  for (const f of faults) {
    it(`${f.name}: the guest resumes on the source, intact; the target keeps nothing`, async () => {
      const p = twoHosts();
      const a = p.host('a');
      const b = p.host('b');
      const domid = await dirtier(a, 256, 1000);
      p.runFor(1 * SEC);
      const bPagesBefore = b.memory.totPages(0 as never);
      const [src, dst] = p.connect('a', 'b', { bytesPerSecond: 125_000_000, latencyNs: 100_000 });
      let atFault: ReturnType<typeof memoryState> | undefined;
      const inject = (ch: MigrationChannel) => (pr: MigrationProgress) => {
        if (atFault || !f.when(pr)) return;
        atFault = memoryState(a, domid);
        ch.abort(`fault injected: ${f.name}`);
      };
      const received = b.toolstack.migrateReceive(
        dst,
        {},
        f.side === 'target' ? inject(dst) : () => undefined,
      );
      received.catch(() => undefined);
      await expect(
        p.run(
          a.toolstack.migrateSend(
            domid,
            src,
            {},
            f.side === 'source' ? inject(src) : () => undefined,
          ),
        ),
      ).rejects.toThrow(/migration failed/);
      // The engine stops with the failed op: the guest is resumed but has not run yet.
      const resumed = memoryState(a, domid);
      await expect(p.run(received)).rejects.toThrow(/migration receiver/);
      expect(atFault).toBeDefined();

      // Resumed where it was: same name and domid, memory untouched by the attempt.
      expect(names(a)).toEqual(['g']);
      if (f.suspended) expect(resumed.sha).toBe(atFault?.sha);
      const info = a.toolstack.registry.get(domid);
      expect(info?.name).toBe('g');
      p.runFor(1 * SEC);
      const after = memoryState(a, domid);
      expect(after.counter).toBeGreaterThan(atFault?.counter ?? 0);
      // The target: no domain, no xenstore nodes, no memory kept.
      expect(names(b)).toEqual([]);
      expect(b.toolstack.xs.directory('/local/domain')).toEqual(['0']);
      expect(b.memory.domids()).toEqual([0]);
      expect(b.memory.totPages(0 as never)).toBe(bPagesBefore);
      expect(p.handoffs.size).toBe(0);
    });
  }

  it('a writer faster than the link converges only by the round limit, with a long downtime', async () => {
    const p = twoHosts();
    const a = p.host('a');
    const domid = await dirtier(a, 2048, 4000);
    p.runFor(1 * SEC);
    const link = { bytesPerSecond: 8_000_000, latencyNs: 1_000_000 };
    const { stats } = await p.migrate(domid, 'a', 'b', { link });
    const model = predictPrecopy({
      guestPages: 32 * 256,
      dirty: { workingSetPages: 2048, pagesPerSecond: 4000 },
      bytesPerSecond: link.bytesPerSecond,
      latencyNs: link.latencyNs,
      policy: precopyPolicy('xen'),
    });
    const live = stats.rounds.filter((r) => !r.final);
    expect(live.length).toBe(5); // SPP_MAX_ITERATIONS: 1 full round + 4 dirty ones
    expect(live.map((r) => r.pagesSent)).toEqual(
      model.rounds.filter((r) => !r.final).map((r) => r.pagesSent),
    );
    expect(live.slice(1).every((r) => r.pagesSent === 2048)).toBe(true);
    // The whole working set is still dirty: ~8.4 MB over 8 MB/s is a second of downtime.
    // (plus the kernel's own xenstore and console ring pages it writes as it suspends)
    expect(stats.rounds.at(-1)?.pagesSent).toBeGreaterThanOrEqual(2048);
    expect(stats.rounds.at(-1)?.pagesSent).toBeLessThanOrEqual(2048 + 8);
    expect(stats.downtimeNs).toBeGreaterThan(1.0 * SEC);
    expect(Math.abs(stats.downtimeNs - model.downtimeNs) / model.downtimeNs).toBeLessThan(0.05);
  });

  it('the legacy and downtime-target policies are selectable and stop by their own rules', async () => {
    const p = twoHosts();
    const a = p.host('a');
    const b = p.host('b');
    const domid = await dirtier(a, 2048, 4000);
    p.runFor(1 * SEC);
    const link = { bytesPerSecond: 8_000_000, latencyNs: 1_000_000 };
    const legacy = await p.migrate(domid, 'a', 'b', { link, policy: 'legacy' });
    expect(legacy.stats.policy).toBe('legacy');
    // Xen <= 4.5 keeps going until 3x the guest's pages have been sent.
    const sent = legacy.stats.rounds.filter((r) => !r.final).reduce((n, r) => n + r.pagesSent, 0);
    expect(sent).toBeGreaterThan(3 * 32 * 256);
    const back = await p.migrate(legacy.domid, 'b', 'a', {
      link: { bytesPerSecond: 125_000_000, latencyNs: 100_000 },
      policy: 'downtime',
      downtimeTargetMs: 100,
    });
    expect(back.stats.policy).toBe('downtime');
    // At 1 Gbit/s the working set (8.4 MB) fits 100 ms: it stops after one dirty round or two.
    expect(back.stats.rounds.filter((r) => !r.final).length).toBeLessThanOrEqual(3);
    expect(back.stats.downtimeNs).toBeLessThan(100_000_000);
    expect(names(a)).toEqual(['g']);
    expect(names(b)).toEqual([]);
  });

  it('a peer on the source host pinging the guest gets every reply across the move', async () => {
    const p = twoHosts();
    const a = p.host('a');
    const b = p.host('b');
    p.joinBridges(a, b);
    const server = await p.run(createGuest(a, guestCfg('server', ['ip=10.0.0.2'])));
    const pinger = await p.run(
      createGuest(a, guestCfg('pinger', ['ip=10.0.0.1'], 'init=ping -- 10.0.0.2 10')),
    );
    p.runFor(3 * SEC); // a few replies from the server on host a
    const { domid } = await p.migrate(server, 'a', 'b');
    expect(names(b)).toEqual(['server']);
    const out = runUntilConsole(a, pinger, 'packets transmitted', 60 * SEC);
    // Every echo request got its reply: the migration's downtime is far below ping's 1 s interval.
    expect(out).toMatch(/10 packets transmitted, 10 received, 0% packet loss/);
    expect(b.consoleOutput(domid)).toMatch(/resumed in a new domain/);
  });

  it('the same seed gives the same migration: rounds, bytes and downtime to the nanosecond', async () => {
    const once = async () => {
      const p = twoHosts();
      const domid = await dirtier(p.host('a'), 512, 3000);
      p.runFor(1 * SEC);
      const { stats } = await p.migrate(domid, 'a', 'b');
      p.runFor(1 * SEC);
      const digest = `${p.engine.now}/${p.engine.eventsExecuted}`;
      p.dispose();
      pool = undefined;
      return { stats, digest };
    };
    const x = await once();
    const y = await once();
    expect(y.stats).toEqual(x.stats);
    expect(y.digest).toEqual(x.digest);
  });

  it('a failure after the permission to go is reported as xl does; the source copy is kept', async () => {
    const p = twoHosts();
    const a = p.host('a');
    const b = p.host('b');
    const domid = await dirtier(a, 64, 100);
    p.runFor(1 * SEC);
    const [src, dst] = p.connect('a', 'b', { bytesPerSecond: 125_000_000, latencyNs: 100_000 });
    // The link dies right after the sender's permission reaches the target, before its report.
    dst.onData((c) => {
      if (new TextDecoder().decode(c).startsWith('domain is yours')) dst.abort('target lost');
    });
    const received = b.toolstack.migrateReceive(dst, {}, () => undefined);
    received.catch(() => undefined);
    await expect(p.run(a.toolstack.migrateSend(domid, src, {}, () => undefined))).rejects.toThrow(
      /after commitment[\s\S]*check both hosts/,
    );
    await p.run(received).catch(() => undefined);
    // Both copies may exist: the source keeps its renamed, suspended one for the admin to decide.
    expect(names(a)).toEqual(['g--migratedaway']);
  });

  it('a guest writing to its disk on shared storage migrates mid-write; every block lands (blkif_recover)', async () => {
    // Both hosts see one dom0 filesystem (shared storage, as Xen requires for migration).
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xensim-shared-'));
    try {
      const p = (pool = new SimPool({
        hosts: ['a', 'b'],
        defaults: { nrPcpus: 2, memoryBytes: 1024 * MiB, dom0MemBytes: 256 * MiB, rootDir: root },
      }));
      const a = p.host('a');
      const b = p.host('b');
      fs.writeFileSync(path.join(root, 'var/lib/xen/images/d.img'), new Uint8Array(64 * MiB));
      const disk = ['/var/lib/xen/images/d.img,raw,xvda,rw'];
      const domid = await a.create({
        name: 'w',
        kernel: '/boot/vmlinuz-xensim-pv',
        memory: 32,
        on_poweroff: 'preserve',
        disk,
        extra: 'init=disk-writer -- 16000 7',
      });
      p.runFor(1_000_000); // the writer is a few hundred blocks in
      const fast = { bytesPerSecond: 10_000_000_000, latencyNs: 10_000 };
      const { domid: moved } = await p.migrate(domid, 'a', 'b', { link: fast });
      p.runUntil(() => b.consoleOutput(moved).includes('disk-writer:'), 30 * SEC);
      const out = b.consoleOutput(moved);
      expect(out).toMatch(/blkfront: xvda: reconnected/);
      expect(out).toMatch(/disk-writer: 16000 blocks, 0 errors/);
      // Read back on the target by a new guest: every block has the writer's pattern.
      await p.run(b.toolstack.destroy(moved));
      const reader = await b.create({
        name: 'r',
        kernel: '/boot/vmlinuz-xensim-pv',
        memory: 32,
        on_poweroff: 'preserve',
        disk,
        extra: 'init=disk-reader -- 16000 7',
      });
      p.runUntil(() => b.consoleOutput(reader).includes('disk-reader:'), 30 * SEC);
      expect(b.consoleOutput(reader)).toMatch(/disk-reader: 16000 blocks, 0 mismatches, 0 errors/);
    } finally {
      pool?.dispose();
      pool = undefined;
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('post-copy: the guest resumes on the target after one round and pulls the rest; memory arrives whole', async () => {
    const p = twoHosts();
    const a = p.host('a');
    const b = p.host('b');
    const domid = await dirtier(a, 1024, 20_000);
    p.runFor(1 * SEC);
    let atSuspend: ReturnType<typeof memoryState> | undefined;
    const { stats, domid: moved } = await p.migrate(domid, 'a', 'b', {
      postcopy: true,
      leavePaused: true,
      onProgress: (pr) => {
        if (pr.phase === 'stop-and-copy' && !atSuspend) atSuspend = memoryState(a, domid);
      },
    });
    // One live round, then a stop-and-copy of the boot region only: the dirty set stays behind.
    expect(stats.rounds.filter((r) => !r.final).length).toBe(1);
    expect(stats.rounds.at(-1)?.pagesSent).toBeLessThan(64);
    expect(stats.postcopy?.pages).toBeGreaterThan(900);
    expect(stats.postcopy?.faults).toBe(0); // paused: everything came in the background
    // Once post-copy has finished, the target holds exactly the memory the source froze.
    const arrived = memoryState(b, moved);
    expect(arrived.sha).toBe(atSuspend?.sha);
    expect(names(a)).toEqual([]);
  });

  it('post-copy with the guest running: its writes fault pages in, and its counter carries on', async () => {
    const p = twoHosts();
    const a = p.host('a');
    const b = p.host('b');
    const domid = await dirtier(a, 1024, 20_000);
    p.runFor(1 * SEC);
    let atSuspend = -1;
    const pre = await (async () => {
      const q = twoHosts();
      const d = await dirtier(q.host('a'), 1024, 20_000);
      q.runFor(1 * SEC);
      const r = await q.migrate(d, 'a', 'b');
      q.dispose();
      pool = p;
      return r.stats;
    })();
    const { stats, domid: moved } = await p.migrate(domid, 'a', 'b', {
      postcopy: true,
      onProgress: (pr) => {
        if (pr.phase === 'stop-and-copy' && atSuspend < 0)
          atSuspend = memoryState(a, domid).counter;
      },
    });
    expect(stats.postcopy?.faults).toBeGreaterThan(0);
    expect((stats.postcopy?.faults ?? 0) + 0).toBeLessThanOrEqual(stats.postcopy?.pages ?? 0);
    // Downtime is shorter than pre-copy's for the same guest: the dirty set moves after resume.
    expect(stats.downtimeNs).toBeLessThan(pre.downtimeNs);
    p.runFor(1 * SEC);
    const later = memoryState(b, moved).counter;
    expect(later).toBeGreaterThan(atSuspend + 15_000);
    expect(b.consoleOutput(moved)).toMatch(/resumed in a new domain/);
  });

  it('post-copy without a pager source (a target in another process) is refused before commitment', async () => {
    const p = twoHosts();
    const a = p.host('a');
    const b = p.host('b');
    const domid = await dirtier(a, 256, 1000);
    p.runFor(1 * SEC);
    const [src, dst] = p.connect('a', 'b', { bytesPerSecond: 125_000_000, latencyNs: 100_000 });
    const received = b.toolstack.migrateReceive(dst, {}, () => undefined);
    received.catch(() => undefined);
    await expect(
      p.run(a.toolstack.migrateSend(domid, src, { postcopy: true }, () => undefined)),
    ).rejects.toThrow(/migration failed/);
    await expect(p.run(received)).rejects.toThrow(/post-copy needs the source in the same process/);
    expect(names(a)).toEqual(['g']);
    expect(names(b)).toEqual([]);
    const before = memoryState(a, domid).counter;
    p.runFor(1 * SEC);
    expect(memoryState(a, domid).counter).toBeGreaterThan(before);
  });
});
