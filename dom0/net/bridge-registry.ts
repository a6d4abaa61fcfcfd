// The bridges of one host (what `brctl addbr/delbr/show` manages in a real dom0, and what xl's
// vif-bridge hotplug script attaches vifs to): created with the host (default xenbr0), added and
// deleted by command. Bridges share nothing, so frames never cross from one to another.

import { Bridge, DEFAULT_AGEING_NS, type BridgeClock } from './bridge.js';
import type { BridgePort } from './bridge-port.js';
import { PortCapture, type CaptureOptions } from './pcap.js';

export const DEFAULT_BRIDGE = 'xenbr0';
/** IFNAMSIZ - 1: Linux interface names are at most 15 characters. */
const IFNAME_MAX = 15;

export interface BridgeInfo {
  readonly name: string;
  readonly ports: readonly string[];
  readonly fdbEntries: number;
  readonly ageingNs: number;
}

export type RegistryResult = { ok: true; bridge: Bridge } | { ok: false; error: string };

export class BridgeRegistry {
  private readonly clock: BridgeClock;
  private readonly bridges = new Map<string, Bridge>();

  /** A host's registry, with `initial` bridges (default: xenbr0). */
  constructor(clock: BridgeClock, initial: readonly string[] = [DEFAULT_BRIDGE]) {
    this.clock = clock;
    for (const name of initial) this.add(name);
  }

  get(name: string): Bridge | undefined {
    return this.bridges.get(name);
  }

  /** brctl addbr. */
  add(name: string, ageingNs = DEFAULT_AGEING_NS): RegistryResult {
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.length > IFNAME_MAX) {
      return { ok: false, error: `invalid bridge name \`${name}'` };
    }
    if (this.bridges.has(name)) return { ok: false, error: `device ${name} already exists` };
    const bridge = new Bridge(name, this.clock, ageingNs);
    this.bridges.set(name, bridge);
    return { ok: true, bridge };
  }

  /** brctl delbr: refused while ports are attached, unless `force` (which detaches them). */
  del(name: string, force = false): RegistryResult {
    const bridge = this.bridges.get(name);
    if (!bridge) return { ok: false, error: `bridge ${name} doesn't exist` };
    if (bridge.ports.length > 0 && !force) {
      const names = bridge.ports.map((p) => p.name).join(', ');
      return { ok: false, error: `bridge ${name} is still in use by ${names}` };
    }
    for (const p of [...bridge.ports]) bridge.removePort(p.name);
    this.bridges.delete(name);
    return { ok: true, bridge };
  }

  /** The port named `name` (a vif like `vif3.0`, a trunk, an uplink) on whichever bridge has it. */
  findPort(name: string): { bridge: Bridge; port: BridgePort } | undefined {
    for (const bridge of this.bridges.values()) {
      const port = bridge.port(name);
      if (port) return { bridge, port };
    }
    return undefined;
  }

  /** Starts a pcap capture of port `name` into `path` (stop it with `capture.stop()`). */
  capture(
    name: string,
    path: string,
    opts: CaptureOptions = {},
  ): { ok: true; capture: PortCapture } | { ok: false; error: string } {
    const found = this.findPort(name);
    if (!found) return { ok: false, error: `no bridge port named ${name}` };
    return PortCapture.start(found.port, path, opts);
  }

  list(): BridgeInfo[] {
    return [...this.bridges.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((b) => ({
        name: b.name,
        ports: b.ports.map((p) => p.name),
        fdbEntries: b.fdbRows().length,
        ageingNs: b.ageingNs,
      }));
  }
}

export interface CommandOutput {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

const USAGE =
  'Usage: xensim bridge add <name> | del [-f] <name> | list [--json] | macs <name> | ports <name>';

/** `xensim bridge add|del|list|macs|ports …` (argv after `bridge`). */
export function bridgeCommand(reg: BridgeRegistry, argv: readonly string[]): CommandOutput {
  const [verb, ...rest] = argv;
  const fail = (msg: string, code = 1): CommandOutput => ({
    exitCode: code,
    stdout: '',
    stderr: `${msg}\n`,
  });
  const okOut = (stdout: string): CommandOutput => ({ exitCode: 0, stdout, stderr: '' });
  switch (verb) {
    case 'add': {
      if (rest.length !== 1) return fail(USAGE, 2);
      const r = reg.add(rest[0] as string);
      return r.ok ? okOut('') : fail(`bridge add: ${r.error}`);
    }
    case 'del': {
      const force = rest.includes('-f') || rest.includes('--force');
      const names = rest.filter((a) => a !== '-f' && a !== '--force');
      if (names.length !== 1) return fail(USAGE, 2);
      const r = reg.del(names[0] as string, force);
      return r.ok ? okOut('') : fail(`bridge del: ${r.error}`);
    }
    case 'list': {
      const infos = reg.list();
      if (rest.includes('--json')) return okOut(`${JSON.stringify(infos, null, 2)}\n`);
      const lines = ['bridge name\tinterfaces'];
      for (const b of infos) {
        const [first, ...more] = b.ports;
        lines.push(`${b.name}\t\t${first ?? ''}`);
        for (const p of more) lines.push(`\t\t${p}`);
      }
      return okOut(`${lines.join('\n')}\n`);
    }
    case 'macs': {
      const b = rest[0] === undefined ? undefined : reg.get(rest[0]);
      if (!b) return fail(`bridge macs: no such bridge ${rest[0] ?? ''}`.trimEnd());
      const lines = ['port\tvlan\tmac addr\t\tageing timer'];
      for (const r of b.fdbRows()) {
        lines.push(`${r.port}\t${r.vid}\t${r.mac}\t${(r.ageNs / 1e9).toFixed(2)}`);
      }
      return okOut(`${lines.join('\n')}\n`);
    }
    case 'ports': {
      const b = rest[0] === undefined ? undefined : reg.get(rest[0]);
      if (!b) return fail(`bridge ports: no such bridge ${rest[0] ?? ''}`.trimEnd());
      const lines = ['port\tkind\tpvid\tvlans\trx_frames\ttx_frames\trx_dropped\ttx_dropped'];
      for (const p of b.ports) {
        const c = p.counters;
        const vl = p.kind === 'vif' ? p.vlanList().join(',') : `${p.vlanList().length} vlans`;
        lines.push(
          `${p.name}\t${p.kind}\t${p.pvid || '-'}\t${vl}\t${c.rxFrames}\t${c.txFrames}\t${c.rxDropped}\t${c.txDropped}`,
        );
      }
      return okOut(`${lines.join('\n')}\n`);
    }
    case undefined:
    default:
      return fail(USAGE, 2);
  }
}
