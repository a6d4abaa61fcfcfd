import { afterEach, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../dom0/toolstack/lifecycle.js';
import {
  BASIC_CFG,
  SEC,
  cleanupHost,
  createReq,
  listTree,
  makeHost,
  usedFrames,
  type TestHost,
} from './host.js';

let h: TestHost | undefined;
afterEach(() => {
  if (h) cleanupHost(h);
  h = undefined;
});

async function boot(host: TestHost, cfg = BASIC_CFG): Promise<number> {
  const r = await host.run(host.ts.create(createReq(cfg)));
  return r.domid as number;
}

describe('domain lifecycle (libxl_domain.c, xl_vmcontrol.c handle_domain_death)', () => {
  it('destroy removes the domain, its xenstore nodes, backend dirs and frames', async () => {
    h = makeHost();
    const treeBefore = listTree(h.xs);
    const framesBefore = usedFrames(h.mm);
    const domid = await boot(
      h,
      `${BASIC_CFG}\ndisk = [ '/var/lib/xen/images/guest.img,raw,xvda,rw' ]\n`,
    );
    expect(usedFrames(h.mm)).toBeGreaterThan(framesBefore + 16000);
    await h.run(h.ts.destroy(domid));
    expect(h.hv.domain(domid)).toBeUndefined();
    expect(usedFrames(h.mm)).toBe(framesBefore);
    const left = listTree(h.xs).filter((p) => !treeBefore.includes(p));
    expect(left.filter((p) => !p.endsWith('/backend') && !p.endsWith('/backend/vbd'))).toEqual([]);
    await expect(h.run(h.ts.domainInfo(domid))).rejects.toThrow('does not exist');
  });

  it('xl shutdown -w: poweroff through control/shutdown, on_poweroff=destroy removes the domain', async () => {
    h = makeHost();
    const domid = await boot(h);
    const ev = await h.run(h.ts.shutdown(domid, 'poweroff', true));
    expect(ev).toEqual({ domid, event: 'shutdown', shutdownReason: 0 });
    h.engine.runFor(SEC);
    expect(h.hv.domain(domid)).toBeUndefined();
    expect(h.xs.exists(`/local/domain/${domid}`)).toBe(false);
  });

  it('a guest that ignores control/shutdown fails the request after 60 s (GUEST_TIMEDOUT) and the request is withdrawn', async () => {
    h = makeHost();
    const domid = await boot(h);
    h.guestsIgnoreShutdown.add(domid);
    const t0 = h.engine.now;
    await expect(h.run(h.ts.shutdown(domid, 'poweroff', false))).rejects.toMatchObject({
      code: 'GUEST_TIMEDOUT',
    });
    expect(h.engine.now - t0).toBeGreaterThanOrEqual(60 * SEC);
    expect(h.engine.now - t0).toBeLessThan(61 * SEC);
    expect(h.xs.read(`/local/domain/${domid}/control/shutdown`)).toBe('');
    expect((await h.run(h.ts.domainInfo(domid))).shutdown).toBe(false);
  });

  it('reboot with on_reboot=restart destroys the domain and creates it again with a new domid', async () => {
    h = makeHost();
    const events: DomainEvent[] = [];
    h.ts.onDomainEvent((e) => events.push(e));
    const domid = await boot(h);
    await h.run(h.ts.shutdown(domid, 'reboot', false));
    h.engine.runFor(2 * SEC);
    const restarted = events.find((e) => e.type === 'restarted');
    expect(restarted).toBeDefined();
    const newDomid = restarted?.type === 'restarted' ? restarted.newDomid : -1;
    expect(newDomid).not.toBe(domid);
    expect(h.ts.domidOf('guest1')).toBe(newDomid);
    expect(h.hv.domain(domid)).toBeUndefined();
    expect(h.xs.read(`/local/domain/${newDomid}/name`)).toBe('guest1');
  });

  it('on_poweroff=preserve keeps the shut-down domain under a dated name; rename-restart also starts a new one', async () => {
    h = makeHost();
    const domid = await boot(
      h,
      `${BASIC_CFG}\non_poweroff = "preserve"\non_reboot = "rename-restart"\n`,
    );
    await h.run(h.ts.shutdown(domid, 'poweroff', true));
    h.engine.runFor(SEC);
    const info = await h.run(h.ts.domainInfo(domid));
    expect(info.shutdown).toBe(true);
    expect(info.name).toMatch(/^guest1-\d{8}T\d{4}Z$/);
    expect(h.ts.domidOf('guest1')).toBeUndefined();
    // A new guest1 can now be rebooted with rename-restart.
    const second = await boot(h, `${BASIC_CFG}\non_reboot = "rename-restart"\nname = "guest2"\n`);
    await h.run(h.ts.shutdown(second, 'reboot', false));
    h.engine.runFor(2 * SEC);
    const again = h.ts.domidOf('guest2');
    expect(again).toBeDefined();
    expect(again).not.toBe(second);
    expect((await h.run(h.ts.domainInfo(second))).shutdown).toBe(true);
  });

  it('on_crash=coredump-destroy writes /var/lib/xen/dump/<name> and destroys the domain', async () => {
    h = makeHost();
    const domid = await boot(h, `${BASIC_CFG}\nmemory = 16\non_crash = "coredump-destroy"\n`);
    h.hv.shutdownDomain(h.hv.domain(domid) as never, 3);
    h.engine.runFor(SEC);
    expect(h.hv.domain(domid)).toBeUndefined();
    const st = h.dom0fs.stat('/var/lib/xen/dump/guest1');
    expect(st?.sizeBytes).toBeGreaterThan(16 * 1024 * 1024);
  });

  it('pause and unpause count controller pauses; rename changes both name nodes', async () => {
    h = makeHost();
    const domid = await boot(h);
    await h.run(h.ts.pause(domid));
    expect((await h.run(h.ts.domainInfo(domid))).paused).toBe(true);
    await h.run(h.ts.unpause(domid));
    expect((await h.run(h.ts.domainInfo(domid))).paused).toBe(false);
    await h.run(h.ts.rename(domid, 'web'));
    expect(h.xs.read(`/local/domain/${domid}/name`)).toBe('web');
    const vm = h.xs.read(`/local/domain/${domid}/vm`) as string;
    expect(h.xs.read(`${vm}/name`)).toBe('web');
    expect(h.ts.domidOf('web')).toBe(domid);
    await boot(h, BASIC_CFG.replace('guest1', 'other'));
    await expect(h.run(h.ts.rename(domid, 'other'))).rejects.toThrow('already exists');
  });

  it('listDomains shows Domain-0 and the guests in domid order', async () => {
    h = makeHost();
    await boot(h);
    await boot(h, BASIC_CFG.replace('guest1', 'guest2'));
    const l = await h.run(h.ts.listDomains());
    expect(l.map((d) => [d.domid, d.name])).toEqual([
      [0, 'Domain-0'],
      [1, 'guest1'],
      [2, 'guest2'],
    ]);
  });
});

describe('host queries', () => {
  it('info() reports the host from physinfo and xen_version', async () => {
    h = makeHost();
    const i = await h.run(h.ts.info());
    expect(i.nrCpus).toBe(4);
    expect(i.xenMajor).toBe(4);
    expect(i.xenMinor).toBe(17);
    expect(i.scheduler).toBe('credit2');
    expect(i.host).toBe('xensim-test');
    expect(i.totalPages).toBeGreaterThan(0);
  });

  it('create -n (dry run) returns the libxl JSON and creates nothing; domainConfig returns it for a domain', async () => {
    h = makeHost();
    const dry = await h.run(h.ts.create({ ...createReq(BASIC_CFG), dryRun: true }));
    expect(dry.domid).toBeUndefined();
    expect(JSON.parse(dry.configJson)).toMatchObject({ c_info: { name: 'guest1' } });
    expect(h.hv.domains().length).toBe(1);
    const domid = await boot(h);
    expect(await h.run(h.ts.domainConfig(domid))).toMatchObject({ c_info: { name: 'guest1' } });
  });

  it('dmesg returns the hypervisor console', async () => {
    h = makeHost();
    expect(await h.run(h.ts.dmesg(false))).toContain('Xen version 4.17');
  });
});
