// `xl list`, `xl list -l`, `xl vm-list` output (tools/xl/xl_info.c: list_domains,
// list_domains_details, list_vm), as pure functions of DomainInfo records.

import type { DomainInfo } from '../toolstack/api.js';
import { fixedWidth, nsToSecondsAsFloat, padLeft, padRight } from './printf.js';

/** Reason letters indexed by libxl_shutdown_reason (xl_info.c shutdown_reason_letters). */
const SHUTDOWN_REASON_LETTERS = '-rscwS';

export const LIST_HEADER =
  'Name                                        ID   Mem VCPUs\tState\tTime(s)';
const LIST_VERBOSE_HEADER = '   UUID                            Reason-Code\tSecurity Label';

/** The six state characters: r b p s, the shutdown reason letter, d. */
export function stateLetters(d: DomainInfo): string {
  const reason = d.shutdown ? d.shutdownReason : 0;
  const reasonLetter =
    reason >= 0 && reason < SHUTDOWN_REASON_LETTERS.length
      ? SHUTDOWN_REASON_LETTERS.charAt(reason)
      : '?';
  return (
    (d.running ? 'r' : '-') +
    (d.blocked ? 'b' : '-') +
    (d.paused ? 'p' : '-') +
    (d.shutdown ? 's' : '-') +
    reasonLetter +
    (d.dying ? 'd' : '-')
  );
}

/** Which optional columns `xl list` prints: -v (UUID, reason, label), -Z (label), -c (pool). */
export interface ListColumns {
  readonly verbose?: boolean;
  readonly context?: boolean;
  readonly cpupool?: boolean;
}

/** One `xl list` row: `%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f` (plus optional columns). */
export function formatListRow(d: DomainInfo, cols: ListColumns = {}): string {
  const verbose = cols.verbose === true;
  const memMiB = Math.floor((d.currentMemKb + d.outstandingMemKb) / 1024);
  let row =
    `${padRight(d.name, 40)} ${padLeft(d.domid, 5)} ${padLeft(memMiB, 5)} ` +
    `${padLeft(d.vcpuOnline, 5)}     ${stateLetters(d)}  ` +
    fixedWidth(nsToSecondsAsFloat(d.cpuTimeNs), 8, 1);
  if (verbose) {
    row += ` ${d.uuid}`;
    row += d.shutdown ? ` ${padLeft(d.shutdownReason.toString(16), 8)}` : ` ${padLeft('-', 8)}`;
  }
  if (verbose || cols.context === true) row += ` ${padLeft(d.ssidLabel ?? '-', 16)}`;
  if (cols.cpupool === true) row += padLeft(d.cpupool, 16);
  return row;
}

/** `xl list [-v] [-Z] [-c]`: the header and one row per domain, in the order given. */
export function formatList(domains: readonly DomainInfo[], cols: ListColumns = {}): string {
  let out = LIST_HEADER;
  if (cols.verbose === true) out += LIST_VERBOSE_HEADER;
  if (cols.context === true && cols.verbose !== true) out += '   Security Label';
  if (cols.cpupool === true) out += '         Cpupool';
  out += '\n';
  for (const d of domains) out += formatListRow(d, cols) + '\n';
  return out;
}

/** `xl list -l`: a pretty-printed JSON array of {domid, config} (yajl beautify: 4 spaces). */
export function formatListLong(
  entries: readonly { domid: number; config: Record<string, unknown> }[],
): string {
  return JSON.stringify(entries, null, 4) + '\n';
}

/** `xl vm-list`: guests only (dom0 is not a VM). */
export function formatVmList(domains: readonly DomainInfo[]): string {
  let out = 'UUID                                  ID    name\n';
  for (const d of domains) {
    if (d.domid === 0) continue;
    out += `${d.uuid}  ${d.domid}    ${padRight(d.name, 30)}\n`;
  }
  return out;
}
