// Test world for the toolstack: a real Engine, MachineMemory, GrantTables, Hypervisor with dom0,
// and xenstored core, wired as the composition root will wire them, plus the pieces not built yet:
// the hypervisor side of XEN_DOMCTL_setvcpucontext (kernel-image.ts contract), dom0's kernel with
// the VIRQ_DOM_EXC -> xenstored glue (dom0/kernel), a blkback stand-in that walks the backend states, and guest agents that answer
// control/shutdown as a PV kernel would.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../hypervisor/engine/engine.js';
import { MachineMemory } from '../../hypervisor/memory/machine-memory.js';
import { GrantTables } from '../../grant-tables/grant-tables.js';
import { Hypervisor } from '../../hypervisor/hypervisor.js';
import { Xenstored } from '../../dom0/xenstored/xenstored.js';
import { XsConnection } from '../../dom0/xenstored/connection.js';
import { deliverEvents } from '../../dom0/xenstored/guest-ring-connection.js';
import { createDom0Kernel, type Dom0Kernel } from '../../dom0/kernel/dom0-kernel.js';
import { xenstoredDomainCleanup } from '../../dom0/kernel/dom-exc.js';
import { Xc } from '../../dom0/toolstack/xc.js';
import { LocalXenstoreConnection } from '../../dom0/toolstack/xs-local.js';
import { XsClient } from '../../dom0/toolstack/xs-client.js';
import { HostDirFilesystem, seedDom0Filesystem } from '../../dom0/toolstack/dom0-fs.js';
import { Toolstack, type ToolstackOptions } from '../../dom0/toolstack/toolstack.js';
import { settle } from '../../dom0/toolstack/task.js';
import type { Dom0Platform, GuestProgramRegistry } from '../../dom0/toolstack/platform.js';
import {
  BUILTIN_PV_KERNEL,
  builtinRef,
  type KernelVcpuContext,
} from '../../dom0/toolstack/kernel-image.js';
import { XEN_DOMCTL_setvcpucontext, type XenDomctl } from '../../hypercalls/domctl.js';
import type {
  GuestEnv,
  GuestProgram,
  HypercallInterface,
} from '../../hypercalls/guest-interface.js';
import { block } from '../../hypercalls/guest-interface.js';
import { readStartInfo } from '../../hypercalls/start-info.js';
import { XS_WRITE, XS_READ, XS_WATCH, type XsMessage } from '../../hypercalls/io/xs-wire.js';
import { VIRQ_DOM_EXC } from '../../hypercalls/virq.js';
import { asDomId } from '../../hypercalls/types.js';

export const MiB = 1 << 20;
export const SEC = 1_000_000_000;

/** What booted guests saw at entry (domid -> start_info fields). */
export interface BootRecord {
  domid: number;
  nrPages: number;
  storeMfn: number;
  storeEvtchn: number;
  consoleMfn: number;
  consoleEvtchn: number;
  resumed: number;
}

export interface TestHost {
  engine: Engine;
  mm: MachineMemory;
  hv: Hypervisor;
  kernel: Dom0Kernel;
  store: Xenstored;
  ts: Toolstack;
  platform: Dom0Platform;
  fsRoot: string;
  dom0fs: HostDirFilesystem;
  boots: BootRecord[];
  /** Runs the engine until `p` settles (virtual-time limit 10 min from now). */
  run<T>(p: Promise<T>): Promise<T>;
  /** A privileged client for assertions. */
  xs: XsClient;
  /** Guests answer control/shutdown (ack then SCHEDOP_shutdown) unless told to ignore it. */
  guestsIgnoreShutdown: Set<number>;
  backendDisabled: boolean;
}

export interface TestHostOptions extends ToolstackOptions {
  memoryBytes?: number;
}

