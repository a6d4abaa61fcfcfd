import { afterEach, describe, expect, it } from 'vitest';
import { XenbusState } from '../../hypercalls/io/xenbus.js';
import { readGrantEntryV1, grantEntryOffset } from '../../hypercalls/io/grant-entry.js';
import { GTF_permit_access } from '../../hypercalls/grant-table.js';
import { BASIC_CFG, SEC, cleanupHost, createReq, makeHost, type TestHost } from './host.js';

let h: TestHost | undefined;
afterEach(() => {
  if (h) cleanupHost(h);
  h = undefined;
});

describe('xl create (libxl domain build)', () => {
  it('builds, introduces and unpauses a PV domain with the xenstore layout of reference 5.10', async () => {
    h = makeHost();
    const intro: string[] = [];
    h.xs.watch('@introduceDomain', (p) => intro.push(p));
    const r = await h.run(h.ts.create(createReq(BASIC_CFG)));
    const domid = r.domid as number;
    expect(domid).toBe(1);
    const xs = h.xs;
    const dp = `/local/domain/${domid}`;
    expect(xs.read(`${dp}/name`)).toBe('guest1');
    expect(xs.read(`${dp}/domid`)).toBe('1');
    expect(xs.getPerms(dp)).toEqual({ ok: true, value: ['n0', 'r1'] });
    expect(xs.getPerms(`${dp}/control/shutdown`)).toEqual({ ok: true, value: ['n1'] });
    expect(xs.getPerms(`${dp}/data`)).toEqual({ ok: true, value: ['n1'] });
    expect(xs.getPerms(`${dp}/device`)).toEqual({ ok: true, value: ['n0', 'r1'] });
    expect(xs.read(`${dp}/memory/static-max`)).toBe('65536');
    expect(xs.read(`${dp}/memory/target`)).toBe('65536');
    expect(xs.read(`${dp}/cpu/0/availability`)).toBe('online');
    expect(xs.read(`${dp}/cpu/1/availability`)).toBe('online');
    expect(xs.read(`${dp}/control/platform-feature-xs_reset_watches`)).toBe('1');
    expect(xs.read(`${dp}/console/limit`)).toBe('1048576');
    const vm = xs.read(`${dp}/vm`) as string;
    expect(vm).toMatch(/^\/vm\/[0-9a-f-]{36}$/);
    expect(xs.read(`${vm}/name`)).toBe('guest1');
    expect(xs.read(`/libxl/${domid}/type`)).toBe('pv');
    // @introduceDomain fired (the first event is the registration's own).
    expect(intro.length).toBe(2);
    // Xen: max_pages = target + LIBXL_MAXMEM_CONSTANT, all of the target populated, running.
    const info = await h.run(h.ts.domainInfo(domid));
    expect(info.maxMemKb).toBe(65536 + 1024);
    expect(info.currentMemKb).toBeGreaterThanOrEqual(65536);
    expect(info.paused).toBe(false);
    expect(info.vcpuOnline).toBe(2);
    // start_info as the guest saw it names the xenstore/console pages and ports in xenstore.
    const boot = h.boots.find((b) => b.domid === domid);
    expect(boot?.nrPages).toBe(16384);
    expect(String(boot?.storeEvtchn)).toBe(xs.read(`${dp}/store/port`));
    expect(String(boot?.storeMfn)).toBe(xs.read(`${dp}/store/ring-ref`));
    expect(String(boot?.consoleEvtchn)).toBe(xs.read(`${dp}/console/port`));
  });

  it('fills grant refs 0 (console) and 1 (xenstore) for dom0 in the guest table (xc_dom_gnttab_init)', async () => {
    h = makeHost();
    const { domid } = await h.run(h.ts.create(createReq(BASIC_CFG)));
    const g = h.mm.guest(domid as never);
    expect(g.ok).toBe(true);
    // The grant table frame as the guest sees it through setup_table.
    const frames = h.ts.xc.grantFrames(domid as number, 1);
    expect(frames.ok).toBe(true);
    const mfn = frames.ok ? (frames.value[0] as number) : -1;
    const view = h.mm.frameView(mfn);
    const dv = new DataView(view.buffer, view.byteOffset, 4096);
    const e0 = readGrantEntryV1(dv, grantEntryOffset(0));
    const e1 = readGrantEntryV1(dv, grantEntryOffset(1));
    const dp = `/local/domain/${domid}`;
    expect(e0).toEqual({
      flags: GTF_permit_access,
      domid: 0,
      frame: Number(h.xs.read(`${dp}/console/ring-ref`)),
    });
    expect(e1).toEqual({
      flags: GTF_permit_access,
      domid: 0,
      frame: Number(h.xs.read(`${dp}/store/ring-ref`)),
    });
  });

  it('create -p leaves the domain paused', async () => {
    h = makeHost();
    const { domid } = await h.run(h.ts.create(createReq(BASIC_CFG, { paused: true })));
    expect((await h.run(h.ts.domainInfo(domid as number))).paused).toBe(true);
    await h.run(h.ts.unpause(domid as number));
    expect((await h.run(h.ts.domainInfo(domid as number))).paused).toBe(false);
  });

  it('a missing kernel is an error naming the path, and nothing is created', async () => {
    h = makeHost();
    const cfg = BASIC_CFG.replace('/boot/vmlinuz-xensim-pv', '/boot/nope');
    await expect(h.run(h.ts.create(createReq(cfg)))).rejects.toThrow(
      "failed to open file '/boot/nope'",
    );
    expect(h.hv.domains().length).toBe(1);
  });

  it('a missing disk image is an error naming the path', async () => {
    h = makeHost();
    const cfg = `${BASIC_CFG}\ndisk = [ '/var/lib/xen/images/missing.img,raw,xvda,rw' ]\n`;
    await expect(h.run(h.ts.create(createReq(cfg)))).rejects.toThrow(
      '/var/lib/xen/images/missing.img',
    );
    expect(h.hv.domains().length).toBe(1);
  });

  it('attaches a disk at create: both xenstore ends, hotplug, backend InitWait', async () => {
    h = makeHost();
    const cfg = `${BASIC_CFG}\ndisk = [ '/var/lib/xen/images/guest.img,raw,xvda,rw' ]\n`;
    const { domid } = await h.run(h.ts.create(createReq(cfg)));
    const be = `/local/domain/0/backend/vbd/${domid}/51712`;
    const fe = `/local/domain/${domid}/device/vbd/51712`;
    expect(h.xs.read(`${be}/frontend`)).toBe(fe);
    expect(h.xs.read(`${be}/state`)).toBe(String(XenbusState.InitWait));
    expect(h.xs.read(`${be}/hotplug-status`)).toBe('connected');
    expect(h.xs.read(`${be}/params`)).toBe(h.dom0fs.hostPath('/var/lib/xen/images/guest.img'));
    expect(h.xs.read(`${fe}/backend`)).toBe(be);
    expect(h.xs.getPerms(fe)).toEqual({ ok: true, value: [`n${domid}`, 'r0'] });
    expect(h.xs.getPerms(be)).toEqual({ ok: true, value: ['n0', `r${domid}`] });
    const list = await h.run(h.ts.blockList(domid as number));
    expect(list.map((d) => d.devid)).toEqual([51712]);
  });

  it('a backend that never reaches InitWait fails the create after exactly 10 s (LIBXL_INIT_TIMEOUT)', async () => {
    h = makeHost();
    h.backendDisabled = true;
    const cfg = `${BASIC_CFG}\ndisk = [ '/var/lib/xen/images/guest.img,raw,xvda,rw' ]\n`;
    const t0 = h.engine.now;
    await expect(h.run(h.ts.create(createReq(cfg)))).rejects.toThrow('InitWait');
    expect(h.engine.now - t0).toBeGreaterThanOrEqual(10 * SEC);
    expect(h.engine.now - t0).toBeLessThan(10 * SEC + SEC / 10);
    expect(h.hv.domains().map((d) => d.domid)).toEqual([0]);
    expect(h.xs.exists('/local/domain/0/backend/vbd/1')).toBe(false);
  });

  it('refuses a second domain with the same name', async () => {
    h = makeHost();
    await h.run(h.ts.create(createReq(BASIC_CFG)));
    await expect(h.run(h.ts.create(createReq(BASIC_CFG)))).rejects.toThrow('already exists');
  });
});
