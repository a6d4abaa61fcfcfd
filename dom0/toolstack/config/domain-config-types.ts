// The typed libxl_domain_config that xl builds from a domain config file
// (tools/libs/light/libxl_types.idl: libxl_domain_create_info, libxl_domain_build_info,
// libxl_domain_config). Optional fields are `undefined` where xl leaves libxl's default.

import type { DiskSpec } from './disk-spec.js';
import type { PciSpec } from './pci-spec.js';
import type { NicSpec } from './vif-spec.js';

export type DomainType = 'pv' | 'pvh' | 'hvm';

/** xl's action names (on_poweroff= etc.). */
export const SHUTDOWN_ACTIONS = [
  'destroy',
  'restart',
  'rename-restart',
  'preserve',
  'coredump-destroy',
  'coredump-restart',
  'soft-reset',
] as const;
export type ShutdownAction = (typeof SHUTDOWN_ACTIONS)[number];

export const TSC_MODES = ['default', 'always_emulate', 'native', 'native_paravirt'] as const;
export type TscMode = (typeof TSC_MODES)[number];

export interface CreateInfo {
  readonly type: DomainType;
  readonly name: string;
  /** Lowercase 8-4-4-4-12 hex. */
  readonly uuid: string;
  readonly hap: boolean | undefined;
  readonly oos: boolean | undefined;
  readonly ssidLabel: string | undefined;
  readonly poolName: string | undefined;
  readonly runHotplugScripts: boolean;
  readonly driverDomain: boolean | undefined;
}

/** libxl_domain_sched_params: undefined = the scheduler's default (credit: weight 256, cap 0). */
export interface SchedParams {
  readonly weight: number | undefined;
  readonly cap: number | undefined;
  readonly period: number | undefined;
  readonly slice: number | undefined;
  readonly latency: number | undefined;
  readonly extratime: number | undefined;
}

export interface VncInfo {
  readonly enable: boolean | undefined;
  readonly listen: string | undefined;
  readonly passwd: string | undefined;
  readonly display: number | undefined;
  readonly findunused: boolean | undefined;
}

export interface SdlInfo {
  readonly enable: boolean | undefined;
  readonly opengl: boolean | undefined;
  readonly display: string | undefined;
  readonly xauthority: string | undefined;
}

export type VgaKind = 'cirrus' | 'std' | 'none' | 'qxl';

export type BuildInfoU =
  | { readonly type: 'pv'; readonly e820Host: boolean | undefined }
  | {
      readonly type: 'pvh';
      readonly pvshim: boolean | undefined;
      readonly pvshimPath: string | undefined;
      readonly pvshimCmdline: string | undefined;
      readonly pvshimExtra: string | undefined;
    }
  | {
      readonly type: 'hvm';
      readonly vgaKind: VgaKind | undefined;
      readonly vnc: VncInfo;
      readonly sdl: SdlInfo;
      readonly serial: string | undefined;
      readonly serialList: readonly string[] | undefined;
      readonly boot: string | undefined;
    };

export interface BuildInfo {
  /** As xl sets it: 0 when neither vcpus nor maxvcpus is given (libxl then uses 1). */
  readonly maxVcpus: number;
  /** vCPUs online at boot: bits 0..vcpus-1; empty when vcpus is not given. */
  readonly availVcpus: readonly number[];
  readonly vcpuHardAffinity: readonly (readonly number[])[] | undefined;
  readonly vcpuSoftAffinity: readonly (readonly number[])[] | undefined;
  readonly numaPlacement: boolean | undefined;
  readonly tscMode: TscMode | undefined;
  readonly maxMemkb: number | undefined;
  readonly targetMemkb: number | undefined;
  readonly videoMemkb: number | undefined;
  readonly shadowMemkb: number | undefined;
  readonly rtcTimeoffset: number | undefined;
  readonly execSsidLabel: string | undefined;
  readonly localtime: boolean | undefined;
  readonly disableMigrate: boolean | undefined;
  readonly blkdevStart: string | undefined;
  readonly maxGrantFrames: number | undefined;
  readonly maxMaptrackFrames: number | undefined;
  readonly maxGrantVersion: number | undefined;
  readonly schedParams: SchedParams;
  readonly claimMode: boolean;
  readonly eventChannels: number | undefined;
  readonly kernel: string | undefined;
  readonly cmdline: string | undefined;
  readonly ramdisk: string | undefined;
  readonly deviceTree: string | undefined;
  readonly acpi: boolean | undefined;
  readonly bootloader: string | undefined;
  readonly bootloaderArgs: readonly string[] | undefined;
  readonly nestedHvm: boolean | undefined;
  readonly apic: boolean | undefined;
  readonly dmRestrict: boolean | undefined;
  readonly u: BuildInfoU;
}

export interface DomainConfig {
  readonly cInfo: CreateInfo;
  readonly bInfo: BuildInfo;
  readonly disks: readonly DiskSpec[];
  readonly nics: readonly NicSpec[];
  readonly pcidevs: readonly PciSpec[];
  readonly onPoweroff: ShutdownAction;
  readonly onReboot: ShutdownAction;
  readonly onWatchdog: ShutdownAction;
  readonly onCrash: ShutdownAction;
  readonly onSoftReset: ShutdownAction;
}

/** The values in force once libxl and Xen fill what the config left unset. */
export interface EffectiveLimits {
  readonly targetMemKiB: number;
  readonly maxMemKiB: number;
  readonly vcpus: number;
  readonly maxVcpus: number;
  readonly cpuWeight: number;
  readonly capPercent: number;
  readonly maxGrantFrames: number;
  readonly maxMaptrackFrames: number;
  readonly maxEventChannels: number;
  readonly poolName: string;
}
