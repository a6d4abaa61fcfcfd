// Building a PV domain as libxl does it (libxl_create.c initiate_domain_create/libxl__domain_make,
// libxl_dom.c libxl__build_pre/_pv/_post, tools/libs/guest/xg_dom_*.c; reference 12): each step
// pushes its undo, and a failure anywhere unwinds them all, leaving no domain, node or frame.

import { GTF_permit_access } from '../../hypercalls/grant-table.js';
import { grantEntryOffset, writeGrantEntryV1 } from '../../hypercalls/io/grant-entry.js';
import { writeStartInfo, XEN_START_INFO_MAGIC_X86_64 } from '../../hypercalls/start-info.js';
import { asMfn, asPort, PAGE_SIZE } from '../../hypercalls/types.js';
import { ToolstackError } from './api.js';
import type { DomainConfig } from './config/domain-config-types.js';
import { effectiveLimits } from './config/domain-config.js';
import { effectiveNic, generateMac } from './config/vif-spec.js';
import type { DomainRecord, DomainRegistry, VbdRecord, VifRecord } from './domain-registry.js';
import type { LoadedKernel } from './kernel-loader.js';
import type { Dom0Platform } from './platform.js';
import type { Op } from './task.js';
import { checkDisk, removeVbdNodes, waitVbdAttached, writeVbdNodes } from './vbd.js';
import { removeVifNodes, waitVifAttached, writeVifNodes } from './vif.js';
import type { Xc } from './xc.js';
import type { XsClient } from './xs-client.js';
import {
  LIBXL_MAXMEM_CONSTANT_KB,
  removeDomainNodes,
  writeBaseLayout,
  writePostBuild,
} from './xs-layout.js';
import { xcError } from './xc-errors.js';

/** The steps in order; a test can make any of them fail (BuildRequest.faultAt). */
export const BUILD_STEPS = [
  'createdomain',
  'max_vcpus',
  'max_mem',
  'sched',
  'xs_base',
  'populate',
  'kernel',
  'start_info',
  'evtchn',
  'grant',
  'vcpu_context',
  'xs_post',
  'introduce',
  'devices',
  'unpause',
] as const;
export type BuildStep = (typeof BUILD_STEPS)[number];

/** Where the builder put things in the guest's pseudo-physical space. */
export interface BootLayout {
  readonly nrPages: number;
  readonly kernelPfn: number;
  readonly kernelPages: number;
  readonly p2mPfn: number;
  readonly p2mPages: number;
  readonly startInfoPfn: number;
  readonly storePfn: number;
  readonly consolePfn: number;
}

/** A restored memory image: pages to put back instead of a fresh boot. */
export interface RestoreImage {
  readonly layout: BootLayout;
  /** Every saved pfn, and its 4096 bytes. */
  readonly pfns: readonly number[];
  /** A save file's page i (pfns[i]); unused when `receive` is given. */
  pageData?(i: number): Uint8Array;
  /** A save file's handoff ref (its vCPU record's): the saved guest's own program, same process only. */
  readonly handoff?: string | null;
  /**
   * An incoming migration (xc_domain_restore over a stream): once the domain exists with its pfns
   * populated (the reservation), the build waits in here while pages arrive, then goes on with the
   * handoff ref the stream's vCPU record named (null: start `kernel` from its memory image).
   * Throwing unwinds the whole build, as any failed step does.
   */
  receive?(domid: number): Op<{ handoff: string | null }>;
}

export interface BuildRequest {
  readonly config: DomainConfig;
  readonly configText: string | undefined;
  readonly kernel: LoadedKernel;
  readonly cwd: string;
  readonly paused: boolean;
  readonly restore?: RestoreImage;
  readonly faultAt?: BuildStep;
}

export interface BuildDeps {
  readonly platform: Dom0Platform;
  readonly xc: Xc;
  readonly xs: XsClient;
  readonly registry: DomainRegistry;
}

/** __START_KERNEL_map: where a 64-bit PV kernel's pfn 0 is mapped. */
const KERNEL_VIRT_BASE = 0xffffffff80000000n;
const MAX_DOMID_RETRIES = 16;

export function bootLayout(nrPages: number, kernelBytes: number): BootLayout {
  const kernelPages = Math.max(1, Math.ceil(kernelBytes / PAGE_SIZE));
  const p2mPages = Math.ceil((nrPages * 8) / PAGE_SIZE);
  const p2mPfn = kernelPages;
  const startInfoPfn = p2mPfn + p2mPages;
  return {
    nrPages,
    kernelPfn: 0,
    kernelPages,
    p2mPfn,
    p2mPages,
    startInfoPfn,
    storePfn: startInfoPfn + 1,
    consolePfn: startInfoPfn + 2,
  };
}