/** The Xen-side half of the setvcpucontext contract, as the lead will wire it. */
function withKernelContract(
  hv: Hypervisor,
  mm: MachineMemory,
  programs: GuestProgramRegistry,
  boots: BootRecord[],
  h: HypercallInterface,
): HypercallInterface {
  return {
    ...h,
    domctl(op: XenDomctl): number {
      if (op.cmd !== XEN_DOMCTL_setvcpucontext) return h.domctl(op);
      const d = hv.domain(op.domain);
      const c = op.u as KernelVcpuContext;
      const prog = programs.get(c.ctxt.kernel);
      if (!d || !prog) return -22;
      const g = mm.guest(asDomId(d.domid));
      if (!g.ok) return -3;
      const page = new Uint8Array(4096);
      g.value.read(c.ctxt.start_info_pfn, 0, page);
      const si = readStartInfo(new DataView(page.buffer));
      if (!si.ok) return -22;
      const s = si.value;
      const env = d.env as GuestEnv;
      Object.assign(env.startInfo, {
        nr_pages: s.nr_pages,
        store_mfn: s.store_mfn,
        store_evtchn: s.store_evtchn,
        console_mfn: 'domU' in s.console ? s.console.domU.mfn : 0,
        console_evtchn: 'domU' in s.console ? s.console.domU.evtchn : 0,
        cmd_line: s.cmd_line,
      });
      boots.push({
        domid: d.domid,
        nrPages: s.nr_pages,
        storeMfn: s.store_mfn,
        storeEvtchn: s.store_evtchn,
        consoleMfn: env.startInfo.console_mfn,
        consoleEvtchn: env.startInfo.console_evtchn,
        resumed: c.ctxt.resumed,
      });
      hv.boot(d, prog, c.ctxt.nr_online_vcpus);
      return 0;
    },
  };
}

/** A guest kernel that only waits for events (enough for toolstack tests). */
export const quietGuest: GuestProgram = function* (env) {
  for (;;) yield* block(env.hypercalls);
};

