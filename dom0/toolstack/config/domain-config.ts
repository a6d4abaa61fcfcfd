// Builds the typed libxl_domain_config from xl.cfg settings the way xl's parse_config_data
// does (tools/xl/xl_parse.c), and the effective values libxl/Xen then use
// (libxl__domain_build_info_setdefault in tools/libs/light/libxl_create.c).

import type { HostTopology } from './cpumap.js';
import { singleNodeHost } from './cpumap.js';
import type {
  BuildInfo,
  CreateInfo,
  DomainConfig,
  DomainType,
  EffectiveLimits,
  ShutdownAction,
} from './domain-config-types.js';
import { SHUTDOWN_ACTIONS } from './domain-config-types.js';
import { readBootloaderArgs, readCmdline, readKernel, readTscMode, readU } from './domain-boot.js';
import { readAffinity, readDisks, readNics, readPcidevs } from './domain-devices.js';
import type { ConfigDiagnostic, ConfigResult } from './errors.js';
import { configErr, configOk } from './errors.js';
import { generateUuid, parseUuid } from './uuid.js';
import type { ConfigReader, ConfigSettings } from './values.js';
import { ConfigReader as Reader } from './values.js';
import type { RandomSource } from './vif-spec.js';
import type { XlConf } from './xl-conf.js';
import { XL_CONF_DEFAULTS } from './xl-conf.js';

export interface BuildOptions {
  /** Host xl.conf (defaults: xl's built-ins). */
  readonly xlConf?: XlConf;
  /** The host's CPUs and NUMA nodes, for cpus= / cpus_soft= (default: 8 CPUs, one node). */
  readonly host?: HostTopology;
  /** Randomness for the domain UUID when the config has no uuid= (e.g. a seeded PRNG stream). */
  readonly random: RandomSource;
  /** The config file name, for diagnostics about keys that are missing. */
  readonly source?: string;
}

const INT_MAX = 0x7fffffff;
export const LIBXL_DEFAULT_MEM_KIB = 32 * 1024;
export const XEN_DEFAULT_MAX_GRANT_FRAMES = 64;
export const XEN_DEFAULT_MAX_MAPTRACK_FRAMES = 1024;
export const LIBXL_DEFAULT_EVENT_CHANNELS = 1023;
export const CREDIT_DEFAULT_WEIGHT = 256;

const TOP = { line: 1, column: 1 };

/** `type=`: the first of hvm, pv, pvh that starts with the value (xl's prefix match). */
function matchPrefix<T extends string>(value: string, names: readonly T[]): T | undefined {
  return names.find((n) => n.startsWith(value));
}

function readType(r: ConfigReader): DomainType {
  let type: DomainType | undefined;
  const t = r.string('type');
  if (t !== undefined) {
    type = matchPrefix(t, ['hvm', 'pv', 'pvh'] as const);
    const at = r.at('type');
    if (type === undefined && at)
      r.error(at.value, `Invalid domain type ${t}.`, 'type is "pv", "pvh" or "hvm"');
  }
  const b = r.string('builder');
  if (b !== undefined) {
    // Deprecated since Xen 4.10: builder="generic" is pv, builder="hvm" is hvm.
    const bt = matchPrefix(b, ['hvm', 'generic'] as const);
    const at = r.at('builder');
    if (bt === undefined && at) {
      r.error(
        at.value,
        `Invalid domain type ${b}.`,
        'builder is "generic" or "hvm" (deprecated: use type=)',
      );
    } else if (bt !== undefined) {
      const asType: DomainType = bt === 'hvm' ? 'hvm' : 'pv';
      if (type !== undefined && type !== asType && at)
        r.error(
          at,
          'Contradicting "builder" and "type" options specified.',
          'drop builder= and keep type=',
        );
      type = asType;
    }
  }
  return type ?? 'pv';
}

function readAction(r: ConfigReader, key: string, dflt: ShutdownAction): ShutdownAction {
  const v = r.string(key);
  if (v === undefined) return dflt;
  const a = SHUTDOWN_ACTIONS.find((x) => x === v);
  const at = r.at(key);
  if (a === undefined && at)
    r.error(
      at.value,
      `Unknown ${key} action "${v}" specified`,
      `use one of: ${SHUTDOWN_ACTIONS.join(', ')}`,
    );
  return a ?? dflt;
}

