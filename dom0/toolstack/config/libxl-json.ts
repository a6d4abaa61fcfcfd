// libxl_domain_config as libxl's generated JSON prints it (`xl create -n`, `xl list -l`):
// fields in libxl_types.idl order, fields at their idl default omitted, enums as lowercase
// names, defbools "True"/"False", keyed unions as "type.pv" (tools/libs/light/gentypes.py).

import type { DiskSpec } from './disk-spec.js';
import type { BuildInfo, CreateInfo, DomainConfig, ShutdownAction } from './domain-config-types.js';
import type { PciSpec } from './pci-spec.js';
import type { NicSpec } from './vif-spec.js';
import { NIC_COLO_FIELDS } from './vif-spec.js';
import type { JsonValue } from './yajl-json.js';
import { JsonMap, toYajlJson } from './yajl-json.js';

const defbool = (b: boolean | undefined): string | undefined =>
  b === undefined ? undefined : b ? 'True' : 'False';
/** Integer fields without an idl init_val are omitted when 0. */
const nonzero = (n: number | undefined): number | undefined => (n === 0 ? undefined : n);
const flag = (b: boolean): boolean | undefined => (b ? true : undefined);
const bitmap = (bits: readonly number[]): readonly number[] | undefined =>
  bits.length === 0 ? undefined : bits;
const array = <T>(xs: readonly T[] | undefined, f: (x: T) => JsonValue): JsonValue[] | undefined =>
  xs === undefined || xs.length === 0 ? undefined : xs.map(f);

/** libxl_action_on_shutdown_to_string: the idl value name, lowercased. */
function actionName(a: ShutdownAction): string | undefined {
  const names: Record<ShutdownAction, string> = {
    destroy: 'destroy',
    restart: 'restart',
    'rename-restart': 'restart_rename',
    preserve: 'preserve',
    'coredump-destroy': 'coredump_destroy',
    'coredump-restart': 'coredump_restart',
    'soft-reset': 'soft_reset',
  };
  // DESTROY is the idl init_val, so it is omitted.
  return a === 'destroy' ? undefined : names[a];
}

function createInfoJson(c: CreateInfo): JsonMap {
  return new JsonMap()
    .set('type', c.type)
    .set('hap', defbool(c.hap))
    .set('oos', defbool(c.oos))
    .set('ssid_label', c.ssidLabel)
    .set('name', c.name)
    .set('uuid', c.uuid)
    .set('pool_name', c.poolName)
    .set('run_hotplug_scripts', defbool(c.runHotplugScripts))
    .set('driver_domain', defbool(c.driverDomain));
}

function unionJson(b: BuildInfo): [string, JsonMap] {
  const u = b.u;
  switch (u.type) {
    case 'pv':
      return ['type.pv', new JsonMap().set('e820_host', defbool(u.e820Host))];
    case 'pvh':
      return [
        'type.pvh',
        new JsonMap()
          .set('pvshim', defbool(u.pvshim))
          .set('pvshim_path', u.pvshimPath)
          .set('pvshim_cmdline', u.pvshimCmdline)
          .set('pvshim_extra', u.pvshimExtra),
      ];
    case 'hvm':
      return [
        'type.hvm',
        new JsonMap()
          .set('vga', new JsonMap().set('kind', u.vgaKind))
          .set(
            'vnc',
            new JsonMap()
              .set('enable', defbool(u.vnc.enable))
              .set('listen', u.vnc.listen)
              .set('passwd', u.vnc.passwd)
              .set('display', nonzero(u.vnc.display))
              .set('findunused', defbool(u.vnc.findunused)),
          )
          .set(
            'sdl',
            new JsonMap()
              .set('enable', defbool(u.sdl.enable))
              .set('opengl', defbool(u.sdl.opengl))
              .set('display', u.sdl.display)
              .set('xauthority', u.sdl.xauthority),
          )
          .set('spice', new JsonMap())
          .set('serial', u.serial)
          .set('boot', u.boot)
          .set(
            'serial_list',
            array(u.serialList, (s) => s),
          )
          .set('rdm', new JsonMap()),
      ];
  }
}

