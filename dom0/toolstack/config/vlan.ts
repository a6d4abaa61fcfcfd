// The vif `vlan=` value (docs/man/xl-network-configuration.5.pod): terms separated by `/`,
// each `V[p|u]`, `V1-V2[u]` or `V+OFFSETxCOUNT[u]`, VLAN ids 1..4094, exactly one PVID.

export interface VlanConfig {
  /** The value as written. */
  readonly spec: string;
  /** The port VLAN id: untagged frames belong to it. */
  readonly pvid: number;
  /** Every VLAN on the port, ascending, the PVID included. */
  readonly vlans: readonly number[];
  /** VLANs sent untagged (the PVID and any `u` terms), ascending. */
  readonly untagged: readonly number[];
}

export type VlanResult =
  | { readonly ok: true; readonly vlan: VlanConfig }
  | { readonly ok: false; readonly message: string };

const VLAN_MIN = 1;
const VLAN_MAX = 4094;

/**
 * Parses `vlan=`. A lone single id (`vlan=10`) is the PVID; otherwise one term must carry `p`.
 * `V+OxC` is V and C more ids spaced O apart (the man page's prose; its example list shows one
 * more, we follow the prose).
 */
export function parseVlan(spec: string): VlanResult {
  const terms = spec.split('/');
  const all = new Set<number>();
  const untagged = new Set<number>();
  let pvid: number | undefined;
  for (const term of terms) {
    const m = /^([0-9]+)(?:(-)([0-9]+)|\+([0-9]+)x([0-9]+))?([pu]?)$/.exec(term);
    if (!m) return { ok: false, message: `bad term \`${term}'` };
    const first = Number(m[1]);
    const flag = m[6] ?? '';
    let ids: number[];
    if (m[2] === '-') {
      const last = Number(m[3]);
      if (last < first) return { ok: false, message: `range \`${term}' ends before it starts` };
      ids = Array.from({ length: last - first + 1 }, (_, i) => first + i);
    } else if (m[4] !== undefined) {
      const step = Number(m[4]);
      const count = Number(m[5]);
      if (step === 0) return { ok: false, message: `offset 0 in \`${term}'` };
      ids = Array.from({ length: count + 1 }, (_, i) => first + i * step);
    } else {
      ids = [first];
    }
    if (flag === 'p' && ids.length !== 1)
      return { ok: false, message: `only a single VLAN id can be the PVID (\`${term}')` };
    for (const id of ids) {
      if (id < VLAN_MIN || id > VLAN_MAX)
        return { ok: false, message: `VLAN id ${id} is outside ${VLAN_MIN}..${VLAN_MAX}` };
      all.add(id);
      if (flag !== '') untagged.add(id);
    }
    if (flag === 'p') {
      if (pvid !== undefined) return { ok: false, message: "more than one PVID (`p')" };
      pvid = first;
    }
  }
  if (pvid === undefined) {
    const only = terms.length === 1 && all.size === 1 ? [...all][0] : undefined;
    if (only === undefined) return { ok: false, message: "no PVID: mark one VLAN id with `p'" };
    pvid = only;
    untagged.add(only);
  }
  const asc = (s: Set<number>): number[] => [...s].sort((a, b) => a - b);
  return { ok: true, vlan: { spec, pvid, vlans: asc(all), untagged: asc(untagged) } };
}
