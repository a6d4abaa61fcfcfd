// `xl uptime`, `xl block-list`, `xl domid`/`domname` output (tools/xl/xl_info.c
// uptime_to_string/print_uptime, tools/xl/xl_block.c main_blocklist).

import type { DiskInfo } from '../toolstack/api.js';
import { padLeft, padRight, zeroPad } from './printf.js';

/** uptime_to_string: `[D day(s), ]%2d:%02d:%02d`, or without seconds in short mode. */
export function uptimeToString(uptimeS: number, short: boolean): string {
  let rest = Math.max(0, Math.floor(uptimeS));
  const day = Math.floor(rest / 86400);
  rest -= day * 86400;
  const hour = Math.floor(rest / 3600);
  rest -= hour * 3600;
  const min = Math.floor(rest / 60);
  const sec = rest - min * 60;
  const dayPart = day > 1 ? `${day} days, ` : day === 1 ? `${day} day, ` : '';
  const hm = `${padLeft(hour, 2)}:${zeroPad(min, 2)}`;
  return dayPart + (short ? hm : `${hm}:${zeroPad(sec, 2)}`);
}

export interface UptimeEntry {
  readonly domid: number;
  readonly name: string;
  readonly uptimeS: number;
}

/**
 * `xl uptime [-s]`. `nowHms` is the local wall-clock time `%H:%M:%S` that short mode prints.
 */
export function formatUptime(
  entries: readonly UptimeEntry[],
  short: boolean,
  nowHms: string,
): string {
  let out = short ? '' : `${padRight('Name', 33)} ${padLeft('ID', 4)} Uptime\n`;
  for (const e of entries) {
    out += short
      ? ` ${nowHms} up ${uptimeToString(e.uptimeS, true)}, ${e.name} (${e.domid})\n`
      : `${padRight(e.name, 33)} ${padLeft(e.domid, 4)} ${uptimeToString(e.uptimeS, false)}\n`;
  }
  return out;
}

/** `%-5s %-3s %-6s %-5s %-6s %-8s %-30s` (the padding of the last column is kept). */
export const BLOCK_LIST_HEADER = `${padRight('Vdev', 5)} ${padRight('BE', 3)} ${padRight('handle', 6)} ${padRight('state', 5)} ${padRight('evt-ch', 6)} ${padRight('ring-ref', 8)} ${padRight('BE-path', 30)}`;

/** One row; the "handle" column is the frontend domid, as in xl. */
export function formatBlockRow(d: DiskInfo): string {
  return `${padRight(d.devid, 5)} ${padRight(d.backendId, 3)} ${padRight(d.frontendId, 6)} ${padRight(d.state, 5)} ${padRight(d.evtch, 6)} ${padRight(d.rref, 8)} ${padRight(d.backendPath, 30)}`;
}

export function formatBlockRows(disks: readonly DiskInfo[]): string {
  return disks.map((d) => formatBlockRow(d) + '\n').join('');
}
