// CPULIST strings of `cpus=` / `cpus_soft=` as xl parses them (tools/xl/xl_parse.c
// parse_cpurange / update_cpumap_range; docs/man/xl.cfg.5.pod): "all", "0-3,5,^1",
// "nodes:0-1", "node:1,^6", applied left to right onto a libxl cpu bitmap.

/** The host facts a CPULIST needs: CPU count and the CPUs of each NUMA node. */
export interface HostTopology {
  readonly nrCpus: number;
  /** nodeCpus[n] = CPUs of node n. */
  readonly nodeCpus: readonly (readonly number[])[];
}

export function singleNodeHost(nrCpus: number): HostTopology {
  return { nrCpus, nodeCpus: [Array.from({ length: nrCpus }, (_, i) => i)] };
}

export type CpumapResult =
  | { readonly ok: true; readonly cpus: readonly number[] }
  | { readonly ok: false; readonly message: string; readonly hint: string };

/**
 * Resolves a CPULIST to the set bits of a libxl cpu bitmap. Like libxl, the bitmap holds
 * whole bytes, so "all" sets every bit up to the next multiple of 8 above the last CPU.
 */
export function parseCpumap(list: string, host: HostTopology): CpumapResult {
  const sizeBits = Math.ceil(host.nrCpus / 8) * 8;
  const set = new Set<number>();
  const hostCpus = host.nrCpus > 0 ? `0-${host.nrCpus - 1}` : 'none';
  // strtok(",") skips empty items.
  for (const raw of list.split(',')) {
    if (raw === '') continue;
    let item = raw;
    const negate = item.startsWith('^');
    if (negate) item = item.slice(1);
    let nodes = false;
    for (const prefix of ['node:', 'nodes:']) {
      if (item.startsWith(prefix)) {
        item = item.slice(prefix.length);
        nodes = true;
        break;
      }
    }
    if (item === 'all') {
      if (negate)
        return {
          ok: false,
          message: `Can't combine "^" and "all" in \`${list}'`,
          hint: 'write "all,^N" to exclude CPU N',
        };
      for (let i = 0; i < sizeBits; i++) set.add(i);
      continue;
    }
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(item);
    const a = m ? Number(m[1]) : NaN;
    const b = m?.[2] !== undefined ? Number(m[2]) : a;
    if (!m || b < a)
      return {
        ok: false,
        message: `Invalid pcpu range: ${raw} (in \`${list}')`,
        hint: 'write CPUs as N or N-M (N <= M), optionally ^ to exclude or nodes: for NUMA nodes, joined by commas, e.g. "0-3,^1"',
      };
    for (let id = a; id <= b; id++) {
      const cpus = nodes ? host.nodeCpus[id] : [id];
      if (cpus === undefined)
        return {
          ok: false,
          message: `NUMA node ${id} does not exist (in \`${list}'; this host has nodes 0-${host.nodeCpus.length - 1})`,
          hint: 'use node numbers shown by `xl info -n`',
        };
      for (const cpu of cpus) {
        if (negate) {
          set.delete(cpu);
        } else if (cpu >= host.nrCpus) {
          // DEVIATION(xen): libxl silently ignores bits past the bitmap; we refuse the CPU.
          return {
            ok: false,
            message: `CPU ${cpu} does not exist (in \`${list}'; this host has CPUs ${hostCpus})`,
            hint: 'use CPU numbers shown by `xl info` (nr_cpus)',
          };
        } else {
          set.add(cpu);
        }
      }
    }
  }
  return { ok: true, cpus: [...set].sort((x, y) => x - y) };
}
