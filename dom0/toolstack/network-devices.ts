// xl network-attach / network-detach / network-list (libxl_nic.c libxl_device_nic_add/_remove,
// libxl_device_nic_list, libxl_device_nic_getinfo, libxl_devid_to_device_nic,
// libxl_mac_to_device_nic): the same vif path as at create, on a running domain.

import { ToolstackError, type NicInfo } from './api.js';
import { parseVlan } from './config/vlan.js';
import {
  effectiveNic,
  NIC_COLO_FIELDS,
  parseMac,
  parseVifRate,
  parseVifSpec,
  type NicDefaults,
  type NicSpec,
  type VifSpecResult,
} from './config/vif-spec.js';
import type { DomainRecord, VifRecord } from './domain-registry.js';
import type { LifecycleDeps } from './lifecycle.js';
import type { Op } from './task.js';
import {
  removeVifNodes,
  vifBackendPath,
  vifFrontendPath,
  waitVifAttached,
  waitVifDetached,
  writeVifNodes,
  type VifContext,
} from './vif.js';

type Outcome = { ok: true } | { ok: false; message: string };

export class NetworkDevices {
  private readonly deps: LifecycleDeps;

  constructor(deps: LifecycleDeps) {
    this.deps = deps;
  }

  private get ctx(): VifContext {
    const p = this.deps.platform;
    return { xs: this.deps.xs, clock: p.clock, network: p.network };
  }

  /** libxl_device_nic_add with devid -1: the next free devid (libxl__device_nextid). */
  *attachOp(rec: DomainRecord, spec: readonly string[]): Op<number> {
    const { xs, platform } = this.deps;
    const nextDevid = Math.max(-1, ...rec.vifs.keys()) + 1;
    const p = parseNicWords(spec, nextDevid);
    if (!p.ok) {
      const e = p.error;
      throw new ToolstackError(
        'INVAL',
        `${e.message}${e.near !== undefined && !e.message.includes(e.near) ? ` near \`${e.near}'` : ''}\n(${e.hint})`,
      );
    }
    // The spec's own devid= wins; otherwise parseVifSpec gave it nextDevid.
    const nic = p.nic;
    const devid = nic.devid;
    if (rec.vifs.has(devid) || xs.exists(vifBackendPath(rec.domid, devid)))
      throw new ToolstackError(
        'DEVICE_EXISTS',
        `device vif ${devid} already exists in domain ${rec.domid}`,
      );
    const eff = effectiveNic(nic, rec.domid, platform.random);
    for (const v of rec.vifs.values())
      if (v.mac === eff.mac)
        throw new ToolstackError(
          'DEVICE_EXISTS',
          `mac ${eff.mac} is already used by vif ${v.devid} of domain ${rec.domid}`,
        );
    const w = writeVifNodes(xs, rec.domid, nic, eff);
    if (!w.ok) {
      removeVifNodes(xs, rec.domid, devid);
      throw new ToolstackError('FAIL', `cannot write vif ${devid}: ${w.error}`);
    }
    const out = (yield waitVifAttached(this.ctx, rec.domid, w.value)) as Outcome;
    if (!out.ok) {
      // Nothing half-done stays behind: without its nodes, the devid is free for the next attach.
      platform.network?.vifOffline(rec.domid, devid);
      removeVifNodes(xs, rec.domid, devid);
      throw new ToolstackError('FAIL', `device vif ${devid}: ${out.message}`);
    }
    rec.vifs.set(devid, w.value);
    return devid;
  }

  /** `device` is a devid (atoi, as xl) or a MAC. */
  *detachOp(rec: DomainRecord, device: string): Op<void> {
    const v = findVif(rec, device);
    if (!v) throw new ToolstackError('NOTFOUND', `Unknown device ${device}.`);
    const out = (yield waitVifDetached(this.ctx, rec.domid, v, false)) as Outcome;
    if (!out.ok)
      throw new ToolstackError('FAIL', `unable to remove vif ${v.devid}: ${out.message}`);
    rec.vifs.delete(v.devid);
  }

  list(rec: DomainRecord): NicInfo[] {
    const xs = this.deps.xs;
    const out: NicInfo[] = [];
    for (const v of [...rec.vifs.values()].sort((a, b) => a.devid - b.devid)) {
      const fe = vifFrontendPath(rec.domid, v.devid);
      const num = (p: string): number => {
        const t = xs.read(p) ?? '';
        return /^-?[0-9]+$/.test(t) ? Number.parseInt(t, 10) : -1;
      };
      out.push({
        devid: v.devid,
        backendId: 0,
        frontendId: rec.domid,
        mac: v.mac,
        state: Math.max(0, num(`${fe}/state`)),
        evtch: num(`${fe}/event-channel`),
        rrefTx: num(`${fe}/tx-ring-ref`),
        rrefRx: num(`${fe}/rx-ring-ref`),
        backendPath: v.backendPath,
      });
    }
    return out;
  }
}

type MutableNic = { -readonly [K in keyof NicSpec]: NicSpec[K] } & {
  colo: Record<string, string>;
};

/** The nic fields each parse_nic_config key sets (what a later word with the same key replaces). */
const FIELDS_OF_KEY: Readonly<Record<string, readonly (keyof NicSpec)[]>> = {
  type: ['nictype'],
  mac: ['mac'],
  bridge: ['bridge'],
  netdev: ['gatewaydev'],
  gatewaydev: ['gatewaydev'],
  ip: ['ip'],
  script: ['script'],
  backend: ['backendDomname'],
  vifname: ['ifname'],
  model: ['model'],
  rate: ['rateBytesPerInterval', 'rateIntervalUsecs'],
  accel: [],
  devid: ['devid'],
  mtu: ['mtu'],
  vlan: ['vlan'],
  trusted: ['trusted'],
  untrusted: ['trusted'],
};

/** Keys whose value xl copies as it is (replace_string): a comma is just part of it. */
const STRING_FIELD: Readonly<Record<string, keyof NicSpec>> = {
  bridge: 'bridge',
  netdev: 'gatewaydev',
  gatewaydev: 'gatewaydev',
  ip: 'ip',
  script: 'script',
  backend: 'backendDomname',
  vifname: 'ifname',
  model: 'model',
};

const coloField = (key: string): string | undefined =>
  key === 'forwarddev'
    ? 'coloft_forwarddev'
    : key.startsWith('colo_') && NIC_COLO_FIELDS.includes(key)
      ? key
      : undefined;

/**
 * The NET_SPEC words of `xl network-attach` (tools/xl/xl_nic.c main_networkattach): each word is
 * one parse_nic_config token applied in turn to the same nic, so a later key replaces an earlier
 * one and a comma inside a word is part of its value (`bridge=br1,mac=…` names a bridge called
 * `br1,mac=…`; `mac=` reads its six groups and ignores the rest), unlike a `vif = [...]` entry,
 * whose commas separate tokens. `devid` is the nic's devid unless a word sets one. Never throws.
 */
export function parseNicWords(
  words: readonly string[],
  devid: number,
  defaults: NicDefaults = {},
): VifSpecResult {
  const base = parseVifSpec('', devid, defaults);
  if (!base.ok) return base;
  const nic: MutableNic = { ...base.nic, spec: words.join(' '), colo: { ...base.nic.colo } };
  const warnings: string[] = [];
  const fail = (word: string, message: string, hint: string): VifSpecResult => ({
    ok: false,
    error: { spec: word, near: word, message, hint },
  });
  for (const word of words) {
    const token = word.replace(/^ +/, '');
    const eq = token.indexOf('=');
    const comma = token.indexOf(',');
    const key = eq < 0 ? token : token.slice(0, eq);
    if (comma >= 0 && (eq < 0 || comma < eq)) {
      // No key=value at its start: parse_nic_config matches no key (nor trusted/untrusted).
      return fail(word, `unrecognized argument \`${token}'`, `vif keys are key=value`);
    }
    if (comma < 0) {
      // One token as it stands (an empty word sets nothing, as an empty vif entry).
      const p = parseVifSpec(token, devid, defaults);
      if (!p.ok) return { ok: false, error: { ...p.error, spec: word } };
      warnings.push(...p.warnings);
      for (const f of FIELDS_OF_KEY[key] ?? []) (nic as Record<string, unknown>)[f] = p.nic[f];
      const colo = coloField(key);
      if (colo !== undefined) nic.colo[colo] = p.nic.colo[colo] ?? '';
      continue;
    }
    const val = token.slice(eq + 1);
    const bad = checkCommaValue(nic, key, val, warnings);
    if (bad !== null) return fail(word, bad.message, bad.hint);
  }
  return { ok: true, nic, warnings };
}

