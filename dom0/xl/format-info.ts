// `xl info` output (tools/xl/xl_info.c: output_nodeinfo, output_physinfo, output_xeninfo,
// maybe_printf): `%-23s: value` lines, filtered by an optional key prefix.

import type { HostInfo } from '../toolstack/api.js';
import { hex8, padRight, zeroPad } from './printf.js';

/** The lines of `xl info` in xl's order, each without its newline. */
export function infoLines(i: HostInfo): string[] {
  const kv = (k: string, v: string | number): string => `${padRight(k, 23)}: ${v}`;
  const pagesPerMiB = Math.floor((1 << 20) / i.pageSize);
  const mib = (pages: number): number => Math.floor(pages / pagesPerMiB);
  return [
    kv('host', i.host),
    kv('release', i.release),
    kv('version', i.version),
    kv('machine', i.machine),
    kv('nr_cpus', i.nrCpus),
    kv('max_cpu_id', i.maxCpuId),
    kv('nr_nodes', i.nrNodes),
    kv('cores_per_socket', i.coresPerSocket),
    kv('threads_per_core', i.threadsPerCore),
    kv('cpu_mhz', `${Math.floor(i.cpuKhz / 1000)}.${zeroPad(i.cpuKhz % 1000, 3)}`),
    kv('hw_caps', Array.from({ length: 8 }, (_, n) => hex8(i.hwCaps[n] ?? 0)).join(':')),
    // "virt_caps              :%s..." — each capability carries its own leading space.
    `${padRight('virt_caps', 23)}:${i.virtCaps.map((c) => ` ${c}`).join('')}`,
    kv('total_memory', mib(i.totalPages)),
    kv('free_memory', mib(i.freePages - i.outstandingPages)),
    kv('sharing_freed_memory', mib(i.sharingFreedPages)),
    kv('sharing_used_memory', mib(i.sharingUsedFrames)),
    kv('outstanding_claims', mib(i.outstandingPages)),
    kv('free_cpus', i.freeCpus),
    kv('xen_major', i.xenMajor),
    kv('xen_minor', i.xenMinor),
    kv('xen_extra', i.xenExtra),
    kv('xen_version', `${i.xenMajor}.${i.xenMinor}${i.xenExtra}`),
    kv('xen_caps', i.xenCaps),
    kv('xen_scheduler', i.scheduler),
    kv('xen_pagesize', i.pageSize),
    kv('platform_params', `virt_start=0x${i.virtStartHex}`),
    kv('xen_changeset', i.changeset),
    kv('xen_commandline', i.commandline),
    kv('cc_compiler', i.ccCompiler),
    kv('cc_compile_by', i.ccCompileBy),
    kv('cc_compile_domain', i.ccCompileDomain),
    kv('cc_compile_date', i.ccCompileDate),
    kv('build_id', i.buildId),
    kv('xend_config_format', 4),
  ];
}

/**
 * `xl info [name]`: without a name every line; with one, maybe_printf's filter: the value part
 * (after ": ") of every line that starts with `name`.
 */
export function formatInfo(i: HostInfo, name?: string): string {
  let out = '';
  for (const line of infoLines(i)) {
    if (name === undefined) {
      out += line + '\n';
      continue;
    }
    const colon = line.indexOf(':');
    if (line.startsWith(name) && colon >= 0 && line.charAt(colon + 1) === ' ') {
      out += line.slice(colon + 2) + '\n';
    }
  }
  return out;
}
