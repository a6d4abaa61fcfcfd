// /etc/xen/xl.conf: host-wide xl defaults, in the same syntax as xl.cfg
// (tools/xl/xl.c parse_global_config; docs/man/xl.conf.5.pod).

import type { ConfigResult, ConfigDiagnostic } from './errors.js';
import { configErr, configOk } from './errors.js';
import { parseConfigText } from './parser.js';
import { ConfigReader, ConfigSettings } from './values.js';

export type Autoballoon = 'on' | 'off' | 'auto';
export type DomidPolicy = 'xen' | 'random';
export type OutputFormat = 'json' | 'sxp';

/**
 * xl.conf values. Optional fields stay undefined when unset: xl then leaves the matching
 * libxl field at its default (and libxl or Xen picks, e.g. bridge xenbr0, 64 grant frames).
 */
export interface XlConf {
  readonly autoballoon: Autoballoon;
  readonly runHotplugScripts: boolean;
  readonly lockfile: string;
  readonly vifDefaultScript: string | undefined;
  readonly vifDefaultBridge: string | undefined;
  readonly vifDefaultBackend: string | undefined;
  readonly vifDefaultGatewaydev: string | undefined;
  readonly outputFormat: OutputFormat;
  readonly blkdevStart: string | undefined;
  readonly claimMode: boolean;
  readonly maxGrantFrames: number | undefined;
  readonly maxMaptrackFrames: number | undefined;
  readonly maxGrantVersion: number | undefined;
  readonly domidPolicy: DomidPolicy;
  readonly remusNetbufScript: string | undefined;
  readonly coloProxyScript: string | undefined;
  readonly cpumask: string | undefined;
  readonly hvmCpumask: string | undefined;
  readonly pvCpumask: string | undefined;
  readonly bootloaderRestrict: boolean | undefined;
}

/** xl's built-in values, used when there is no xl.conf or a key is absent. */
export const XL_CONF_DEFAULTS: XlConf = {
  autoballoon: 'auto',
  runHotplugScripts: true,
  lockfile: '/var/lock/xl',
  vifDefaultScript: undefined,
  vifDefaultBridge: undefined,
  vifDefaultBackend: undefined,
  vifDefaultGatewaydev: undefined,
  outputFormat: 'json',
  blkdevStart: undefined,
  claimMode: true,
  maxGrantFrames: undefined,
  maxMaptrackFrames: undefined,
  maxGrantVersion: undefined,
  domidPolicy: 'xen',
  remusNetbufScript: undefined,
  coloProxyScript: undefined,
  cpumask: undefined,
  hvmCpumask: undefined,
  pvCpumask: undefined,
  bootloaderRestrict: undefined,
};

const INT_MAX = 0x7fffffff;

function choice<T extends string>(
  r: ConfigReader,
  key: string,
  allowed: readonly T[],
  aliases: Readonly<Record<string, T>> = {},
): T | undefined {
  const v = r.string(key);
  if (v === undefined) return undefined;
  const hit = aliases[v] ?? allowed.find((a) => a === v);
  if (hit === undefined) {
    const at = r.at(key);
    if (at)
      r.error(
        at.value,
        `invalid ${key} option "${v}"`,
        `${key} is one of ${allowed.map((a) => `"${a}"`).join(', ')}`,
      );
  }
  return hit;
}

/** Reads xl.conf settings (already parsed) into an XlConf. */
export function readXlConf(r: ConfigReader): XlConf {
  const d = XL_CONF_DEFAULTS;
  const str = (key: string, deprecated?: string): string | undefined =>
    r.string(key) ?? (deprecated === undefined ? undefined : r.string(deprecated));
  return {
    autoballoon:
      choice(r, 'autoballoon', ['on', 'off', 'auto'], { '1': 'on', '0': 'off' }) ?? d.autoballoon,
    runHotplugScripts: r.defbool('run_hotplug_scripts') ?? d.runHotplugScripts,
    lockfile: r.string('lockfile') ?? d.lockfile,
    // vifscript and defaultbridge are the deprecated spellings.
    vifDefaultScript: str('vif.default.script', 'vifscript'),
    vifDefaultBridge: str('vif.default.bridge', 'defaultbridge'),
    vifDefaultBackend: str('vif.default.backend'),
    vifDefaultGatewaydev: str('vif.default.gatewaydev'),
    outputFormat: choice(r, 'output_format', ['json', 'sxp']) ?? d.outputFormat,
    blkdevStart: str('blkdev_start'),
    claimMode: r.defbool('claim_mode') ?? d.claimMode,
    maxGrantFrames: r.long('max_grant_frames', { min: 0, max: INT_MAX }),
    maxMaptrackFrames: r.long('max_maptrack_frames', { min: 0, max: INT_MAX }),
    maxGrantVersion: r.long('max_grant_version', { min: 1, max: 2 }),
    domidPolicy: choice(r, 'domid_policy', ['xen', 'random']) ?? d.domidPolicy,
    remusNetbufScript: str('remus.default.netbufscript'),
    coloProxyScript: str('colo.default.proxyscript'),
    cpumask: str('vm.cpumask'),
    hvmCpumask: str('vm.hvm.cpumask'),
    pvCpumask: str('vm.pv.cpumask'),
    bootloaderRestrict: r.defbool('bootloader_restrict'),
  };
}

/** Parses xl.conf text. `source` names the file in diagnostics. */
export function parseXlConf(text: string, source = '/etc/xen/xl.conf'): ConfigResult<XlConf> {
  const parsed = parseConfigText(text, source);
  if (!parsed.ok) return parsed;
  const errors: ConfigDiagnostic[] = [];
  const settings = new ConfigSettings();
  settings.apply(parsed.value, errors);
  if (errors.length > 0) return configErr(errors);
  const reader = new ConfigReader(settings);
  const conf = readXlConf(reader);
  if (reader.errors.length > 0) return configErr(reader.errors);
  return configOk(conf, reader.warnings);
}
