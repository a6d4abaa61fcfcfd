// PCI_SPEC_STRING of `pci=` (docs/man/xl-pci-configuration.5.pod, libxlu_pci.c):
// `[DDDD:]BB:DD.F[@VSLOT][,KEY=VALUE...]`. Parsed so configs that pass a device through are
// read faithfully; xensim does not simulate PCI passthrough.

export interface PciSpec {
  readonly spec: string;
  readonly domain: number;
  readonly bus: number;
  readonly dev: number;
  readonly func: number;
  readonly vdevfn: number;
  /** LIBXL_PCI_FUNC_ALL when the function is `*`, else 0. */
  readonly vfuncMask: number;
  readonly msitranslate: boolean;
  readonly powerMgmt: boolean;
  readonly permissive: boolean;
  readonly seize: boolean;
  readonly rdmPolicy: 'strict' | 'relaxed' | undefined;
  readonly name: string | undefined;
}

export interface PciGlobalDefaults {
  readonly msitranslate: boolean;
  readonly powerMgmt: boolean;
  readonly permissive: boolean;
  readonly seize: boolean;
}

export type PciSpecResult =
  | { readonly ok: true; readonly pci: PciSpec }
  | { readonly ok: false; readonly message: string; readonly hint: string };

const PCI_FUNC_ALL = 0xffffffff;

/** Parses one PCI_SPEC_STRING; `defaults` are the pci_* top-level keys. Never throws. */
export function parsePciSpec(spec: string, defaults: PciGlobalDefaults): PciSpecResult {
  const fields = spec.split(',').map((f) => f.trim());
  const bdf = fields[0] ?? '';
  const m =
    /^(?:(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):)?([0-9a-fA-F]{1,2})\.([0-7*])(?:@([0-9a-fA-F]{1,2}))?$/.exec(
      bdf,
    );
  if (!m)
    return {
      ok: false,
      message: `unable to parse PCI_SPEC_STRING \`${spec}' for passthrough`,
      hint: 'write [DDDD:]BB:DD.F, e.g. "0000:03:00.0" (hex), then optional ,key=value',
    };
  const hex = (s: string | undefined): number => (s === undefined ? 0 : Number.parseInt(s, 16));
  const all = m[4] === '*';
  const func = all ? 0 : Number(m[4]);
  const pci = {
    spec,
    domain: hex(m[1]),
    bus: hex(m[2]),
    dev: hex(m[3]),
    func,
    vdevfn: m[5] === undefined ? 0 : (hex(m[5]) << 3) | func,
    vfuncMask: all ? PCI_FUNC_ALL : 0,
    msitranslate: defaults.msitranslate,
    powerMgmt: defaults.powerMgmt,
    permissive: defaults.permissive,
    seize: defaults.seize,
    rdmPolicy: undefined as PciSpec['rdmPolicy'],
    name: undefined as string | undefined,
  };
  for (const f of fields.slice(1)) {
    const [key = '', val = ''] = f.split('=', 2);
    if (key === 'rdm_policy') {
      if (val !== 'strict' && val !== 'relaxed')
        return {
          ok: false,
          message: `invalid rdm_policy \`${val}' in \`${spec}'`,
          hint: 'rdm_policy is strict or relaxed',
        };
      pci.rdmPolicy = val;
    } else if (key === 'name') {
      pci.name = val;
    } else if (['msitranslate', 'power_mgmt', 'permissive', 'seize'].includes(key)) {
      if (val !== '0' && val !== '1')
        return {
          ok: false,
          message: `invalid ${key} \`${val}' in \`${spec}'`,
          hint: `${key} is 0 or 1`,
        };
      const on = val === '1';
      if (key === 'msitranslate') pci.msitranslate = on;
      else if (key === 'power_mgmt') pci.powerMgmt = on;
      else if (key === 'permissive') pci.permissive = on;
      else pci.seize = on;
    } else {
      return {
        ok: false,
        message: `unknown option \`${f}' in PCI_SPEC_STRING \`${spec}'`,
        hint: 'options are msitranslate, power_mgmt, permissive, seize, rdm_policy, name',
      };
    }
  }
  return { ok: true, pci };
}
