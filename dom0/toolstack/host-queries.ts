// Read-side toolstack calls (libxl_domain.c libxl_list_domain/libxl_domain_info, libxl_list_vcpu,
// libxl.c libxl_get_physinfo/libxl_get_version_info, libxl_sched.c): getdomaininfo, getvcpuinfo,
// physinfo and xen_version turned into the plain records xl prints.

import {
  XEN_DOMINF_blocked,
  XEN_DOMINF_dying,
  XEN_DOMINF_paused,
  XEN_DOMINF_running,
  XEN_DOMINF_shutdown,
  XEN_DOMINF_shutdownmask,
  XEN_DOMINF_shutdownshift,
  type XenDomctlGetDomainInfo,
} from '../../hypercalls/domctl.js';
import { XEN_SYSCTL_PHYSCAP_hvm, XEN_SYSCTL_PHYSCAP_pv } from '../../hypercalls/sysctl.js';
import {
  XENVER_capabilities,
  XENVER_changeset,
  XENVER_commandline,
  XENVER_compile_info,
  XENVER_extraversion,
  XENVER_version,
  type XenCompileInfo,
  type XenVersionString,
} from '../../hypercalls/version.js';
import {
  ToolstackError,
  type Credit2PoolParams,
  type CreditPoolParams,
  type DomainInfo,
  type HostInfo,
  type SchedPool,
  type VcpuInfo,
} from './api.js';
import type { LifecycleDeps } from './lifecycle.js';
import type { Dom0Platform } from './platform.js';
import { requireScheduler, type SchedName } from './resources.js';
import { xcError } from './xc-errors.js';
import { domPath } from './xs-layout.js';

const POOL0 = 'Pool-0';

export class HostQueries {
  private readonly deps: LifecycleDeps;
  private readonly platform: Dom0Platform;

  constructor(deps: LifecycleDeps, platform: Dom0Platform) {
    this.deps = deps;
    this.platform = platform;
  }

  private nameOf(domid: number): string {
    if (domid === 0) return 'Domain-0';
    return (
      this.deps.registry.get(domid)?.name ?? this.deps.xs.read(`${domPath(domid)}/name`) ?? `(null)`
    );
  }