function readMemory(r: ConfigReader): { target: number | undefined; max: number | undefined } {
  const memory = r.long('memory', { min: 1, max: Math.floor(Number.MAX_SAFE_INTEGER / 1024) });
  const maxmem = r.long('maxmem', { min: 1, max: Math.floor(Number.MAX_SAFE_INTEGER / 1024) });
  const target = memory === undefined ? undefined : memory * 1024;
  let max = maxmem === undefined ? undefined : maxmem * 1024;
  if (max === undefined) max = target;
  if (target !== undefined && max !== undefined && target > max) {
    const at = r.at('maxmem') ?? r.at('memory');
    if (at)
      r.error(
        at.value,
        `memory (${target / 1024} MiB) is larger than maxmem (${max / 1024} MiB): libxl refuses target_memkb ${target} > max_memkb ${max}`,
        'make maxmem at least memory (maxmem > memory starts the guest pre-ballooned)',
      );
  }
  return { target, max };
}

function readVcpus(r: ConfigReader): { maxVcpus: number; avail: number[] } {
  const vcpus = r.long('vcpus', { min: 1, max: INT_MAX });
  const maxvcpus = r.long('maxvcpus', { min: 1, max: INT_MAX });
  const avail = vcpus === undefined ? [] : Array.from({ length: vcpus }, (_, i) => i);
  const maxVcpus = maxvcpus ?? vcpus ?? 0;
  const at = r.at('maxvcpus');
  if (vcpus !== undefined && maxVcpus < vcpus && at)
    r.error(
      at.value,
      `xl: maxvcpus < vcpus (maxvcpus ${maxVcpus}, vcpus ${vcpus})`,
      'make maxvcpus at least vcpus (vCPUs above vcpus start offline)',
    );
  return { maxVcpus, avail };
}

function readSched(r: ConfigReader, maxVcpus: number): BuildInfo['schedParams'] {
  const weight = r.long('cpu_weight', { min: 1, max: 65535 });
  const cap = r.long('cap', { min: 0, max: 100 * Math.max(maxVcpus, 1) });
  return {
    weight,
    cap,
    period: r.long('period'),
    slice: r.long('slice'),
    latency: r.long('latency'),
    extratime: r.long('extratime'),
  };
}

function readCreateInfo(
  r: ConfigReader,
  type: DomainType,
  conf: XlConf,
  random: RandomSource,
  source: string,
): CreateInfo {
  const name = r.string('name');
  if (!r.has('name'))
    r.error(
      { source, ...TOP },
      'Domain name must be specified.',
      'add a line such as name = "guest1"',
    );
  let uuid: string | undefined;
  const u = r.string('uuid');
  const uAt = r.at('uuid');
  if (u !== undefined && uAt) {
    uuid = parseUuid(u);
    if (uuid === undefined)
      r.error(
        uAt.value,
        `Failed to parse UUID: ${u}`,
        'write uuid as 8-4-4-4-12 hex digits, or leave it out for a fresh one',
      );
  }
  const init = r.string('init_seclabel');
  const sec = r.string('seclabel');
  return {
    type,
    name: name ?? '',
    uuid: uuid ?? generateUuid(random),
    hap: r.defbool('hap'),
    oos: r.defbool('oos'),
    ssidLabel: init ?? sec,
    poolName: r.string('pool'),
    runHotplugScripts: conf.runHotplugScripts,
    driverDomain: r.defbool('driver_domain'),
  };
}