class Undo {
  private readonly steps: (() => void)[] = [];
  push(fn: () => void): void {
    this.steps.push(fn);
  }
  run(): void {
    for (let f = this.steps.pop(); f; f = this.steps.pop()) {
      try {
        f();
      } catch {
        // An undo that fails must not stop the others.
      }
    }
  }
}

/** Builds the domain; resolves with its record. On failure every earlier step is undone. */
export function* buildDomain(deps: BuildDeps, req: BuildRequest): Op<DomainRecord> {
  const undo = new Undo();
  try {
    return yield* buildSteps(deps, req, undo);
  } catch (e) {
    undo.run();
    throw e;
  }
}

function* buildSteps(deps: BuildDeps, req: BuildRequest, undo: Undo): Op<DomainRecord> {
  const { xc, xs, platform, registry } = deps;
  // libxl__device_nic_setdefault: a nic without mac= gets a random one in 00:16:3e, kept in the
  // domain's config so a reboot keeps it.
  const cfg: DomainConfig = req.config.nics.every((n) => n.mac !== undefined)
    ? req.config
    : {
        ...req.config,
        nics: req.config.nics.map((n) =>
          n.mac !== undefined ? n : { ...n, mac: generateMac(platform.random) },
        ),
      };
  const lim = effectiveLimits(cfg);
  const name = cfg.cInfo.name;
  const step = (s: BuildStep): void => {
    if (req.faultAt === s) throw new ToolstackError('FAIL', `injected failure at build step ${s}`);
  };
  if (registry.domidOf(name) !== undefined || name === 'Domain-0')
    throw new ToolstackError('INVAL', `Domain with name "${name}" already exists.`);
  if (lim.targetMemKiB > lim.maxMemKiB)
    throw new ToolstackError(
      'INVAL',
      'memory_static_max must be greater than or or equal to memory_dynamic_max',
    );
  const disks = cfg.disks.map((d) => {
    const c = checkDisk(platform.fs, d, req.cwd);
    if (!c.ok) throw new ToolstackError('FAIL', c.message);
    return { spec: d, devid: c.devid, target: c.target };
  });

  // libxl__domain_make: createdomain (paused), refusing a domid freed in the last 60 s.
  step('createdomain');
  const handle = uuidBytes(cfg.cInfo.uuid);
  let domid = -1;
  for (let tries = 0; domid < 0; tries++) {
    const r = xc.domainCreate({
      flags: 0,
      max_vcpus: lim.maxVcpus,
      max_evtchn_port: lim.maxEventChannels,
      max_grant_frames: lim.maxGrantFrames,
      max_maptrack_frames: lim.maxMaptrackFrames,
      ...(handle ? { handle } : {}),
    });
    if (!r.ok) throw xcError('domain creation fail', r.errno);
    if (registry.isRecent(r.value, platform.clock.now()) && tries < MAX_DOMID_RETRIES) {
      xc.destroy(r.value);
      continue;
    }
    domid = r.value;
  }
  undo.push(() => xc.destroy(domid));

  step('max_vcpus');
  const mv = xc.maxVcpus(domid, lim.maxVcpus);
  if (!mv.ok) throw xcError(`Couldn't set max vcpu count`, mv.errno);

  step('max_mem');
  const mm = xc.maxMem(domid, lim.maxMemKiB + LIBXL_MAXMEM_CONSTANT_KB);
  if (!mm.ok) throw xcError(`Couldn't set max memory`, mm.errno);

  step('sched');
  setSchedAndAffinity(xc, domid, cfg, lim.maxVcpus);

  step('xs_base');
  const uuid = cfg.cInfo.uuid;
  const base = writeBaseLayout(xs, { domid, name, uuid });
  undo.push(() => removeDomainNodes(xs, domid, uuid));
  if (!base.ok)
    throw new ToolstackError(
      'FAIL',
      `cannot write xenstore base for domain ${domid}: ${base.error}`,
    );

  // libxl__build_pv: memory, kernel, start_info, store and console pages.
  step('populate');
  const layout =
    req.restore?.layout ?? bootLayout(Math.floor(lim.targetMemKiB / 4), req.kernel.bytes.length);
  if (layout.consolePfn >= layout.nrPages)
    throw new ToolstackError(
      'FAIL',
      `xc_dom_build_image: ${lim.targetMemKiB} KiB is too little memory for the kernel`,
    );
  const pfns = req.restore ? req.restore.pfns : range(layout.nrPages);
  const pop = xc.populatePhysmap(domid, pfns);
  if (!pop.ok || pop.value.count !== pfns.length)
    throw new ToolstackError(
      'NOMEM',
      `xc_dom_boot_mem_init: can't allocate low memory for domain: Out of memory`,
    );
  // The P2M list the guest keeps (start_info.mfn_list), from the MFNs populate gave back; a pfn
  // not populated (ballooned out before a save) is INVALID_MFN.
  const p2m = new Float64Array(layout.nrPages).fill(-1);
  pfns.forEach((pfn, i) => {
    if (pfn < layout.nrPages) p2m[pfn] = pop.value.mfns[i] ?? -1;
  });

  step('kernel');
  const map = platform.foreign.mapForeignPfns(domid, range(layout.consolePfn + 1), true);
  if (!map.ok) throw xcError('xc_dom_boot_image: failed to map guest memory', map.errno);
  let mapped = true;
  try {
    const page = (pfn: number): Uint8Array => {
      const v = map.value.view(pfn);
      if (!v) throw new ToolstackError('FAIL', `xc_dom_boot_image: pfn ${pfn} not mapped`);
      return v;
    };
    let handoff: string | null = null;
    if (req.restore?.receive) handoff = (yield* req.restore.receive(domid)).handoff;
    else if (req.restore) {
      writeRestoredPages(platform, domid, req.restore);
      handoff = req.restore.handoff ?? null;
    } else
      for (let i = 0; i < layout.kernelPages; i++)
        page(layout.kernelPfn + i).set(
          req.kernel.bytes.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE),
        );
    writeP2m(layout, page, p2m);

    step('start_info');
    step('evtchn');
    const store = xc.allocUnbound(domid, 0);
    if (!store.ok) throw xcError('xc_evtchn_alloc_unbound (xenstore)', store.errno);
    const con = xc.allocUnbound(domid, 0);
    if (!con.ok) throw xcError('xc_evtchn_alloc_unbound (console)', con.errno);
    const info = xc.getInfo(domid);
    if (!info.ok) throw xcError('xc_domain_getinfo', info.errno);
    const storeMfn = p2m[layout.storePfn] ?? -1;
    const consoleMfn = p2m[layout.consolePfn] ?? -1;
    const si = writeStartInfo(
      new DataView(
        page(layout.startInfoPfn).buffer,
        page(layout.startInfoPfn).byteOffset,
        PAGE_SIZE,
      ),
      0,
      {
        magic: XEN_START_INFO_MAGIC_X86_64,
        nr_pages: layout.nrPages,
        shared_info: info.value.shared_info_frame * PAGE_SIZE,
        flags: 0,
        store_mfn: asMfn(storeMfn),
        store_evtchn: asPort(store.value),
        console: { domU: { mfn: asMfn(consoleMfn), evtchn: asPort(con.value) } },
        pt_base: 0n,
        nr_pt_frames: 0,
        mfn_list: KERNEL_VIRT_BASE + BigInt(layout.p2mPfn * PAGE_SIZE),
        mod_start: 0n,
        mod_len: 0,
        cmd_line: commandLine(cfg, req.kernel),
        first_p2m_pfn: layout.p2mPfn,
        nr_p2m_frames: layout.p2mPages,
      },
    );
    if (!si.ok) throw new ToolstackError('FAIL', `start_info: ${si.error}`);
    if (!req.restore) {
      page(layout.storePfn).fill(0);
      page(layout.consolePfn).fill(0);
    }

    step('grant');
    fillGrantRefs(deps, domid, consoleMfn, storeMfn);

    step('vcpu_context');
    const vcpuContext = (kernel: string): ReturnType<typeof xc.setVcpuContext> =>
      xc.setVcpuContext(domid, {
        vcpu: 0,
        ctxt: {
          user_regs: { rip: 0 },
          kernel,
          nr_online_vcpus: lim.vcpus,
          start_info_pfn: layout.startInfoPfn,
          resumed: req.restore ? 1 : 0,
        },
      });
    // A handoff names the migrated or saved guest's own suspended program (same process only);
    // otherwise, or if this process does not know it (any more), the kernel starts again over its
    // memory image.
    let ctx = handoff !== null ? vcpuContext(handoff) : undefined;
    if (!ctx?.ok) ctx = vcpuContext(req.kernel.ref);
    if (!ctx.ok) throw xcError('xc_vcpu_setcontext failed', ctx.errno);

    // libxl__build_post: the rest of the xenstore layout, then XS_INTRODUCE.
    step('xs_post');
    const startTimeS = platform.clock.epochS + platform.clock.now() / 1e9;
    const post = writePostBuild(xs, {
      domid,
      uuid,
      maxVcpus: lim.maxVcpus,
      onlineVcpus: lim.vcpus,
      staticMaxKb: lim.maxMemKiB,
      targetKb: lim.targetMemKiB,
      storePort: store.value,
      storeMfn,
      consolePort: con.value,
      consoleMfn,
      startTime: startTimeS.toFixed(2),
    });
    if (!post.ok) throw new ToolstackError('FAIL', `xenstore write failed: ${post.error}`);

    step('introduce');
    const intro = xs.introduce(domid, storeMfn, store.value);
    if (!intro.ok) throw new ToolstackError('FAIL', `xs_introduce_domain failed: ${intro.error}`);
    undo.push(() => xs.release(domid));

    const rec: DomainRecord = {
      domid,
      name,
      uuid,
      config: cfg,
      configText: req.configText,
      cwd: req.cwd,
      storeMfn,
      storePort: store.value,
      consoleMfn,
      consolePort: con.value,
      startTimeS,
      layout,
      targetKb: lim.targetMemKiB,
      staticMaxKb: lim.maxMemKiB,
      vbds: new Map<number, VbdRecord>(),
      vifs: new Map<number, VifRecord>(),
      destroying: false,
      shutdownHandled: false,
    };
    registry.add(rec);
    undo.push(() => registry.remove(domid, platform.clock.now()));
    platform.foreign.unmapForeign(map.value);
    mapped = false;

    // Devices: write both ends, wait for the backend (10 s) and hotplug (40 s), as libxl does.
    step('devices');
    for (const d of disks) {
      const w = writeVbdNodes(xs, platform.fs, domid, d.spec, d.devid, d.target);
      undo.push(() => removeVbdNodes(xs, domid, d.devid));
      if (!w.ok) throw new ToolstackError('FAIL', `cannot write vbd ${d.spec.vdev}: ${w.error}`);
      const out = (yield waitVbdAttached(
        { xs, clock: platform.clock, fs: platform.fs },
        domid,
        w.value,
      )) as { ok: true } | { ok: false; message: string };
      if (!out.ok)
        throw new ToolstackError('FAIL', `device vbd ${d.spec.vdev} (${d.devid}): ${out.message}`);
      rec.vbds.set(d.devid, w.value);
    }
    const vctx = { xs, clock: platform.clock, network: platform.network };
    for (const nic of cfg.nics) {
      const eff = effectiveNic(nic, domid, platform.random);
      const w = writeVifNodes(xs, domid, nic, eff);
      undo.push(() => {
        platform.network?.vifOffline(domid, eff.devid);
        removeVifNodes(xs, domid, eff.devid);
      });
      if (!w.ok) throw new ToolstackError('FAIL', `cannot write vif ${eff.devid}: ${w.error}`);
      const out = (yield waitVifAttached(vctx, domid, w.value)) as
        { ok: true } | { ok: false; message: string };
      if (!out.ok) throw new ToolstackError('FAIL', `device vif ${eff.devid}: ${out.message}`);
      rec.vifs.set(eff.devid, w.value);
    }

    step('unpause');
    if (!req.paused) {
      const u = xc.unpause(domid);
      if (!u.ok) throw xcError('unpausing domain', u.errno);
    }
    return rec;
  } finally {
    if (mapped) platform.foreign.unmapForeign(map.value);
  }
}