function buildInfoJson(b: BuildInfo): JsonMap {
  const s = b.schedParams;
  const [unionKey, unionMap] = unionJson(b);
  return new JsonMap()
    .set('max_vcpus', nonzero(b.maxVcpus))
    .set('avail_vcpus', bitmap(b.availVcpus))
    .set(
      'vcpu_hard_affinity',
      array(b.vcpuHardAffinity, (m) => m),
    )
    .set(
      'vcpu_soft_affinity',
      array(b.vcpuSoftAffinity, (m) => m),
    )
    .set('numa_placement', defbool(b.numaPlacement))
    .set('tsc_mode', b.tscMode === 'default' ? undefined : b.tscMode)
    .set('max_memkb', b.maxMemkb)
    .set('target_memkb', b.targetMemkb)
    .set('video_memkb', b.videoMemkb)
    .set('shadow_memkb', b.shadowMemkb)
    .set('rtc_timeoffset', nonzero(b.rtcTimeoffset))
    .set('exec_ssid_label', b.execSsidLabel)
    .set('localtime', defbool(b.localtime))
    .set('disable_migrate', defbool(b.disableMigrate))
    .set('blkdev_start', b.blkdevStart)
    .set('max_grant_frames', b.maxGrantFrames)
    .set('max_maptrack_frames', b.maxMaptrackFrames)
    .set('max_grant_version', b.maxGrantVersion)
    .set(
      'sched_params',
      new JsonMap()
        .set('weight', s.weight)
        .set('cap', s.cap)
        .set('period', s.period)
        .set('extratime', s.extratime)
        .set('slice', s.slice)
        .set('latency', s.latency),
    )
    .set('claim_mode', defbool(b.claimMode))
    .set('event_channels', nonzero(b.eventChannels))
    .set('kernel', b.kernel)
    .set('cmdline', b.cmdline)
    .set('ramdisk', b.ramdisk)
    .set('device_tree', b.deviceTree)
    .set('acpi', defbool(b.acpi))
    .set('bootloader', b.bootloader)
    .set(
      'bootloader_args',
      array(b.bootloaderArgs, (a) => a),
    )
    .set('nested_hvm', defbool(b.nestedHvm))
    .set('apic', defbool(b.apic))
    .set('dm_restrict', defbool(b.dmRestrict))
    .set(unionKey, unionMap)
    .set('arch_arm', new JsonMap())
    .set('arch_x86', new JsonMap());
}

function diskJson(d: DiskSpec): JsonMap {
  return new JsonMap()
    .set('backend_domname', d.backendDomname)
    .set('pdev_path', d.pdevPath)
    .set('vdev', d.vdev)
    .set('backend', d.backend)
    .set('format', d.format)
    .set('script', d.script)
    .set('removable', d.removable ? 1 : undefined)
    .set('readwrite', d.readwrite ? 1 : undefined)
    .set('is_cdrom', d.isCdrom ? 1 : undefined)
    .set('direct_io_safe', flag(d.directIoSafe))
    .set('discard_enable', defbool(d.discardEnable))
    .set('specification', d.specification)
    .set('colo_enable', defbool(d.coloEnable))
    .set('colo_host', d.coloHost)
    .set('colo_port', d.coloPort)
    .set('colo_export', d.coloExport)
    .set('active_disk', d.activeDisk)
    .set('hidden_disk', d.hiddenDisk)
    .set('trusted', defbool(d.trusted));
}

/** devid -1 (libxl_device_nic_init's, for libxl to choose) is omitted: `xl network-attach -n`. */
function nicJson(n: NicSpec): JsonMap {
  const m = new JsonMap()
    .set('backend_domname', n.backendDomname)
    .set('devid', n.devid === -1 ? undefined : n.devid)
    .set('mtu', nonzero(n.mtu))
    .set('model', n.model)
    .set('mac', n.mac)
    .set('ip', n.ip)
    .set('bridge', n.bridge)
    .set('ifname', n.ifname)
    .set('script', n.script)
    .set('nictype', n.nictype)
    .set('rate_bytes_per_interval', nonzero(n.rateBytesPerInterval))
    .set('rate_interval_usecs', nonzero(n.rateIntervalUsecs))
    .set('gatewaydev', n.gatewaydev);
  for (const f of NIC_COLO_FIELDS) m.set(f, n.colo[f]);
  return m.set('trusted', defbool(n.trusted));
}

function pciJson(p: PciSpec): JsonMap {
  return new JsonMap()
    .set('func', nonzero(p.func))
    .set('dev', nonzero(p.dev))
    .set('bus', nonzero(p.bus))
    .set('domain', nonzero(p.domain))
    .set('vdevfn', nonzero(p.vdevfn))
    .set('vfunc_mask', nonzero(p.vfuncMask))
    .set('msitranslate', flag(p.msitranslate))
    .set('power_mgmt', flag(p.powerMgmt))
    .set('permissive', flag(p.permissive))
    .set('seize', flag(p.seize))
    .set('rdm_policy', p.rdmPolicy)
    .set('name', p.name);
}

/** The JSON tree of a libxl_domain_config. */
export function domainConfigJsonTree(cfg: DomainConfig): JsonMap {
  return new JsonMap()
    .set('c_info', createInfoJson(cfg.cInfo))
    .set('b_info', buildInfoJson(cfg.bInfo))
    .set('disks', array(cfg.disks, diskJson))
    .set('nics', array(cfg.nics, nicJson))
    .set('pcidevs', array(cfg.pcidevs, pciJson))
    .set('on_poweroff', actionName(cfg.onPoweroff))
    .set('on_reboot', actionName(cfg.onReboot))
    .set('on_watchdog', actionName(cfg.onWatchdog))
    .set('on_crash', actionName(cfg.onCrash))
    .set('on_soft_reset', actionName(cfg.onSoftReset));
}

/** What `xl create -n` prints on stdout: libxl_domain_config_to_json of the parsed config. */
export function domainConfigToJson(cfg: DomainConfig): string {
  return toYajlJson(domainConfigJsonTree(cfg));
}

/**
 * libxl_device_nic_to_json: libxl_types.idl field order, fields at their default omitted (devid -1,
 * a zero MAC, mtu 0, unset strings, the default defbool), as the nics of `xl create -n` print.
 */
export function nicToJson(n: NicSpec): string {
  return toYajlJson(nicJson(n));
}
