// A small in-memory ToolstackApi for the xl and host daemon tests: records in, records out,
// errors in libxl's terms. It is test scaffolding, not a model of Xen.

import {
  ToolstackError,
  type ConsoleStream,
  type CreateRequest,
  type CreateResult,
  type Credit2PoolParams,
  type CreditPoolParams,
  type DeathEvent,
  type CommandResult,
  type DiskInfo,
  type NicInfo,
  type DomainInfo,
  type HostInfo,
  type ProgressCallback,
  type RestoreRequest,
  type SaveRequest,
  type SchedPool,
  type ShutdownKind,
  type ToolstackApi,
  type VcpuInfo,
} from '../../dom0/toolstack/api.js';

export function domainInfo(
  over: Partial<DomainInfo> & { domid: number; name: string },
): DomainInfo {
  return {
    uuid: `00000000-0000-0000-0000-${over.domid.toString(16).padStart(12, '0')}`,
    running: false,
    blocked: true,
    paused: false,
    shutdown: false,
    dying: false,
    shutdownReason: 0,
    currentMemKb: 524288,
    outstandingMemKb: 0,
    maxMemKb: 525312,
    cpuTimeNs: 0,
    vcpuOnline: 1,
    vcpuMaxId: 0,
    cpupool: 'Pool-0',
    startTimeS: 1_700_000_000,
    ...over,
  };
}

export const HOST_INFO: HostInfo = {
  host: 'xensim',
  release: '6.1.0-xensim',
  version: '#1 SMP xensim',
  machine: 'x86_64',
  nrCpus: 4,
  maxCpuId: 3,
  nrNodes: 1,
  coresPerSocket: 4,
  threadsPerCore: 1,
  cpuKhz: 2394452,
  hwCaps: [0x178bfbff, 0xf6d8320b, 0x2c100800, 0x000007ab, 0xf6d8320b, 0, 0, 0],
  virtCaps: ['pv', 'gnttab-v1'],
  totalPages: 2097152,
  freePages: 1048576,
  outstandingPages: 0,
  sharingFreedPages: 0,
  sharingUsedFrames: 0,
  freeCpus: 0,
  xenMajor: 4,
  xenMinor: 17,
  xenExtra: '.7',
  xenCaps: 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64',
  scheduler: 'credit2',
  pageSize: 4096,
  virtStartHex: 'ffff800000000000',
  changeset: '',
  commandline: 'placeholder dom0_mem=4096M',
  ccCompiler: 'gcc (Debian 12.2.0-14) 12.2.0',
  ccCompileBy: 'xensim',
  ccCompileDomain: 'example.org',
  ccCompileDate: 'Thu Jan  1 00:00:00 UTC 2026',
  buildId: '0123456789abcdef',
  nowMs: 1_700_000_000_000 + 3_723_000,
  uptimeS: 90_061,
};

const notFound = (domid: number): ToolstackError =>
  new ToolstackError('DOMAIN_NOTFOUND', `libxl: error: Domain ${domid}:Non-existant domain`);

/** Calls made, for assertions. */
export type CallLog = { op: string; args: unknown[] }[];

export class MemoryToolstack implements ToolstackApi {
  readonly calls: CallLog = [];
  readonly domains = new Map<number, DomainInfo>();
  readonly disks = new Map<number, DiskInfo[]>();
  readonly nics = new Map<number, NicInfo[]>();
  consoleOutput = new Uint8Array();
  consoleInput: number[] = [];
  dmesgText = '(XEN) Xen version 4.17.7\n(XEN) Command line: placeholder\n';
  credit2Params: Credit2PoolParams = { ratelimitUs: 1000 };
  creditParams: CreditPoolParams = { tsliceMs: 30, ratelimitUs: 1000, migrationDelayUs: 0 };
  weights = new Map<number, { weight: number; cap: number }>();
  private nextDomid = 1;