  private toInfo(i: XenDomctlGetDomainInfo): DomainInfo {
    const f = i.flags;
    const rec = this.deps.registry.get(i.domain);
    const h = i.handle;
    const hex = h ? [...h].map((b) => b.toString(16).padStart(2, '0')).join('') : '0'.repeat(32);
    const uuid =
      rec?.uuid ??
      `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
    return {
      domid: i.domain,
      name: this.nameOf(i.domain),
      uuid,
      running: (f & XEN_DOMINF_running) !== 0,
      blocked: (f & XEN_DOMINF_blocked) !== 0,
      paused: (f & XEN_DOMINF_paused) !== 0,
      shutdown: (f & XEN_DOMINF_shutdown) !== 0,
      dying: (f & XEN_DOMINF_dying) !== 0,
      shutdownReason: (f >>> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask,
      currentMemKb: i.tot_pages * 4,
      outstandingMemKb: i.outstanding_pages * 4,
      maxMemKb: i.max_pages * 4,
      cpuTimeNs: i.cpu_time,
      vcpuOnline: i.nr_online_vcpus,
      vcpuMaxId: i.max_vcpu_id,
      cpupool: POOL0,
      startTimeS: rec?.startTimeS ?? this.platform.clock.epochS,
    };
  }

  domainInfo(domid: number): DomainInfo {
    const i = this.deps.xc.getInfo(domid);
    if (!i.ok) throw new ToolstackError('DOMAIN_NOTFOUND', `Domain ${domid} does not exist.`);
    return this.toInfo(i.value);
  }

  /** dom0 and the domains this toolstack built, in domid order. */
  listDomains(): DomainInfo[] {
    const ids = [0, ...[...this.deps.registry.all()].map((r) => r.domid)].sort((a, b) => a - b);
    const out: DomainInfo[] = [];
    for (const id of ids) {
      const i = this.deps.xc.getInfo(id);
      if (i.ok) out.push(this.toInfo(i.value));
    }
    return out;
  }

  vcpuList(domid?: number): VcpuInfo[] {
    const doms = domid === undefined ? this.listDomains() : [this.domainInfo(domid)];
    const phys = this.deps.xc.physinfo();
    const nr = phys.ok ? phys.value.nr_cpus : 1;
    const cpus = (m: readonly boolean[]): number[] => {
      const out: number[] = [];
      for (let c = 0; c < nr; c++) if (m[c] === true) out.push(c);
      return out;
    };
    const out: VcpuInfo[] = [];
    for (const d of doms) {
      for (let v = 0; v <= d.vcpuMaxId; v++) {
        const vi = this.deps.xc.getVcpuInfo(d.domid, v);
        if (!vi.ok) continue;
        const aff = this.deps.xc.getVcpuAffinity(d.domid, v);
        out.push({
          domid: d.domid,
          name: d.name,
          vcpuId: v,
          online: vi.value.online !== 0,
          running: vi.value.running !== 0,
          blocked: vi.value.blocked !== 0,
          cpu: vi.value.cpu,
          vcpuTimeNs: vi.value.cpu_time,
          hardAffinity: aff.ok ? cpus(aff.value.cpumap_hard) : [],
          softAffinity: aff.ok ? cpus(aff.value.cpumap_soft) : [],
        });
      }
    }
    return out;
  }

  schedGet<P extends CreditPoolParams | Credit2PoolParams>(
    s: SchedName,
    pool?: string,
  ): SchedPool<P>[] {
    if (pool !== undefined && pool !== POOL0)
      throw new ToolstackError('INVAL', `unknown cpupool '${pool}'`);
    const sid = requireScheduler(this.deps, s);
    const p = this.deps.xc.poolSchedGet(0, sid);
    if (!p.ok) throw xcError('getting scheduler parameters of Pool-0', p.errno);
    const params = (
      s === 'credit'
        ? {
            tsliceMs: p.value.tslice_ms,
            ratelimitUs: p.value.ratelimit_us,
            migrationDelayUs: p.value.vcpu_migr_delay_us,
          }
        : { ratelimitUs: p.value.ratelimit_us }
    ) as P;
    const domains = [];
    for (const d of this.listDomains()) {
      const g = this.deps.xc.schedGet(d.domid, sid);
      if (g.ok)
        domains.push({ domid: d.domid, name: d.name, weight: g.value.weight, cap: g.value.cap });
    }
    return [{ poolName: POOL0, params, domains }];
  }

  schedParamsSet(s: SchedName, pool: string | undefined, p: Partial<CreditPoolParams>): void {
    if (pool !== undefined && pool !== POOL0)
      throw new ToolstackError('INVAL', `unknown cpupool '${pool}'`);
    const sid = requireScheduler(this.deps, s);
    const cur = this.deps.xc.poolSchedGet(0, sid);
    if (!cur.ok) throw xcError('getting scheduler parameters of Pool-0', cur.errno);
    const next = {
      tslice_ms: p.tsliceMs ?? cur.value.tslice_ms,
      ratelimit_us: p.ratelimitUs ?? cur.value.ratelimit_us,
      vcpu_migr_delay_us: p.migrationDelayUs ?? cur.value.vcpu_migr_delay_us,
    };
    if (s === 'credit' && (next.tslice_ms < 1 || next.tslice_ms > 1000))
      throw new ToolstackError('INVAL', `tslice out of range (1..1000 ms): ${next.tslice_ms}`);
    if (next.ratelimit_us !== 0 && (next.ratelimit_us < 100 || next.ratelimit_us > 500000))
      throw new ToolstackError(
        'INVAL',
        `ratelimit out of range (100..500000 us, or 0): ${next.ratelimit_us}`,
      );
    if (s === 'credit' && next.ratelimit_us > next.tslice_ms * 1000)
      throw new ToolstackError('INVAL', 'ratelimit must not exceed the timeslice');
    const r = this.deps.xc.poolSchedSet(0, sid, next);
    if (!r.ok) throw xcError('setting scheduler parameters of Pool-0', r.errno);
  }

  info(): HostInfo {
    const h = this.platform.hypercalls;
    const phys = this.deps.xc.physinfo();
    if (!phys.ok) throw xcError('xc_physinfo', phys.errno);
    const p = phys.value;
    const str = (cmd: number): string => {
      const b: XenVersionString = { value: '' };
      return h.xen_version(cmd, b) < 0 ? '' : b.value;
    };
    const ver = h.xen_version(XENVER_version);
    const ci: XenCompileInfo = {
      compiler: '',
      compile_by: '',
      compile_domain: '',
      compile_date: '',
    };
    h.xen_version(XENVER_compile_info, ci);
    const sid = this.deps.xc.schedId();
    const virtCaps = [
      ...((p.capabilities & XEN_SYSCTL_PHYSCAP_pv) !== 0 ? ['pv'] : []),
      ...((p.capabilities & XEN_SYSCTL_PHYSCAP_hvm) !== 0 ? ['hvm'] : []),
      'gnttab-v1',
    ];
    const now = this.platform.clock.now();
    return {
      host: this.platform.hostname,
      release: '6.1.0-xensim-amd64',
      version: '#1 SMP PREEMPT_DYNAMIC xensim',
      machine: 'x86_64',
      nrCpus: p.nr_cpus,
      maxCpuId: p.max_cpu_id,
      nrNodes: p.nr_nodes,
      coresPerSocket: p.cores_per_socket,
      threadsPerCore: p.threads_per_core,
      cpuKhz: p.cpu_khz,
      hwCaps: p.hw_cap ?? [],
      virtCaps,
      totalPages: p.total_pages,
      freePages: p.free_pages,
      outstandingPages: p.outstanding_pages,
      sharingFreedPages: 0,
      sharingUsedFrames: 0,
      freeCpus: 0,
      xenMajor: ver >>> 16,
      xenMinor: ver & 0xffff,
      xenExtra: str(XENVER_extraversion),
      xenCaps: str(XENVER_capabilities),
      scheduler: sid.ok && sid.value === 5 ? 'credit' : 'credit2',
      pageSize: 4096,
      virtStartHex: 'ffff800000000000',
      changeset: str(XENVER_changeset),
      commandline: str(XENVER_commandline),
      ccCompiler: ci.compiler,
      ccCompileBy: ci.compile_by,
      ccCompileDomain: ci.compile_domain,
      ccCompileDate: ci.compile_date,
      buildId: '',
      nowMs: Math.floor((this.platform.clock.epochS + now / 1e9) * 1000),
      uptimeS: now / 1e9,
    };
  }
}
