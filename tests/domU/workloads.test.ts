// Built-in workloads and user-written guest programs run as kernel threads.

import { describe, expect, it } from 'vitest';
import { SECTOR_BYTES, type BlockDevice, type BlockResult } from '../../domU/block-device.js';
import { builtinWorkload, loadGuestModule } from '../../domU/guest-module.js';
import type { GuestMain } from '../../domU/kernel-api.js';
import type { KThread } from '../../domU/kthread.js';
import { cpuBurn } from '../../domU/workloads/cpu-burner.js';
import { diskRead, diskWrite, fnv1a } from '../../domU/workloads/disk-io.js';
import { dirtyMemory, type MemoryDirtierStats } from '../../domU/workloads/memory-dirtier.js';
import { SHUTDOWN_poweroff } from '../../hypercalls/sched.js';
import { bootKernel } from './kernel-harness.js';

/** A RAM disk behind the BlockDevice interface. */
class RamDisk implements BlockDevice {
  readonly name = 'xvda';
  readonly readOnly = false;
  readonly bytes: Uint8Array;
  readonly sectors: number;
  flushes = 0;
  constructor(sectors: number) {
    this.sectors = sectors;
    this.bytes = new Uint8Array(sectors * SECTOR_BYTES);
  }
  *read(sector: number, count: number): KThread<BlockResult<Uint8Array>> {
    yield 10_000;
    if (sector + count > this.sectors) return { ok: false, error: 'EIO' };
    return {
      ok: true,
      value: this.bytes.slice(sector * SECTOR_BYTES, (sector + count) * SECTOR_BYTES),
    };
  }
  *write(sector: number, data: Uint8Array): KThread<BlockResult<undefined>> {
    yield 10_000;
    if (sector * SECTOR_BYTES + data.length > this.bytes.length) return { ok: false, error: 'EIO' };
    this.bytes.set(data, sector * SECTOR_BYTES);
    return { ok: true, value: undefined };
  }
  *flush(): KThread<BlockResult<undefined>> {
    this.flushes++;
    yield 0;
    return { ok: true, value: undefined };
  }
}

describe('workloads', () => {
  it('memory dirtier writes stamped bytes into its working set at the asked rate', () => {
    const stats: MemoryDirtierStats = { pfns: [], writes: 0, shortPages: 0, errors: 0 };
    let done = false;
    const { xen, kernel, runUntil } = bootKernel({
      programs: [
        {
          name: 'dirtier',
          *main(k) {
            yield* dirtyMemory(k, {
              workingSetPages: 16,
              pagesPerSecond: 2000,
              maxWrites: 40,
              stats,
            });
            done = true;
          },
        },
      ],
    });
    const t0 = xen.nowNs;
    expect(runUntil(() => done)).toBe(true);
    expect(stats.pfns).toHaveLength(16);
    expect(stats.writes).toBe(40);
    // 40 pages at 2000/s take about 20 ms of virtual time.
    expect(xen.nowNs - t0).toBeGreaterThanOrEqual(18e6);
    expect(xen.nowNs - t0).toBeLessThan(30e6);
    const pfn = stats.pfns[3] as number;
    const dv = new DataView((xen.memory.page(pfn) as Uint8Array).buffer);
    expect(dv.getUint32(0, true)).toBe(0x64697274);
    expect(dv.getUint32(8, true)).toBe(pfn);
    expect(dv.getUint32(4, true)).toBe(2); // the third pass reached page 3 (writes 35)
    expect(xen.memory.written.has(pfn)).toBe(true);
    expect(kernel().pages.stateOf(pfn)).toBe(1);
  });

  it('cpu burner at 50% duty uses half of the elapsed virtual time, sleeping via set_timer_op', () => {
    const stats = { burntNs: 0 };
    let done = false;
    const { xen, runUntil } = bootKernel({
      programs: [
        {
          name: 'burn',
          *main(k) {
            yield* cpuBurn(k, { dutyPercent: 50, periodNs: 10e6, totalNs: 50e6, stats });
            done = true;
          },
        },
      ],
    });
    const t0 = xen.nowNs;
    expect(runUntil(() => done)).toBe(true);
    expect(stats.burntNs).toBe(50e6);
    expect(xen.nowNs - t0).toBeGreaterThanOrEqual(90e6);
    expect(xen.nowNs - t0).toBeLessThanOrEqual(101e6);
    expect(xen.count('set_timer_op')).toBeGreaterThanOrEqual(4);
  });

  it('disk writer then reader: checksums agree, and one flipped byte is one mismatch', () => {
    const disk = new RamDisk(1024);
    let result: { w: number[]; r: number[]; mismatches: number; again: number } | null = null;
    const { runUntil } = bootKernel({
      programs: [
        {
          name: 'disk',
          *main() {
            const w = yield* diskWrite(disk, { blocks: 16, seed: 7 });
            const r = yield* diskRead(disk, { blocks: 16, seed: 7 });
            disk.bytes[5 * 4096 + 100] = (disk.bytes[5 * 4096 + 100] ?? 0) ^ 0xff;
            const again = yield* diskRead(disk, { blocks: 16, seed: 7 });
            result = {
              w: w.checksums,
              r: r.checksums,
              mismatches: r.mismatches,
              again: again.mismatches,
            };
          },
        },
      ],
    });
    expect(runUntil(() => result !== null)).toBe(true);
    const res = result as unknown as {
      w: number[];
      r: number[];
      mismatches: number;
      again: number;
    };
    expect(res.w).toHaveLength(16);
    expect(res.r).toEqual(res.w);
    expect(new Set(res.w).size).toBe(16);
    expect(res.mismatches).toBe(0);
    expect(res.again).toBe(1);
    expect(disk.flushes).toBe(1);
    expect(fnv1a(new Uint8Array([0x61]))).toBe(0xe40c292c);
  });
});