  constructor() {
    this.domains.set(
      0,
      domainInfo({
        domid: 0,
        name: 'Domain-0',
        running: true,
        blocked: false,
        currentMemKb: 4194304,
        vcpuOnline: 4,
        cpuTimeNs: 123_400_000_000,
      }),
    );
  }

  private log(op: string, ...args: unknown[]): void {
    this.calls.push({ op, args });
  }

  private get(domid: number): DomainInfo {
    const d = this.domains.get(domid);
    if (d === undefined) throw notFound(domid);
    return d;
  }

  listDomains(): Promise<readonly DomainInfo[]> {
    return Promise.resolve([...this.domains.values()]);
  }
  async domainInfo(domid: number): Promise<DomainInfo> {
    return Promise.resolve(this.get(domid));
  }
  domainConfig(domid: number): Promise<Record<string, unknown>> {
    const d = this.get(domid);
    return Promise.resolve({
      c_info: { type: 'pv', name: d.name, uuid: d.uuid },
      b_info: { max_vcpus: d.vcpuOnline },
    });
  }
  create(req: CreateRequest): Promise<CreateResult> {
    this.log('create', req);
    const text = `${req.configText}\n${req.overrides.join('\n')}`;
    const name = /^\s*name\s*=\s*"([^"]*)"/m.exec(text)?.[1];
    if (name === undefined) {
      return Promise.reject(new ToolstackError('INVAL', 'libxl: error: domain config has no name'));
    }
    const memory = Number(
      /^\s*memory\s*=\s*(\d+)/gm.exec(text.split('\n').reverse().join('\n'))?.[1] ?? 128,
    );
    const configJson = JSON.stringify({ c_info: { name } }, null, 4) + '\n';
    if (req.dryRun) return Promise.resolve({ name, configJson, warnings: [] });
    const domid = this.nextDomid++;
    this.domains.set(
      domid,
      domainInfo({ domid, name, paused: req.paused, currentMemKb: memory * 1024 }),
    );
    return Promise.resolve({ domid, name, configJson, warnings: [] });
  }
  destroy(domid: number): Promise<void> {
    this.log('destroy', domid);
    this.get(domid);
    this.domains.delete(domid);
    return Promise.resolve();
  }
  shutdown(domid: number, kind: ShutdownKind, wait: boolean): Promise<DeathEvent | undefined> {
    this.log('shutdown', domid, kind, wait);
    this.get(domid);
    this.domains.delete(domid);
    return Promise.resolve(wait ? { domid, event: 'destroyed' } : undefined);
  }
  pause(domid: number): Promise<void> {
    this.domains.set(domid, { ...this.get(domid), paused: true });
    return Promise.resolve();
  }
  unpause(domid: number): Promise<void> {
    this.domains.set(domid, { ...this.get(domid), paused: false });
    return Promise.resolve();
  }
  rename(domid: number, newName: string): Promise<void> {
    if ([...this.domains.values()].some((d) => d.name === newName)) {
      return Promise.reject(
        new ToolstackError('INVAL', `libxl: error: domain with name "${newName}" already exists.`),
      );
    }
    this.domains.set(domid, { ...this.get(domid), name: newName });
    return Promise.resolve();
  }
  vcpuList(domid?: number): Promise<readonly VcpuInfo[]> {
    const doms = domid === undefined ? [...this.domains.values()] : [this.get(domid)];
    return Promise.resolve(
      doms.flatMap((d) =>
        Array.from({ length: d.vcpuOnline }, (_, i) => ({
          domid: d.domid,
          name: d.name,
          vcpuId: i,
          online: true,
          running: d.running && i === 0,
          blocked: !(d.running && i === 0),
          cpu: i % HOST_INFO.nrCpus,
          vcpuTimeNs: 1_000_000_000 * (i + 1),
          hardAffinity: [0, 1, 2, 3],
          softAffinity: [0, 1, 2, 3],
        })),
      ),
    );
  }
  vcpuPin(
    domid: number,
    vcpu: number | 'all',
    hard: readonly number[] | null,
    soft: readonly number[] | null,
    force: boolean,
  ): Promise<void> {
    this.log('vcpuPin', domid, vcpu, hard, soft, force);
    this.get(domid);
    return Promise.resolve();
  }
  vcpuSet(domid: number, count: number): Promise<void> {
    this.log('vcpuSet', domid, count);
    this.domains.set(domid, { ...this.get(domid), vcpuOnline: count });
    return Promise.resolve();
  }
  memSet(domid: number, targetKb: number): Promise<void> {
    this.log('memSet', domid, targetKb);
    const d = this.get(domid);
    if (targetKb > d.maxMemKb) {
      return Promise.reject(
        new ToolstackError(
          'INVAL',
          'libxl: error: memory_dynamic_max must be less than or equal to memory_static_max',
        ),
      );
    }
    this.domains.set(domid, { ...d, currentMemKb: targetKb });
    return Promise.resolve();
  }
  memMax(domid: number, maxKb: number): Promise<void> {
    this.log('memMax', domid, maxKb);
    this.domains.set(domid, { ...this.get(domid), maxMemKb: maxKb });
    return Promise.resolve();
  }
  private schedDomains(): SchedPool<never>['domains'] {
    return [...this.domains.values()].map((d) => ({
      domid: d.domid,
      name: d.name,
      ...(this.weights.get(d.domid) ?? { weight: 256, cap: 0 }),
    }));
  }
  schedCreditGet(pool?: string): Promise<readonly SchedPool<CreditPoolParams>[]> {
    if (pool !== undefined && pool !== 'Pool-0')
      return Promise.reject(new ToolstackError('NOTFOUND', ''));
    return Promise.resolve([
      { poolName: 'Pool-0', params: this.creditParams, domains: this.schedDomains() },
    ]);
  }
  schedCreditDomainSet(domid: number, params: { weight?: number; cap?: number }): Promise<void> {
    this.log('schedCreditDomainSet', domid, params);
    const cur = this.weights.get(domid) ?? { weight: 256, cap: 0 };
    this.weights.set(domid, { ...cur, ...params });
    return Promise.resolve();
  }
  schedCreditParamsSet(pool: string | undefined, params: Partial<CreditPoolParams>): Promise<void> {
    this.log('schedCreditParamsSet', pool, params);
    this.creditParams = { ...this.creditParams, ...params };
    return Promise.resolve();
  }
  schedCredit2Get(pool?: string): Promise<readonly SchedPool<Credit2PoolParams>[]> {
    if (pool !== undefined && pool !== 'Pool-0')
      return Promise.reject(new ToolstackError('NOTFOUND', ''));
    return Promise.resolve([
      { poolName: 'Pool-0', params: this.credit2Params, domains: this.schedDomains() },
    ]);
  }
  schedCredit2DomainSet(domid: number, params: { weight?: number; cap?: number }): Promise<void> {
    return this.schedCreditDomainSet(domid, params);
  }
  schedCredit2ParamsSet(
    pool: string | undefined,
    params: Partial<Credit2PoolParams>,
  ): Promise<void> {
    this.log('schedCredit2ParamsSet', pool, params);
    this.credit2Params = { ...this.credit2Params, ...params };
    return Promise.resolve();
  }
  info(): Promise<HostInfo> {
    return Promise.resolve(HOST_INFO);
  }
  dmesg(clear: boolean): Promise<string> {
    const text = this.dmesgText;
    if (clear) this.dmesgText = '';
    return Promise.resolve(text);
  }
  async save(req: SaveRequest, progress: ProgressCallback): Promise<void> {
    this.log('save', req);
    this.get(req.domid);
    progress({
      phase: 'header',
      done: 0,
      total: 0,
      note: `Saving to ${req.file} new xl format (info 0x3/0x0/1024)`,
    });
    for (let done = 0; done <= 4; done++)
      progress({ phase: 'Saving memory', done: done * 256, total: 1024 });
    if (!req.checkpoint) this.domains.delete(req.domid);
    return Promise.resolve();
  }
  async restore(req: RestoreRequest, progress: ProgressCallback): Promise<{ domid: number }> {
    this.log('restore', req);
    progress({ phase: 'Restoring memory', done: 1024, total: 1024 });
    const domid = this.nextDomid++;
    this.domains.set(domid, domainInfo({ domid, name: 'restored', paused: req.paused }));
    return Promise.resolve({ domid });
  }
  blockAttach(domid: number, spec: readonly string[]): Promise<void> {
    this.log('blockAttach', domid, spec);
    const list = this.disks.get(domid) ?? [];
    list.push({
      devid: 51712 + list.length * 16,
      backendId: 0,
      frontendId: domid,
      state: 4,
      evtch: 10,
      rref: 8,
      backendPath: `/local/domain/0/backend/vbd/${domid}/${51712 + list.length * 16}`,
    });
    this.disks.set(domid, list);
    return Promise.resolve();
  }
  blockDetach(domid: number, vdev: string, force: boolean): Promise<void> {
    this.log('blockDetach', domid, vdev, force);
    const list = this.disks.get(domid) ?? [];
    const i = list.findIndex((d) => String(d.devid) === vdev);
    if (i < 0) return Promise.reject(new ToolstackError('NOTFOUND', ''));
    list.splice(i, 1);
    return Promise.resolve();
  }
  blockList(domid: number): Promise<readonly DiskInfo[]> {
    this.get(domid);
    return Promise.resolve(this.disks.get(domid) ?? []);
  }
  networkAttach(domid: number, spec: readonly string[]): Promise<number> {
    this.log('networkAttach', domid, spec);
    const list = this.nics.get(domid) ?? [];
    const devid = list.length;
    const mac =
      /mac=([0-9a-f:]+)/.exec(spec.join(','))?.[1] ??
      `00:16:3e:00:00:${devid.toString(16).padStart(2, '0')}`;
    list.push({
      devid,
      backendId: 0,
      frontendId: domid,
      mac,
      state: 4,
      evtch: 11 + devid,
      rrefTx: 768 + 2 * devid,
      rrefRx: 769 + 2 * devid,
      backendPath: `/local/domain/0/backend/vif/${domid}/${devid}`,
    });
    this.nics.set(domid, list);
    return Promise.resolve(devid);
  }
  networkDetach(domid: number, device: string): Promise<void> {
    this.log('networkDetach', domid, device);
    const list = this.nics.get(domid) ?? [];
    const i = list.findIndex((n) => String(n.devid) === device || n.mac === device);
    if (i < 0) return Promise.reject(new ToolstackError('NOTFOUND', `Unknown device ${device}.`));
    list.splice(i, 1);
    return Promise.resolve();
  }
  networkList(domid: number): Promise<readonly NicInfo[]> {
    this.get(domid);
    return Promise.resolve(this.nics.get(domid) ?? []);
  }
  bridgeCommand(argv: readonly string[]): Promise<CommandResult> {
    this.log('bridgeCommand', argv);
    return Promise.resolve({
      exitCode: 0,
      stdout: 'bridge name\tinterfaces\nxenbr0\t\t\n',
      stderr: '',
    });
  }
  consoleAttach(domid: number): Promise<ConsoleStream> {
    this.get(domid);
    const dataListeners = new Set<(b: Uint8Array) => void>();
    let detached = false;
    const output = this.consoleOutput;
    setImmediate(() => {
      if (!detached) for (const l of dataListeners) l(output);
    });
    return Promise.resolve({
      onData: (l) => {
        dataListeners.add(l);
        return () => dataListeners.delete(l);
      },
      onClose: () => undefined,
      write: (bytes) => {
        this.consoleInput.push(...bytes);
      },
      close: () => {
        detached = true;
        this.log('consoleDetach', domid);
      },
    });
  }
}