/** A `key=value` word whose value holds a comma: set the field as xl would, or say why not. */
function checkCommaValue(
  nic: MutableNic,
  key: string,
  val: string,
  warnings: string[],
): { message: string; hint: string } | null {
  const field = STRING_FIELD[key];
  if (field !== undefined) {
    if (key === 'netdev')
      warnings.push('the netdev parameter is deprecated, please use gatewaydev instead');
    (nic as Record<string, unknown>)[field] = val;
    return null;
  }
  const colo = coloField(key);
  if (colo !== undefined) {
    nic.colo[colo] = val;
    return null;
  }
  const hint = 'give each key=value as its own argument: network-attach <Domain> mac=… bridge=…';
  switch (key) {
    case 'mac': {
      // strtoul per group stops at the comma; whatever follows the sixth group is not read.
      const mac = parseMac(val.slice(0, val.indexOf(',')));
      if (mac === undefined) return { message: "Invalid parameter `mac'", hint };
      nic.mac = mac;
      return null;
    }
    case 'type':
      return { message: "Invalid parameter `type'", hint };
    case 'devid':
    case 'mtu':
      return { message: `xl: failed to convert "${val}" to number`, hint };
    case 'rate': {
      const r = parseVifRate(val);
      if (!r.ok) return { message: `config parsing error in vif: ${r.message}`, hint };
      nic.rateBytesPerInterval = r.bytesPerInterval;
      nic.rateIntervalUsecs = r.intervalUsecs;
      return null;
    }
    case 'vlan': {
      const v = parseVlan(val);
      if (!v.ok) return { message: `invalid vlan \`${val}': ${v.message}`, hint };
      nic.vlan = v.vlan;
      return null;
    }
    default:
      return { message: `unrecognized argument \`${key}=${val}'`, hint };
  }
}

function findVif(rec: DomainRecord, device: string): VifRecord | undefined {
  if (device.includes(':')) {
    const mac = parseMac(device);
    return mac === undefined ? undefined : [...rec.vifs.values()].find((v) => v.mac === mac);
  }
  // atoi: leading digits, else 0.
  const m = /^\s*[+-]?[0-9]+/.exec(device);
  const devid = m ? Number.parseInt(m[0], 10) : 0;
  return rec.vifs.get(devid);
}
