import { afterEach, describe, expect, it } from 'vitest';
import { BASIC_CFG, SEC, cleanupHost, createReq, makeHost, type TestHost } from './host.js';

let h: TestHost | undefined;
afterEach(() => {
  if (h) cleanupHost(h);
  h = undefined;
});

async function boot(host: TestHost, cfg = BASIC_CFG): Promise<number> {
  return (await host.run(host.ts.create(createReq(cfg)))).domid as number;
}

describe('resources (libxl_mem.c, libxl_domain.c, libxl_sched.c)', () => {
  it('mem-set writes memory/target and sets max_pages to target + 1 MiB', async () => {
    h = makeHost();
    const domid = await boot(h, `${BASIC_CFG}\nmaxmem = 128\n`);
    await h.run(h.ts.memSet(domid, 32768));
    expect(h.xs.read(`/local/domain/${domid}/memory/target`)).toBe('32768');
    expect((await h.run(h.ts.domainInfo(domid))).maxMemKb).toBe(32768 + 1024);
  });

  it('mem-set above static-max is refused (memory_dynamic_max <= memory_static_max)', async () => {
    h = makeHost();
    const domid = await boot(h);
    await expect(h.run(h.ts.memSet(domid, 65537))).rejects.toThrow(
      'memory_dynamic_max must be less than or equal to memory_static_max',
    );
    expect(h.xs.read(`/local/domain/${domid}/memory/target`)).toBe('65536');
  });

  it('mem-max below the current target is refused; above it raises static-max and max_pages', async () => {
    h = makeHost();
    const domid = await boot(h);
    await expect(h.run(h.ts.memMax(domid, 1024))).rejects.toThrow('memory_static_max');
    await h.run(h.ts.memMax(domid, 131072));
    expect(h.xs.read(`/local/domain/${domid}/memory/static-max`)).toBe('131072');
    expect((await h.run(h.ts.domainInfo(domid))).maxMemKb).toBe(131072 + 1024);
    await h.run(h.ts.memSet(domid, 100000));
    expect(h.xs.read(`/local/domain/${domid}/memory/target`)).toBe('100000');
  });

  it("dom0's target may not go below 128 MiB (LIBXL_MIN_DOM0_MEM)", async () => {
    h = makeHost();
    await expect(h.run(h.ts.memSet(0, 64 * 1024))).rejects.toThrow('minimum');
  });

  it('vcpu-set writes cpu/N/availability and refuses more than maxvcpus', async () => {
    h = makeHost();
    const domid = await boot(h, `${BASIC_CFG}\nmaxvcpus = 4\n`);
    expect(h.xs.read(`/local/domain/${domid}/cpu/3/availability`)).toBe('offline');
    await h.run(h.ts.vcpuSet(domid, 3));
    expect(
      ['0', '1', '2', '3'].map((i) => h?.xs.read(`/local/domain/${domid}/cpu/${i}/availability`)),
    ).toEqual(['online', 'online', 'online', 'offline']);
    await expect(h.run(h.ts.vcpuSet(domid, 5))).rejects.toThrow('greater than max allowed');
  });

  it('vcpu-pin sets hard and soft affinity and vcpu-list reports them', async () => {
    h = makeHost();
    const domid = await boot(h);
    await h.run(h.ts.vcpuPin(domid, 1, [2, 3], [3], false));
    const l = await h.run(h.ts.vcpuList(domid));
    const v1 = l.find((v) => v.vcpuId === 1);
    expect(v1?.hardAffinity).toEqual([2, 3]);
    expect(v1?.softAffinity).toEqual([3]);
    await h.run(h.ts.vcpuPin(domid, 'all', [0], null, false));
    const l2 = await h.run(h.ts.vcpuList(domid));
    expect(l2.map((v) => v.hardAffinity)).toEqual([[0], [0]]);
    expect(l2.find((v) => v.vcpuId === 1)?.softAffinity).toEqual([3]);
    await expect(h.run(h.ts.vcpuPin(domid, 0, [9], null, false))).rejects.toThrow('not present');
  });

  it('sched-credit2 get/set per domain (weight, cap) and for the pool; credit is refused under credit2', async () => {
    h = makeHost();
    const domid = await boot(h);
    await h.run(h.ts.schedCredit2DomainSet(domid, { weight: 512 }));
    const pools = await h.run(h.ts.schedCredit2Get());
    expect(pools[0]?.poolName).toBe('Pool-0');
    expect(pools[0]?.domains.find((d) => d.domid === domid)).toMatchObject({ weight: 512, cap: 0 });
    await expect(h.run(h.ts.schedCredit2DomainSet(domid, { weight: 0 }))).rejects.toThrow(
      'weight out of range',
    );
    await expect(h.run(h.ts.schedCreditGet())).rejects.toThrow('not the scheduler');
    await h.run(h.ts.schedCredit2ParamsSet(undefined, { ratelimitUs: 2000 }));
    expect((await h.run(h.ts.schedCredit2Get()))[0]?.params.ratelimitUs).toBe(2000);
  });

  it('cpu_weight and cap from the config reach the scheduler at create', async () => {
    h = makeHost();
    const domid = await boot(h, `${BASIC_CFG}\ncpu_weight = 1024\ncap = 50\n`);
    const pools = await h.run(h.ts.schedCredit2Get());
    expect(pools[0]?.domains.find((d) => d.domid === domid)).toMatchObject({
      weight: 1024,
      cap: 50,
    });
  });

  it('block-attach, block-list, block-detach on a running domain', async () => {
    h = makeHost();
    const domid = await boot(h);
    await h.run(h.ts.blockAttach(domid, ['/var/lib/xen/images/guest.img', 'raw', 'xvdb', 'rw']));
    expect((await h.run(h.ts.blockList(domid))).map((d) => d.devid)).toEqual([51728]);
    await expect(
      h.run(h.ts.blockAttach(domid, ['/var/lib/xen/images/guest.img,raw,xvdb,rw'])),
    ).rejects.toThrow('already exists');
    await h.run(h.ts.blockDetach(domid, 'xvdb', false));
    expect(await h.run(h.ts.blockList(domid))).toEqual([]);
    expect(h.xs.exists(`/local/domain/0/backend/vbd/${domid}/51728`)).toBe(false);
    await expect(h.run(h.ts.blockDetach(domid, 'xvdb', false))).rejects.toThrow('not connected');
  });

  it('block-detach waits 10 s for a backend that never closes; -f removes it anyway', async () => {
    h = makeHost();
    const domid = await boot(h);
    await h.run(h.ts.blockAttach(domid, ['/var/lib/xen/images/guest.img,raw,xvdb,rw']));
    h.backendDisabled = true;
    const t0 = h.engine.now;
    await expect(h.run(h.ts.blockDetach(domid, 'xvdb', false))).rejects.toThrow('use -f to force');
    expect(h.engine.now - t0).toBeGreaterThanOrEqual(10 * SEC);
    await h.run(h.ts.blockDetach(domid, 'xvdb', true));
    expect(h.xs.exists(`/local/domain/0/backend/vbd/${domid}/51728`)).toBe(false);
    expect(await h.run(h.ts.blockList(domid))).toEqual([]);
  });
});
