// `xl top` screen, after xentop (tools/xentop/xentop.c): summary lines and one row per domain.
// DEVIATION(xen): only the columns xensim measures (no NETS/VBD/SSID counters yet).

import type { DomainInfo, HostInfo } from '../toolstack/api.js';
import { fixedWidth, padLeft, zeroPad } from './printf.js';

/** A sample of every domain's CPU time, to compute CPU(%) between two screens. */
export interface TopSample {
  readonly atMs: number;
  readonly cpuNsByDomid: ReadonlyMap<number, number>;
}

export function takeSample(info: HostInfo, domains: readonly DomainInfo[]): TopSample {
  return { atMs: info.nowMs, cpuNsByDomid: new Map(domains.map((d) => [d.domid, d.cpuTimeNs])) };
}

/** xentop's state column: d s b c p r. */
function topState(d: DomainInfo): string {
  const crashed = d.shutdown && d.shutdownReason === 3;
  return (
    (d.dying ? 'd' : '-') +
    (d.shutdown && !crashed ? 's' : '-') +
    (d.blocked ? 'b' : '-') +
    (crashed ? 'c' : '-') +
    (d.paused ? 'p' : '-') +
    (d.running ? 'r' : '-')
  );
}

export const TOP_COLUMNS =
  `${padLeft('NAME', 10)} ${padLeft('STATE', 6)} ${padLeft('CPU(sec)', 10)} ${padLeft('CPU(%)', 6)} ` +
  `${padLeft('MEM(k)', 10)} ${padLeft('MEM(%)', 6)} ${padLeft('MAXMEM(k)', 10)} ${padLeft('MAXMEM(%)', 9)} ` +
  padLeft('VCPUS', 5);

/** `HH:MM:SS` of a wall-clock instant in the local time zone. */
export function localHms(ms: number): string {
  const t = new Date(ms);
  return `${zeroPad(t.getHours(), 2)}:${zeroPad(t.getMinutes(), 2)}:${zeroPad(t.getSeconds(), 2)}`;
}

/** One screen; `prev` (the previous screen's sample) gives CPU(%), else 0.0. */
export function formatTopScreen(
  info: HostInfo,
  domains: readonly DomainInfo[],
  prev: TopSample | undefined,
  nowHms: string,
): string {
  const count = (f: (d: DomainInfo) => boolean): number => domains.filter(f).length;
  const totalKb = Math.floor((info.totalPages * info.pageSize) / 1024);
  const freeKb = Math.floor((info.freePages * info.pageSize) / 1024);
  let out = `xentop - ${nowHms}   Xen ${info.xenMajor}.${info.xenMinor}${info.xenExtra}\n`;
  out +=
    `${domains.length} domains: ${count((d) => d.running)} running, ` +
    `${count((d) => d.blocked)} blocked, ${count((d) => d.paused)} paused, ` +
    `${count((d) => d.shutdown && d.shutdownReason === 3)} crashed, ` +
    `${count((d) => d.dying)} dying, ${count((d) => d.shutdown && d.shutdownReason !== 3)} shutdown \n`;
  out += `Mem: ${totalKb}k total, ${totalKb - freeKb}k used, ${freeKb}k free    CPUs: ${info.nrCpus} @ ${Math.floor(info.cpuKhz / 1000)}MHz\n`;
  out += TOP_COLUMNS + '\n';
  const elapsedNs = prev === undefined ? 0 : (info.nowMs - prev.atMs) * 1e6;
  for (const d of domains) {
    const before = prev?.cpuNsByDomid.get(d.domid);
    const cpuPct =
      before === undefined || elapsedNs <= 0 ? 0 : ((d.cpuTimeNs - before) / elapsedNs) * 100;
    const memPct = totalKb > 0 ? (d.currentMemKb / totalKb) * 100 : 0;
    const maxMemPct = totalKb > 0 ? (d.maxMemKb / totalKb) * 100 : 0;
    out +=
      `${padLeft(d.name, 10)} ${topState(d)} ${padLeft(Math.floor(d.cpuTimeNs / 1e9), 10)} ` +
      `${fixedWidth(cpuPct, 6, 1)} ${padLeft(d.currentMemKb, 10)} ${fixedWidth(memPct, 6, 1)} ` +
      `${padLeft(d.maxMemKb, 10)} ${fixedWidth(maxMemPct, 9, 1)} ${padLeft(d.vcpuOnline, 5)}\n`;
  }
  return out;
}
