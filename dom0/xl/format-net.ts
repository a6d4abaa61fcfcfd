// `xl network-list` output (tools/xl/xl_nic.c main_networklist) and the nic `xl -N
// network-attach` prints (libxl_device_nic_to_json).

import type { NicInfo } from '../toolstack/api.js';
import { padLeft, padRight } from './printf.js';

/** `%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s` (the padding of the last column is kept). */
export const NETWORK_LIST_HEADER = `${padRight('Idx', 3)} ${padRight('BE', 2)} ${padRight('Mac Addr.', 17)} ${padRight('handle', 6)} ${padRight('state', 5)} ${padRight('evt-ch', 6)} ${padLeft('tx-', 5)}/${padRight('rx-ring-ref', 5)} ${padRight('BE-path', 30)}`;

/** `%-3d %-2d ` LIBXL_MAC_FMT `%6d %5d %6d %5d/%-11d %-30s`: the MAC runs into the handle column. */
export function formatNicRow(n: NicInfo): string {
  return (
    `${padRight(n.devid, 3)} ${padRight(n.backendId, 2)} ${n.mac}` +
    `${padLeft(n.devid, 6)} ${padLeft(n.state, 5)} ${padLeft(n.evtch, 6)} ${padLeft(n.rrefTx, 5)}/${padRight(n.rrefRx, 11)} ${padRight(n.backendPath, 30)}`
  );
}

export function formatNicRows(nics: readonly NicInfo[]): string {
  return nics.map((n) => formatNicRow(n) + '\n').join('');
}