const enc = new TextEncoder();
const z = (s: string): Uint8Array => enc.encode(`${s}\0`);
function cat(...p: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(p.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of p) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

export function makeHost(o: TestHostOptions = {}): TestHost {
  const engine = new Engine({ seed: 7, trace: false });
  const mm = new MachineMemory({ memoryBytes: o.memoryBytes ?? 512 * MiB });
  const grants = new GrantTables(mm);
  const hv = new Hypervisor({ engine, nrPcpus: 4, memory: mm, grants });
  const kernel = createDom0Kernel();
  const dom0 = hv.createDom0({ maxVcpus: 1, program: kernel.program });
  const store = new Xenstored();
  const programMap = new Map<string, GuestProgram>([[builtinRef(BUILTIN_PV_KERNEL), quietGuest]]);
  const programs: GuestProgramRegistry = {
    get: (r) => programMap.get(r),
    register: (r, p) => void programMap.set(r, p),
  };
  const boots: BootRecord[] = [];
  const fsRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'xensim-ts-'));
  const dom0fs = new HostDirFilesystem(fsRoot);
  seedDom0Filesystem(dom0fs);
  const platform: Dom0Platform = {
    hypercalls: withKernelContract(hv, mm, programs, boots, (dom0.env as GuestEnv).hypercalls),
    foreign: mm.foreign({ domid: asDomId(0), privileged: true }),
    xenstore: new LocalXenstoreConnection(store),
    clock: {
      now: () => engine.now,
      at: (t, fn) => engine.at(Math.max(t, engine.now), fn),
      cancel: (id) => void engine.cancel(id),
      epochS: 1_790_000_000,
    },
    fs: dom0fs,
    programs,
    random: engine.prng.stream('toolstack'),
    onDomainException: (l) => kernel.onVirq(VIRQ_DOM_EXC, l),
    hostname: 'xensim-test',
  };
  const ts = new Toolstack(platform, o);
  const host: TestHost = {
    engine,
    mm,
    hv,
    kernel,
    store,
    ts,
    platform,
    fsRoot,
    dom0fs,
    boots,
    xs: new XsClient(new LocalXenstoreConnection(store)),
    run: (p) => settle(engine, p, engine.now + 600 * SEC),
    guestsIgnoreShutdown: new Set(),
    backendDisabled: false,
  };

  // dom0 kernel + xenstored glue: VIRQ_DOM_EXC -> domain_cleanup -> @releaseDomain.
  kernel.onVirq(VIRQ_DOM_EXC, xenstoredDomainCleanup(store, new Xc(platform.hypercalls)));

  // blkback stand-in (dom0): InitWait on a new backend, Closed once asked to close.
  const be = store.openSocketConnection();
  const send = (type: number, ...parts: Uint8Array[]): XsMessage => {
    const r = store.handle(be, { type, reqId: 0, txId: 0, payload: cat(...parts) });
    deliverEvents(r.events);
    const p = r.reply.payload;
    return { ...r.reply, payload: typeof p === 'string' ? Buffer.from(p, 'latin1') : p };
  };
  be.deliver = (m) => {
    const [p] = new TextDecoder().decode(m.payload).split('\0');
    if (!p || !p.endsWith('/state') || host.backendDisabled) return;
    engine.at(engine.now + 1_000_000, () => {
      if (host.backendDisabled) return;
      const r = send(XS_READ, z(p));
      const v = new TextDecoder().decode(r.payload);
      if (v === '1') send(XS_WRITE, z(p), enc.encode('2'));
      else if (v === '5') send(XS_WRITE, z(p), enc.encode('6'));
    });
  };
  send(XS_WATCH, z('/local/domain/0/backend'), z('blkback'));

  // Guest agents: each introduced domain answers control/shutdown over its own connection.
  ts.onDomainEvent((e) => {
    if (e.type !== 'created') return;
    const domid = e.domid;
    const conn = XsConnection.guest(domid);
    const req = (type: number, ...parts: Uint8Array[]): XsMessage => {
      const r = store.handle(conn, { type, reqId: 0, txId: 0, payload: cat(...parts) });
      deliverEvents(r.events);
      const p = r.reply.payload;
      return { ...r.reply, payload: typeof p === 'string' ? Buffer.from(p, 'latin1') : p };
    };
    conn.deliver = () => {
      engine.at(engine.now + 2_000_000, () => {
        const d = hv.liveDomain(domid);
        if (!d || host.guestsIgnoreShutdown.has(domid)) return;
        const v = new TextDecoder().decode(req(XS_READ, z('control/shutdown')).payload);
        const reason = ({ poweroff: 0, reboot: 1, suspend: 2 } as Record<string, number>)[v];
        if (reason === undefined) return;
        req(XS_WRITE, z('control/shutdown'), new Uint8Array(0));
        hv.shutdownDomain(d, reason);
      });
    };
    req(XS_WATCH, z('control/shutdown'), z('agent'));
  });
  return host;
}

export function cleanupHost(h: TestHost): void {
  fs.rmSync(h.fsRoot, { recursive: true, force: true });
}

export const BASIC_CFG = `
name = "guest1"
kernel = "/boot/vmlinuz-xensim-pv"
memory = 64
vcpus = 2
`;

export function createReq(
  text: string,
  over: Partial<{ paused: boolean; overrides: string[] }> = {},
) {
  return {
    configText: text,
    configSource: 'guest.cfg',
    overrides: over.overrides ?? [],
    paused: over.paused ?? false,
    dryRun: false,
    cwd: '/',
  };
}

/** Every node path under `root`, for before/after comparisons. */
export function listTree(xs: XsClient, root = '/'): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    out.push(p);
    for (const c of xs.directory(p)) walk(p === '/' ? `/${c}` : `${p}/${c}`);
  };
  walk(root);
  return out.sort();
}

/** Frames in use by anyone (free-frame accounting of MachineMemory). */
export function usedFrames(mm: MachineMemory): number {
  return mm.nrFrames - mm.table.freeFrames;
}
