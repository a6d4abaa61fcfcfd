// xl's command table and its lookup by unambiguous prefix (tools/xl/xl_cmdtable.c
// cmd_table, cmdtable_lookup: an exact name wins even when it prefixes another).

import * as domain from './commands-domain.js';
import * as host from './commands-host.js';
import * as io from './commands-io.js';
import * as migrate from './commands-migrate.js';
import * as net from './commands-net.js';
import type { CommandSpec } from './command-spec.js';
import * as vcpuMem from './commands-vcpu-mem.js';

/** In xl_cmdtable.c's order (which `xl help` lists). */
export const COMMANDS: readonly CommandSpec[] = [
  domain.create,
  domain.list,
  domain.destroy,
  domain.shutdown,
  domain.reboot,
  domain.pause,
  domain.unpause,
  io.console_,
  io.save,
  migrate.migrate,
  io.restore,
  vcpuMem.memMax,
  vcpuMem.memSet,
  vcpuMem.vcpuList,
  vcpuMem.vcpuPin,
  vcpuMem.vcpuSet,
  domain.vmList,
  host.info,
  host.schedCredit,
  host.schedCredit2,
  domain.domid,
  domain.domname,
  domain.rename,
  host.dmesg,
  host.top,
  net.networkAttach,
  net.networkList,
  net.networkDetach,
  io.blockAttach,
  io.blockList,
  io.blockDetach,
  host.uptime,
];

export type Lookup =
  | { readonly kind: 'found'; readonly spec: CommandSpec }
  | { readonly kind: 'ambiguous'; readonly candidates: readonly string[] }
  | { readonly kind: 'none' };

/** cmdtable_lookup: the exact name, else the only command the text is a prefix of. */
export function lookupCommand(text: string, table: readonly CommandSpec[] = COMMANDS): Lookup {
  const matches = table.filter((c) => c.name.startsWith(text));
  const exact = matches.find((c) => c.name === text);
  if (exact !== undefined) return { kind: 'found', spec: exact };
  const only = matches[0];
  if (matches.length === 1 && only !== undefined) return { kind: 'found', spec: only };
  if (matches.length > 1 && text !== '')
    return { kind: 'ambiguous', candidates: matches.map((c) => c.name) };
  return { kind: 'none' };
}

/** `xl help` with no command: every command and its description. */
export function fullHelp(table: readonly CommandSpec[] = COMMANDS): string {
  let s = 'Usage xl [-vfNtT] <subcommand> [args]\n\nxl full list of subcommands:\n\n';
  for (const c of table) {
    s += ` ${c.name.padEnd(19)} `;
    if (c.name.length > 19) s += `\n ${''.padEnd(19)} `;
    s += `${c.desc}\n`;
  }
  return s;
}
