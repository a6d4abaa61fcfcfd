// xl save / xl restore of a running guest program (DEVIATION, dom0/host/handoff.ts): restored by the
// process that saved it, the guest goes on from its suspend point as a real PV guest does with its
// registers (xc_domain_restore + the guest's resume path); a file restored a second time, or by
// another process, starts the kernel again over the saved memory image.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimHost } from '../../dom0/host/compose.js';
import { XENMEM_maximum_gpfn } from '../../hypercalls/memory.js';

const SEC = 1_000_000_000;
const MiB = 1 << 20;
const DIRT_MAGIC = 0x64697274;

const hosts: SimHost[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.dispose();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function host(rootDir?: string): SimHost {
  const h = new SimHost({
    nrPcpus: 2,
    memoryBytes: 512 * MiB,
    dom0MemBytes: 128 * MiB,
    ...(rootDir !== undefined ? { rootDir } : {}),
  });
  hosts.push(h);
  return h;
}

/** The memory dirtier's highest count in the guest's pages. */
function counter(h: SimHost, domid: number): number {
  const g = h.memory.guest(domid as never);
  if (!g.ok) throw new Error(`domain ${domid} has no memory`);
  const max = h.platform.hypercalls.memory_op(XENMEM_maximum_gpfn, domid);
  const page = new Uint8Array(4096);
  const dv = new DataView(page.buffer);
  let c = -1;
  for (let pfn = 0; pfn <= max; pfn++) {
    if (g.value.read(pfn, 0, page) !== 0) continue;
    if (dv.getUint32(0, true) === DIRT_MAGIC) c = Math.max(c, dv.getUint32(12, true));
  }
  return c;
}

/** A 16 MiB guest whose init writes a counter into 64 pages, 1000 times a second. */
const dirtier = (h: SimHost, name: string): Promise<number> =>
  h.create({
    name,
    kernel: '/boot/vmlinuz-xensim-pv',
    memory: 16,
    extra: 'init=memory-dirtier -- 64 1000',
  });

const save = (h: SimHost, domid: number, file: string, checkpoint = false): Promise<void> =>
  h.run(h.toolstack.save({ domid, file, checkpoint, leavePaused: false }, () => undefined));

async function savedDirtier(h: SimHost, file: string): Promise<number> {
  const domid = await dirtier(h, 'g');
  h.runFor(2 * SEC);
  await save(h, domid, file);
  return h.toolstack.registry.get(domid) === undefined ? -1 : domid;
}

const restore = (h: SimHost, file: string) =>
  h.run(h.toolstack.restore({ file, paused: false }, () => undefined)).then((r) => r.domid);

describe('xl save / restore with the guest program', () => {
  it('restored by the process that saved it, the guest carries on from its suspend point', async () => {
    const h = host();
    const file = '/var/lib/xen/save/g.save';
    expect(await savedDirtier(h, file)).toBe(-1); // saved and destroyed
    const domid = await restore(h, file);
    const atRestore = counter(h, domid);
    expect(atRestore).toBeGreaterThan(1500); // ~2 s at 1000 writes/s before the save
    h.runFor(1 * SEC);
    // The same program counts on from its saved value (a restarted one would count from 0).
    expect(counter(h, domid)).toBeGreaterThanOrEqual(atRestore + 900);
    expect(counter(h, domid)).toBeLessThanOrEqual(atRestore + 1100);
    expect(h.consoleOutput(domid)).toMatch(/resumed in a new domain/);
  });

  it('a second restore of the same file, or a restore by another process, starts the kernel again', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xensim-handoff-'));
    dirs.push(root);
    const h = host(root);
    const file = '/var/lib/xen/save/g.save';
    await savedDirtier(h, file);
    const first = await restore(h, file);
    await h.run(h.toolstack.destroy(first));
    const again = await restore(h, file);
    const saved = counter(h, again);
    h.runFor(1 * SEC);
    // A fresh dirtier counts from 0 again over the same working set: the saved counts are
    // overwritten by lower ones.
    expect(saved).toBeGreaterThan(1500);
    expect(counter(h, again)).toBeLessThan(saved);
    expect(h.consoleOutput(again)).not.toMatch(/resumed in a new domain/);
    await h.run(h.toolstack.destroy(again));

    // Another host (its own handoff table, as another process has) over the same dom0 root.
    const other = host(root);
    const there = await restore(other, file);
    other.runFor(1 * SEC);
    expect(counter(other, there)).toBeLessThan(saved);
    expect(other.consoleOutput(there)).not.toMatch(/resumed in a new domain/);
  });

  it('save -c keeps the program running here and the file starts the kernel again', async () => {
    const h = host();
    const file = '/var/lib/xen/save/c.save';
    const domid = await dirtier(h, 'c');
    h.runFor(1 * SEC);
    await save(h, domid, file, true);
    const before = counter(h, domid);
    h.runFor(1 * SEC);
    expect(counter(h, domid)).toBeGreaterThan(before + 900);
    await h.run(h.toolstack.destroy(domid));
    const restored = await restore(h, file);
    expect(h.consoleOutput(restored)).not.toMatch(/resumed in a new domain/);
  });

  it('the file carries the domain as it is now: a mem-set target and a rename survive the restore', async () => {
    const h = host();
    const file = '/var/lib/xen/save/t.save';
    const domid = await h.create({ name: 't', kernel: '/boot/vmlinuz-xensim-pv', memory: 32 });
    await h.run(h.toolstack.memSet(domid, 16 * 1024));
    await h.run(h.toolstack.rename(domid, 'renamed'));
    h.runFor(1 * SEC); // the balloon gives the pages back
    expect((await h.run(h.toolstack.domainInfo(domid))).currentMemKb).toBeLessThanOrEqual(
      16 * 1024,
    );
    await save(h, domid, file);
    const back = await restore(h, file);
    h.runFor(1 * SEC);
    const info = await h.run(h.toolstack.domainInfo(back));
    expect(info.name).toBe('renamed');
    expect(info.currentMemKb).toBeLessThanOrEqual(16 * 1024);
    expect(info.maxMemKb).toBeGreaterThanOrEqual(32 * 1024);
  });
});
