// The xenstore nodes libxl writes for a PV domU and removes at destroy (libxl_create.c
// libxl__domain_make, libxl_dom.c libxl__build_post, libxl_domain.c devices_destroy_cb;
// reference 5.10), with their permissions.

import type { XsClient, XsPerms, XsResult } from './xs-client.js';

export const LIBXL_MAXMEM_CONSTANT_KB = 1024;
/** xenconsoled's default per-domain log limit, as libxl writes it. */
export const CONSOLE_LIMIT = 1_048_576;

export const domPath = (domid: number): string => `/local/domain/${domid}`;
export const vmPath = (uuid: string): string => `/vm/${uuid}`;
export const libxlPath = (domid: number): string => `/libxl/${domid}`;

const roPerms = (domid: number): XsPerms => ['n0', `r${domid}`];
const rwPerms = (domid: number): XsPerms => [`n${domid}`];

/** Guest-writable nodes (owned by the guest). */
const RW_NODES = [
  'control/shutdown',
  'control/feature-poweroff',
  'control/feature-reboot',
  'control/feature-suspend',
  'control/sysrq',
  'data',
  'drivers',
  'feature',
  'attr',
  'error',
  'device/suspend/event-channel',
];
/** Read-only directories (dom0-owned, guest may read). */
const RO_DIRS = ['device', 'control', 'cpu', 'memory'];

function all(results: XsResult<void>[]): XsResult<void> {
  for (const r of results) if (!r.ok) return r;
  return { ok: true, value: undefined };
}

export interface BaseLayout {
  domid: number;
  name: string;
  uuid: string;
}

/** libxl__domain_make's xenstore part: the domain, /vm and /libxl directories, in one transaction. */
export function writeBaseLayout(xs: XsClient, b: BaseLayout): XsResult<void> {
  const dp = domPath(b.domid);
  const vp = vmPath(b.uuid);
  const lp = libxlPath(b.domid);
  return xs.transact((tx) => {
    const r: XsResult<void>[] = [];
    xs.rm(dp, tx);
    r.push(xs.mkdir(dp, tx), xs.setPerms(dp, roPerms(b.domid), tx));
    xs.rm(vp, tx);
    r.push(xs.mkdir(vp, tx), xs.setPerms(vp, roPerms(b.domid), tx));
    r.push(xs.mkdir(lp, tx), xs.setPerms(lp, ['n0'], tx));
    for (const d of RO_DIRS)
      r.push(xs.mkdir(`${dp}/${d}`, tx), xs.setPerms(`${dp}/${d}`, roPerms(b.domid), tx));
    for (const n of RW_NODES)
      r.push(xs.write(`${dp}/${n}`, '', tx), xs.setPerms(`${dp}/${n}`, rwPerms(b.domid), tx));
    r.push(
      xs.write(`${dp}/vm`, vp, tx),
      xs.write(`${dp}/name`, b.name, tx),
      xs.write(`${dp}/domid`, String(b.domid), tx),
      xs.write(`${dp}/control/platform-feature-multiprocessor-suspend`, '1', tx),
      xs.write(`${dp}/control/platform-feature-xs_reset_watches`, '1', tx),
      xs.write(`${vp}/uuid`, b.uuid, tx),
      xs.write(`${vp}/name`, b.name, tx),
      xs.write(`${lp}/type`, 'pv', tx),
    );
    return all(r);
  });
}

export interface PostBuild {
  domid: number;
  uuid: string;
  maxVcpus: number;
  onlineVcpus: number;
  staticMaxKb: number;
  targetKb: number;
  storePort: number;
  storeMfn: number;
  consolePort: number;
  consoleMfn: number;
  startTime: string;
}

/** libxl__build_post + the console device: what the guest needs before XS_INTRODUCE. */
export function writePostBuild(xs: XsClient, p: PostBuild): XsResult<void> {
  const dp = domPath(p.domid);
  return xs.transact((tx) => {
    const r: XsResult<void>[] = [];
    for (let i = 0; i < p.maxVcpus; i++)
      r.push(xs.write(`${dp}/cpu/${i}/availability`, i < p.onlineVcpus ? 'online' : 'offline', tx));
    r.push(
      xs.write(`${dp}/memory/static-max`, String(p.staticMaxKb), tx),
      xs.write(`${dp}/memory/target`, String(p.targetKb), tx),
      xs.write(`${dp}/memory/videoram`, '0', tx),
      xs.write(`${dp}/store/port`, String(p.storePort), tx),
      xs.write(`${dp}/store/ring-ref`, String(p.storeMfn), tx),
      xs.write(`${dp}/console/port`, String(p.consolePort), tx),
      xs.write(`${dp}/console/ring-ref`, String(p.consoleMfn), tx),
      xs.write(`${dp}/console/limit`, String(CONSOLE_LIMIT), tx),
      xs.write(`${dp}/console/type`, 'xenconsoled', tx),
      xs.write(`${dp}/console/output`, 'pty', tx),
      xs.write(`${dp}/console/tty`, '', tx),
      xs.write(`${dp}/console/backend-id`, '0', tx),
      xs.write(`${vmPath(p.uuid)}/start_time`, p.startTime, tx),
      xs.write(`${vmPath(p.uuid)}/memory`, String(Math.floor(p.targetKb / 1024)), tx),
    );
    return all(r);
  });
}

/** Everything libxl removes when a domain goes (its own dirs, /vm, /libxl, backend dirs in dom0). */
export function removeDomainNodes(xs: XsClient, domid: number, uuid: string): void {
  xs.transact((tx) => {
    xs.rm(domPath(domid), tx);
    xs.rm(vmPath(uuid), tx);
    xs.rm(libxlPath(domid), tx);
    for (const kind of ['vbd', 'vif', 'console'])
      xs.rm(`/local/domain/0/backend/${kind}/${domid}`, tx);
    return { ok: true, value: undefined };
  });
}

/** tools/helpers/xen-init-dom0.c: dom0's own nodes, and the /vm and /libxl roots libxl writes under. */
export function initDom0Nodes(xs: XsClient): void {
  xs.transact((tx) => {
    if (xs.read(`${domPath(0)}/name`, tx) === undefined) {
      xs.write(`${domPath(0)}/name`, 'Domain-0', tx);
      xs.write(`${domPath(0)}/domid`, '0', tx);
    }
    for (const p of ['/vm', '/libxl']) xs.mkdir(p, tx);
    return { ok: true, value: undefined };
  });
}
