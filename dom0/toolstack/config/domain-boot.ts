// Boot and guest-type keys of a domain config as xl reads them (tools/xl/xl_parse.c
// parse_config_data, parse_cmdline): kernel/firmware, cmdline from root/extra, bootloader
// arguments, tsc_mode, and the per-type build info (PV e820_host, PVH shim, HVM display).

import type { BuildInfoU, DomainType, TscMode, VgaKind } from './domain-config-types.js';
import { TSC_MODES } from './domain-config-types.js';
import type { ConfigReader } from './values.js';

/** XENFIRMWAREDIR: where `firmware="pvgrub64"` looks for pvgrub64.bin. */
export const XEN_FIRMWARE_DIR = '/usr/lib/xen/boot';

export function readCmdline(r: ConfigReader): string | undefined {
  const cmdline = r.string('cmdline');
  const root = r.string('root');
  const extra = r.string('extra');
  if (cmdline !== undefined) {
    if (root !== undefined || extra !== undefined)
      r.warn(r.at('cmdline'), 'Warning: ignoring root= and extra= in favour of cmdline=');
    return cmdline;
  }
  if (root !== undefined && extra !== undefined) return `root=${root} ${extra}`;
  if (root !== undefined) return `root=${root}`;
  return extra;
}

export function readTscMode(r: ConfigReader): TscMode | undefined {
  const at = r.at('tsc_mode');
  if (!at) return undefined;
  const n = r.tryLong('tsc_mode');
  if (n !== undefined) {
    const named = TSC_MODES[n];
    r.warn(
      at,
      `WARNING: specifying "tsc_mode" as an integer is deprecated. Please use the named parameter variant.${named ? ` e.g. tsc_mode="${named}"` : ''}`,
    );
    if (named === undefined)
      r.error(
        at.value,
        `invalid value ${n} for "tsc_mode"`,
        `tsc_mode is one of ${TSC_MODES.join(', ')}`,
      );
    return named;
  }
  const s = r.string('tsc_mode');
  const m = TSC_MODES.find((x) => x === s);
  if (s !== undefined && m === undefined)
    r.error(
      at.value,
      `invalid value "${s}" for "tsc_mode"`,
      `tsc_mode is one of ${TSC_MODES.join(', ')}`,
    );
  return m;
}

export function readBootloaderArgs(r: ConfigReader): string[] | undefined {
  const s = r.at('bootloader_args');
  if (!s) return undefined;
  if (s.value.kind === 'atom') {
    r.warn(
      s,
      'WARNING: Specifying "bootloader_args" as a string is deprecated. Please use a list of arguments.',
    );
    return s.value.text.split(/[ \t\n]+/).filter((w) => w !== '');
  }
  return r.stringList('bootloader_args')?.items;
}

export function readU(r: ConfigReader, type: DomainType): BuildInfoU {
  if (type === 'pv') return { type, e820Host: r.defbool('e820_host') };
  if (type === 'pvh')
    return {
      type,
      pvshim: r.defbool('pvshim'),
      pvshimPath: r.string('pvshim_path'),
      pvshimCmdline: r.string('pvshim_cmdline'),
      pvshimExtra: r.string('pvshim_extra'),
    };
  let vgaKind: VgaKind | undefined;
  const vga = r.string('vga');
  if (vga !== undefined) {
    vgaKind =
      vga === 'stdvga' ? 'std' : (['cirrus', 'none', 'qxl'] as const).find((k) => k === vga);
    const at = r.at('vga');
    if (vgaKind === undefined && at)
      r.error(at.value, `Unknown vga "${vga}" specified`, 'vga is stdvga, cirrus, none or qxl');
  } else {
    vgaKind = (r.long('stdvga') ?? 0) !== 0 ? 'std' : 'cirrus';
  }
  const serialAt = r.at('serial');
  return {
    type,
    vgaKind,
    vnc: {
      enable: r.defbool('vnc'),
      listen: r.string('vnclisten'),
      passwd: r.string('vncpasswd'),
      display: r.long('vncdisplay'),
      findunused: r.defbool('vncunused'),
    },
    sdl: {
      enable: r.defbool('sdl'),
      opengl: r.defbool('opengl'),
      display: r.string('display'),
      xauthority: r.string('xauthority'),
    },
    serial: serialAt?.value.kind === 'atom' ? serialAt.value.text : undefined,
    serialList: serialAt?.value.kind === 'list' ? r.stringList('serial')?.items : undefined,
    boot: r.string('boot'),
  };
}

export function readKernel(r: ConfigReader, type: DomainType): string | undefined {
  let kernel = r.string('kernel');
  if (type === 'hvm') {
    if (kernel !== undefined && kernel.split('/').pop() === 'hvmloader') {
      r.warn(
        r.at('kernel'),
        'WARNING: you seem to be using "kernel" directive to override HVM guest firmware. Ignore that. Use "firmware_override" instead if you really want a non-default firmware',
      );
      kernel = undefined;
    }
    return kernel;
  }
  const fw = r.string('firmware');
  const fwAt = r.at('firmware');
  if (fw !== undefined && fwAt) {
    if (kernel !== undefined)
      r.error(
        fwAt,
        'ERROR: both kernel and firmware specified',
        'keep only one of kernel= and firmware=',
      );
    else if (!'pvgrub32'.startsWith(fw) && !'pvgrub64'.startsWith(fw))
      r.error(
        fwAt.value,
        'ERROR: only pvgrub{32|64} supported as firmware options',
        'for PV guests use firmware="pvgrub64" (or "pvgrub32"), or kernel=',
      );
    else kernel = `${XEN_FIRMWARE_DIR}/${fw}.bin`;
  }
  return kernel;
}