/** The 16-byte xen_domain_handle_t of a canonical UUID, or undefined. */
export function uuidBytes(uuid: string): Uint8Array | undefined {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return b;
}

function range(n: number): number[] {
  const a = new Array<number>(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

function commandLine(cfg: DomainConfig, k: LoadedKernel): string {
  return cfg.bInfo.cmdline ?? k.image.cmdline ?? '';
}

/** The P2M pages: one u64 MFN per pfn (-1 stays all ones). */
function writeP2m(layout: BootLayout, page: (pfn: number) => Uint8Array, p2m: Float64Array): void {
  // One DataView per P2M page and each 64-bit entry as two 32-bit halves: a view and a BigInt per
  // entry made this the build's hottest loop (boot.storm64 profile).
  const perPage = PAGE_SIZE / 8;
  let view: DataView | null = null;
  for (let pfn = 0; pfn < layout.nrPages; pfn++) {
    const mfn = p2m[pfn] as number;
    const slot = pfn % perPage;
    if (view === null || slot === 0) {
      const pg = page(layout.p2mPfn + Math.floor(pfn / perPage));
      view = new DataView(pg.buffer, pg.byteOffset, PAGE_SIZE);
    }
    view.setUint32(slot * 8, mfn >>> 0, true);
    view.setUint32(slot * 8 + 4, mfn < 0 ? 0xffffffff : Math.floor(mfn / 2 ** 32), true);
  }
}

function writeRestoredPages(platform: Dom0Platform, domid: number, img: RestoreImage): void {
  const m = platform.foreign.mapForeignPfns(domid, [...img.pfns], true);
  if (!m.ok) throw xcError('restore: failed to map guest memory', m.errno);
  try {
    if (!img.pageData) throw new ToolstackError('FAIL', 'restore: the image has no page data');
    for (let i = 0; i < img.pfns.length; i++) {
      const v = m.value.view(i);
      if (!v) throw new ToolstackError('FAIL', `restore: pfn ${img.pfns[i]} not mapped`);
      v.set(img.pageData(i));
    }
  } finally {
    platform.foreign.unmapForeign(m.value);
  }
}

/** xc_dom_gnttab_init: grant ref 0 = console page, 1 = xenstore page, both to dom0. */
function fillGrantRefs(deps: BuildDeps, domid: number, consoleMfn: number, storeMfn: number): void {
  const frames = deps.xc.grantFrames(domid, 1);
  if (!frames.ok || frames.value[0] === undefined)
    throw xcError('xc_dom_gnttab_init: grant table setup failed', frames.ok ? 22 : frames.errno);
  const m = deps.platform.foreign.mapForeignMfns(domid, [frames.value[0]], true);
  if (!m.ok) throw xcError('xc_dom_gnttab_init: failed to map grant table', m.errno);
  try {
    const v = m.value.view(0);
    if (!v)
      throw xcError('xc_dom_gnttab_init: failed to map grant table', m.value.pages[0]?.errno ?? 22);
    const dv = new DataView(v.buffer, v.byteOffset, PAGE_SIZE);
    writeGrantEntryV1(dv, grantEntryOffset(0), {
      flags: GTF_permit_access,
      domid: 0,
      frame: consoleMfn,
    });
    writeGrantEntryV1(dv, grantEntryOffset(1), {
      flags: GTF_permit_access,
      domid: 0,
      frame: storeMfn,
    });
  } finally {
    deps.platform.foreign.unmapForeign(m.value);
  }
}

function setSchedAndAffinity(xc: Xc, domid: number, cfg: DomainConfig, maxVcpus: number): void {
  const sp = cfg.bInfo.schedParams;
  if (sp.weight !== undefined || sp.cap !== undefined) {
    const sid = xc.schedId();
    if (sid.ok) {
      const cur = xc.schedGet(domid, sid.value);
      const r = xc.schedSet(domid, sid.value, {
        weight: sp.weight ?? (cur.ok ? cur.value.weight : 256),
        cap: sp.cap ?? (cur.ok ? cur.value.cap : 0),
      });
      if (!r.ok) throw xcError('setting scheduler parameters', r.errno);
    }
  }
  const hard = cfg.bInfo.vcpuHardAffinity;
  const soft = cfg.bInfo.vcpuSoftAffinity;
  if (!hard && !soft) return;
  const phys = xc.physinfo();
  const nr = phys.ok ? phys.value.nr_cpus : 1;
  const mask = (cpus: readonly number[] | undefined): boolean[] => {
    const m = new Array<boolean>(nr).fill(cpus === undefined);
    for (const c of cpus ?? []) if (c < nr) m[c] = true;
    return m;
  };
  for (let v = 0; v < maxVcpus; v++) {
    // A single list applies to every vCPU; a list of lists is per vCPU (xl.cfg cpus=).
    const h = hard ? (hard.length === 1 ? hard[0] : hard[v]) : undefined;
    const s = soft ? (soft.length === 1 ? soft[0] : soft[v]) : undefined;
    const r = xc.setVcpuAffinity(domid, {
      vcpu: v,
      flags: 3,
      cpumap_hard: mask(h),
      cpumap_soft: mask(s),
    });
    if (!r.ok) throw xcError(`setting affinity of vcpu ${v}`, r.errno);
  }
}
