// A composed host for network scenarios: guests from xl.cfg text with vif specs, run until their
// console shows a line.

import { SimHost } from '../../dom0/host/compose.js';

export const SEC = 1_000_000_000;

export function netHost(): SimHost {
  return new SimHost({ nrPcpus: 2, memoryBytes: 1024 << 20, dom0MemBytes: 256 << 20 });
}

/** xl.cfg text of a 64 MiB PV guest with the given vif specs and kernel `extra=`. */
export function guestCfg(name: string, vifs: readonly string[], extra?: string): string {
  return `
name = "${name}"
kernel = "/boot/vmlinuz-xensim-pv"
memory = 64
vif = [ ${vifs.map((v) => `'${v}'`).join(', ')} ]
${extra === undefined ? '' : `extra = "${extra}"`}
`;
}

/** `xl create` of config text through the host's toolstack, run until built; the new domid. */
export async function createGuest(
  h: SimHost,
  configText: string,
  opts: { paused?: boolean } = {},
): Promise<number> {
  const r = await h.run(
    h.toolstack.create({
      configText,
      configSource: 'guest.cfg',
      overrides: [],
      paused: opts.paused ?? false,
      dryRun: false,
      cwd: '/',
    }),
    120 * SEC,
  );
  if (r.domid === undefined) throw new Error(`domain ${r.name} was not created`);
  return r.domid;
}

/** Runs until domain `domid`'s console contains `text` (or `limitNs` passes); the console so far. */
export function runUntilConsole(
  h: SimHost,
  domid: number,
  text: string,
  limitNs = 60 * SEC,
): string {
  let out = '';
  h.runUntil(() => (out = h.consoleOutput(domid)).includes(text), limitNs);
  return out;
}