describe('guest program modules', () => {
  it('a module whose default export is a generator function loads and runs; its exit code is kept', () => {
    const mod = {
      default: function* hello(k: Parameters<GuestMain>[0], args: readonly string[]) {
        k.print(`hello from ${args.join(',')}\n`);
        yield* k.sleep(1e6);
        return 3;
      },
    };
    const loaded = loadGuestModule(mod);
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.name).toBe('hello');
    const { kernel, runUntil } = bootKernel({
      programs: [{ name: loaded.name, main: loaded.main, args: ['a', 'b'] }],
    });
    expect(runUntil(() => kernel().exits.has('hello'))).toBe(true);
    expect(kernel().exits.get('hello')).toBe(3);
  });

  it('rejects a module without a generator default export, with a message saying why', () => {
    expect(loadGuestModule(null)).toEqual({ ok: false, error: 'module is not an object' });
    const noDefault = loadGuestModule({ main: () => 0 });
    expect(noDefault.ok ? '' : noDefault.error).toMatch(/default export/);
    const asyncFn = loadGuestModule({ default: async () => {} });
    expect(asyncFn.ok ? '' : asyncFn.error).toMatch(/generator function/);
  });

  it('a program that throws is reported on the console and does not stop the kernel', () => {
    const { xen, xsd, kernel, runUntil } = bootKernel({
      programs: [
        {
          name: 'buggy',
          // eslint-disable-next-line require-yield
          *main() {
            throw new Error('segfault');
          },
        },
      ],
    });
    expect(runUntil(() => kernel().exits.has('buggy'))).toBe(true);
    expect(kernel().exits.get('buggy')).toBe('segfault');
    expect(kernel().log.some((l) => l.includes('segfault'))).toBe(true);
    xsd.set('control/shutdown', 'poweroff');
    expect(runUntil(() => xen.shutdownReason === SHUTDOWN_poweroff)).toBe(true);
  });

  it('poweroffWhenDone shuts the domain down once every program returned', () => {
    const idle = builtinWorkload('idle');
    expect(idle.ok).toBe(true);
    expect(builtinWorkload('nope').ok).toBe(false);
    const { xen, runUntil } = bootKernel({
      poweroffWhenDone: true,
      programs: [
        {
          name: 'short',
          *main(k) {
            yield* k.burn(1e6);
            return 0;
          },
        },
      ],
    });
    expect(runUntil(() => xen.shutdownReason !== null)).toBe(true);
    expect(xen.shutdownReason).toBe(SHUTDOWN_poweroff);
  });
});
