// `xl vcpu-list` output and the CPU-map printer (tools/xl/xl_vcpu.c print_vcpuinfo,
// tools/xl/xl_utils.c print_bitmap).

import type { VcpuInfo } from '../toolstack/api.js';
import { fixedWidth, nsToSecondsAsFloat, padLeft, padRight } from './printf.js';

/**
 * print_bitmap over the first `nrBits` bits: ranges `0-3,5`; `all` when every bit is set;
 * `none` when none is.
 */
export function formatCpuMap(cpus: readonly number[], nrBits: number): string {
  const set = new Set(cpus);
  let out = '';
  let first = -1;
  let any = false;
  const flush = (last: number): void => {
    out += `${any ? ',' : ''}${first}${last > first ? `-${last}` : ''}`;
    any = true;
    first = -1;
  };
  for (let i = 0; i < nrBits; i++) {
    if (set.has(i)) {
      if (first < 0) first = i;
    } else if (first >= 0) {
      flush(i - 1);
    }
  }
  if (first === 0 && !any) return 'all';
  if (first >= 0) flush(nrBits - 1);
  return any ? out : 'none';
}

export const VCPU_LIST_HEADER =
  `${padRight('Name', 32)} ${padLeft('ID', 5)} ${padLeft('VCPU', 5)} ${padLeft('CPU', 5)} ` +
  `${padLeft('State', 5)} ${padLeft('Time(s)', 9)} Affinity (Hard / Soft)`;

/** One row: `%-32s %5u %5u` + `%5u %3c%c- ` (offline `%5c %3c%cp `) + `%9.1f  ` + maps. */
export function formatVcpuRow(v: VcpuInfo, nrCpus: number): string {
  let row = `${padRight(v.name, 32)} ${padLeft(v.domid, 5)} ${padLeft(v.vcpuId, 5)}`;
  row += v.online
    ? `${padLeft(v.cpu, 5)} ${padLeft(v.running ? 'r' : '-', 3)}${v.blocked ? 'b' : '-'}- `
    : `${padLeft('-', 5)} ${padLeft('-', 3)}-p `;
  row += `${fixedWidth(nsToSecondsAsFloat(v.vcpuTimeNs), 9, 1)}  `;
  row += `${formatCpuMap(v.hardAffinity, nrCpus)} / ${formatCpuMap(v.softAffinity, nrCpus)}`;
  return row;
}

export function formatVcpuList(vcpus: readonly VcpuInfo[], nrCpus: number): string {
  let out = VCPU_LIST_HEADER + '\n';
  for (const v of vcpus) out += formatVcpuRow(v, nrCpus) + '\n';
  return out;
}