/** xl's parse_config_data over already-applied settings. Never throws. */
export function buildDomainConfig(
  settings: ConfigSettings,
  options: BuildOptions,
): ConfigResult<DomainConfig> {
  const r = new Reader(settings);
  const conf = options.xlConf ?? XL_CONF_DEFAULTS;
  const host = options.host ?? singleNodeHost(8);
  const type = readType(r);
  const source = options.source ?? 'config';
  const cInfo = readCreateInfo(r, type, conf, options.random, source);
  const mem = readMemory(r);
  const { maxVcpus, avail } = readVcpus(r);
  const effMax = maxVcpus || 1;
  // DEVIATION(xen): with vcpus= unset xl sizes affinity arrays with max_vcpus 0 (and then
  // overruns them); we size them with libxl's effective 1 vCPU.
  const hard = readAffinity(r, 'cpus', effMax, host);
  const soft = readAffinity(r, 'cpus_soft', effMax, host);
  const kernel = readKernel(r, type);
  const bootloader = r.string('bootloader');
  if (type !== 'hvm' && bootloader === undefined && !r.has('kernel') && !r.has('firmware'))
    r.error(
      { source, ...TOP },
      'Neither kernel nor bootloader specified',
      `a ${type} guest needs kernel = "/path/to/vmlinuz" (or bootloader = "pygrub", or firmware = "pvgrub64")`,
    );
  if (type === 'pv' && r.has('timer_mode')) {
    const at = r.at('timer_mode');
    if (at)
      r.error(
        at,
        'ERROR: "timer_mode" option is not supported for PV guests.',
        'remove timer_mode= from a PV guest config',
      );
  }
  const dm = r.string('device_model');
  if (dm !== undefined)
    r.warn(
      r.at('device_model'),
      'WARNING: ignoring device_model directive. Use "device_model_override" instead if you really want a non-default device_model',
    );
  if (r.has('vif2'))
    r.warn(r.at('vif2'), 'WARNING: vif2: netchannel2 is deprecated and not supported by xl');
  const bInfo: BuildInfo = {
    maxVcpus,
    availVcpus: avail,
    vcpuHardAffinity: hard?.maps,
    vcpuSoftAffinity: soft?.maps,
    numaPlacement: hard?.fromList === true || soft !== undefined ? false : undefined,
    tscMode: readTscMode(r),
    maxMemkb: mem.max,
    targetMemkb: mem.target,
    videoMemkb: mulKiB(r.long('videoram', { min: 0 })),
    shadowMemkb: mulKiB(r.long('shadow_memory', { min: 0 })),
    rtcTimeoffset: r.long('rtc_timeoffset'),
    execSsidLabel: r.has('init_seclabel') ? r.string('seclabel') : undefined,
    localtime: r.defbool('localtime'),
    disableMigrate: r.defbool('nomigrate'),
    blkdevStart: conf.blkdevStart,
    maxGrantFrames: r.long('max_grant_frames', { min: 0, max: INT_MAX }) ?? conf.maxGrantFrames,
    maxMaptrackFrames:
      r.long('max_maptrack_frames', { min: 0, max: INT_MAX }) ?? conf.maxMaptrackFrames,
    maxGrantVersion: r.long('max_grant_version', { min: 1, max: 2 }) ?? conf.maxGrantVersion,
    schedParams: readSched(r, effMax),
    claimMode: conf.claimMode,
    eventChannels: r.long('max_event_channels', { min: 0, max: INT_MAX }),
    kernel,
    cmdline: readCmdline(r),
    ramdisk: r.string('ramdisk'),
    deviceTree: r.string('device_tree'),
    acpi: r.defbool('acpi'),
    bootloader,
    bootloaderArgs: readBootloaderArgs(r),
    nestedHvm: r.defbool('nestedhvm'),
    apic: type === 'hvm' ? r.defbool('apic') : undefined,
    dmRestrict: r.defbool('dm_restrict'),
    u: readU(r, type),
  };
  const pcidevs = readPcidevs(r);
  const u = bInfo.u;
  const config: DomainConfig = {
    cInfo,
    bInfo:
      u.type === 'pv' && pcidevs.length > 0 ? { ...bInfo, u: { ...u, e820Host: true } } : bInfo,
    disks: readDisks(r),
    nics: readNics(r, {
      script: conf.vifDefaultScript,
      bridge: conf.vifDefaultBridge,
      gatewaydev: conf.vifDefaultGatewaydev,
      backend: conf.vifDefaultBackend,
    }),
    pcidevs,
    onPoweroff: readAction(r, 'on_poweroff', 'destroy'),
    onReboot: readAction(r, 'on_reboot', 'restart'),
    onWatchdog: readAction(r, 'on_watchdog', 'destroy'),
    onCrash: readAction(r, 'on_crash', 'destroy'),
    onSoftReset: readAction(r, 'on_soft_reset', 'soft-reset'),
  };
  if (r.errors.length > 0) return configErr(sortDiagnostics(r.errors));
  return configOk(config, r.warnings);
}

function mulKiB(mib: number | undefined): number | undefined {
  return mib === undefined ? undefined : mib * 1024;
}

function sortDiagnostics(d: readonly ConfigDiagnostic[]): ConfigDiagnostic[] {
  return [...d].sort((a, b) =>
    a.source === b.source ? a.line - b.line || a.column - b.column : 0,
  );
}

/** What libxl and Xen use where the config is silent (reference §8.2, §11). */
export function effectiveLimits(cfg: DomainConfig): EffectiveLimits {
  const b = cfg.bInfo;
  const maxMemKiB = b.maxMemkb ?? LIBXL_DEFAULT_MEM_KIB;
  return {
    targetMemKiB: b.targetMemkb ?? maxMemKiB,
    maxMemKiB,
    vcpus: b.availVcpus.length || 1,
    maxVcpus: b.maxVcpus || 1,
    cpuWeight: b.schedParams.weight ?? CREDIT_DEFAULT_WEIGHT,
    capPercent: b.schedParams.cap ?? 0,
    maxGrantFrames: b.maxGrantFrames ?? XEN_DEFAULT_MAX_GRANT_FRAMES,
    maxMaptrackFrames: b.maxMaptrackFrames ?? XEN_DEFAULT_MAX_MAPTRACK_FRAMES,
    maxEventChannels: b.eventChannels ?? LIBXL_DEFAULT_EVENT_CHANNELS,
    poolName: cfg.cInfo.poolName ?? 'Pool-0',
  };
}
