// The device lists of a domain config as xl reads them (tools/xl/xl_parse.c
// parse_config_data: disk=, vif=, pci=) and the vCPU affinity lists (cpus=, cpus_soft=).

import type { HostTopology } from './cpumap.js';
import { parseCpumap } from './cpumap.js';
import type { DiskSpec } from './disk-spec.js';
import { formatDiskSpecError, parseDiskSpec } from './disk-spec.js';
import type { PciSpec } from './pci-spec.js';
import { parsePciSpec } from './pci-spec.js';
import { vdevToDevid } from './vdev.js';
import type { ConfigReader } from './values.js';
import type { NicDefaults, NicSpec } from './vif-spec.js';
import { parseVifSpec } from './vif-spec.js';

export function readDisks(r: ConfigReader): DiskSpec[] {
  const list = r.stringList('disk');
  if (!list) return [];
  const disks: DiskSpec[] = [];
  const seen = new Map<number, string>();
  for (const atom of list.atoms) {
    const res = parseDiskSpec(atom.text);
    if (!res.ok) {
      r.error(atom, formatDiskSpecError(res.error), res.error.hint);
      continue;
    }
    const num = vdevToDevid(res.disk.vdev);
    if (num === undefined) {
      // libxl refuses this at create time ("Invalid or unsupported virtual disk identifier").
      r.error(
        atom,
        `disk spec \`${atom.text}': invalid or unsupported virtual disk identifier \`${res.disk.vdev}'`,
        'name the guest disk xvdX[N] (xvda, xvdb2), hdX[N] (hda-hdd), sdX[N] (sda-sdp) or dNpM',
      );
      continue;
    }
    const clash = seen.get(num.devid);
    if (clash !== undefined) {
      r.error(
        atom,
        `disk spec \`${atom.text}': vdev \`${res.disk.vdev}' is the same device (devid ${num.devid}) as \`${clash}'`,
        'give each disk a different vdev',
      );
      continue;
    }
    seen.set(num.devid, res.disk.vdev);
    disks.push(res.disk);
  }
  return disks;
}

export function readNics(r: ConfigReader, defaults: NicDefaults): NicSpec[] {
  const list = r.stringList('vif');
  if (!list) return [];
  const nics: NicSpec[] = [];
  for (const [i, atom] of list.atoms.entries()) {
    const res = parseVifSpec(atom.text, i, defaults);
    if (!res.ok) {
      r.error(atom, `vif spec \`${atom.text}': ${res.error.message}`, res.error.hint);
      continue;
    }
    for (const w of res.warnings) r.warn(atom, w);
    nics.push(res.nic);
  }
  const byDevid = new Map<number, string>();
  for (const [i, nic] of nics.entries()) {
    const other = byDevid.get(nic.devid);
    const atom = list.atoms[i];
    if (other !== undefined && atom)
      r.error(
        atom,
        `vif spec \`${nic.spec}': devid ${nic.devid} is already used by \`${other}'`,
        'give each vif its own devid= (or leave devid out)',
      );
    byDevid.set(nic.devid, nic.spec);
  }
  return nics;
}

export function readPcidevs(r: ConfigReader): PciSpec[] {
  const list = r.stringList('pci');
  if (!list) return [];
  const defaults = {
    msitranslate: (r.long('pci_msitranslate') ?? 0) !== 0,
    powerMgmt: (r.long('pci_power_mgmt') ?? 0) !== 0,
    permissive: (r.long('pci_permissive') ?? 0) !== 0,
    seize: (r.long('pci_seize') ?? 0) !== 0,
  };
  const out: PciSpec[] = [];
  for (const atom of list.atoms) {
    const res = parsePciSpec(atom.text, defaults);
    if (res.ok) out.push(res.pci);
    else r.error(atom, res.message, res.hint);
  }
  return out;
}

/**
 * cpus= / cpus_soft=: a CPULIST string applies to every vCPU; a list gives vCPU i item i
 * (items past the last vCPU are ignored, vCPUs past the last item keep no entry).
 */
export function readAffinity(
  r: ConfigReader,
  key: 'cpus' | 'cpus_soft',
  maxVcpus: number,
  host: HostTopology,
): { maps: number[][]; fromList: boolean } | undefined {
  const s = r.at(key);
  if (!s) return undefined;
  const items: { text: string; at: { source: string; line: number; column: number } }[] = [];
  let fromList = false;
  if (s.value.kind === 'atom') {
    for (let i = 0; i < maxVcpus; i++) items.push({ text: s.value.text, at: s.value });
  } else {
    fromList = true;
    const list = r.stringList(key);
    if (!list) return undefined;
    for (const a of list.atoms.slice(0, maxVcpus)) items.push({ text: a.text, at: a });
  }
  const maps: number[][] = [];
  for (const it of items) {
    const res = parseCpumap(it.text, host);
    if (!res.ok) {
      r.error(it.at, `${key}: ${res.message}`, res.hint);
      return undefined;
    }
    maps.push([...res.cpus]);
  }
  return { maps, fromList };
}
