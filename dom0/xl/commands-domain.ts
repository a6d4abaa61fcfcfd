// xl's domain lifecycle commands: create, list, destroy, shutdown, reboot, pause, unpause,
// rename, domid, domname, vm-list (tools/xl/xl_vmcontrol.c, xl_info.c, xl_misc.c).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ToolstackError } from '../toolstack/api.js';
import type { DeathEvent, DomainInfo, ShutdownKind } from '../toolstack/api.js';
import type { CommandSpec, ParsedArgs } from './command-spec.js';
import { runConsole } from './console.js';
import { reportToolstackError, XlExit } from './context.js';
import type { XlContext } from './context.js';
import { formatList, formatListLong, formatVmList } from './format-list.js';
import { strerror } from './strerror.js';

const flag = (a: ParsedArgs, k: string): boolean =>
  a.opts[k] === true || (typeof a.opts[k] === 'number' && a.opts[k] > 0);
const byDomid = (a: DomainInfo, b: DomainInfo): number => a.domid - b.domid;

/** Reads a config file as xl does (`/dev/null` is an empty config). */
export function readConfigFile(ctx: XlContext, file: string): string {
  if (file === '/dev/null') return '';
  try {
    return fs.readFileSync(path.resolve(ctx.cwd, file), 'utf8');
  } catch (e) {
    ctx.err(`Failed to read config file: ${file}: ${strerror(e)}\n`);
    throw new XlExit(3); // create_domain returns ERROR_FAIL; main_create returns -rc.
  }
}

export const create: CommandSpec = {
  name: 'create',
  desc: 'Create a domain from config file <filename>',
  usage: '<ConfigFile> [options] [vars]',
  optionHelp:
    '-h                      Print this help.\n' +
    '-p                      Leave the domain paused after it is created.\n' +
    '-c                      Connect to the console after the domain is created.\n' +
    '-f FILE, --defconfig=FILE\n                     Use the given configuration file.\n' +
    '-q, --quiet             Quiet.\n' +
    '-n, --dryrun            Dry run - prints the resulting configuration\n' +
    '                         (deprecated in favour of global -N option).',
  modifies: true,
  canDryRun: true,
  minArgs: 0,
  options: {
    p: { type: 'boolean' },
    c: { type: 'boolean' },
    f: { type: 'string', long: ['defconfig'] },
    q: { type: 'boolean', long: ['quiet'] },
    n: { type: 'boolean', long: ['dryrun'] },
    d: { type: 'boolean' },
    F: { type: 'boolean' },
    e: { type: 'boolean' },
  },
  async run(ctx, a) {
    let filename = typeof a.opts.f === 'string' ? a.opts.f : undefined;
    const overrides: string[] = [];
    for (const p of a.positionals) {
      if (p.includes('=')) overrides.push(p);
      else if (filename === undefined) filename = p;
      else {
        ctx.help('create');
        return 2;
      }
    }
    if (filename === undefined) {
      ctx.err('Config file not specified and none in save file\n');
      return 6; // ERROR_INVAL
    }
    const configText = readConfigFile(ctx, filename);
    if (!flag(a, 'q')) ctx.err(`Parsing config from ${filename}\n`);
    const dryRun = flag(a, 'n') || ctx.flags.dryRun;
    const api = await ctx.api();
    try {
      const r = await api.create({
        configText,
        configSource: filename,
        overrides,
        paused: flag(a, 'p'),
        dryRun,
        cwd: ctx.cwd,
      });
      for (const w of r.warnings) ctx.err(w.endsWith('\n') ? w : `${w}\n`);
      if (dryRun || flag(a, 'd')) {
        if (dryRun) ctx.out(r.configJson);
        else ctx.err(r.configJson);
      }
      if (!dryRun && flag(a, 'c') && r.domid !== undefined) {
        return await runConsole(ctx, api, r.domid);
      }
      return 0;
    } catch (e) {
      const err = reportToolstackError(ctx, e);
      return Math.min(255, -err.rc);
    }
  },
};

export const list: CommandSpec = {
  name: 'list',
  desc: 'List information about all/some domains',
  usage: '[options] [Domain]\n',
  optionHelp:
    '-l, --long              Output all VM details\n' +
    '-v, --verbose           Prints out UUIDs and security context\n' +
    '-Z, --context           Prints out security context\n' +
    '-c, --cpupool           Prints the cpupool the domain is in',
  modifies: false,
  canDryRun: false,
  minArgs: 0,
  options: {
    l: { type: 'boolean', long: ['long'] },
    v: { type: 'boolean', long: ['verbose'] },
    Z: { type: 'boolean', long: ['context'] },
    c: { type: 'boolean', long: ['cpupool'] },
  },
  async run(ctx, a) {
    const api = await ctx.api();
    let domains: DomainInfo[];
    if (a.positionals.length === 0) {
      domains = [...(await api.listDomains())].sort(byDomid);
    } else if (a.positionals.length === 1) {
      const q = a.positionals[0] ?? '';
      const domid = await ctx.findDomain(q);
      try {
        domains = [await api.domainInfo(domid)];
      } catch (e) {
        if (e instanceof ToolstackError && e.code === 'DOMAIN_NOTFOUND') {
          ctx.err(`Error: Domain '${q}' does not exist.\n`);
          return 1;
        }
        const err = reportToolstackError(ctx, e);
        ctx.err(`libxl_domain_info failed (code ${err.rc}).\n`);
        return 1;
      }
    } else {
      ctx.help('list');
      return 1;
    }
    if (flag(a, 'l')) {
      const entries: { domid: number; config: Record<string, unknown> }[] = [];
      for (const d of domains) {
        try {
          entries.push({ domid: d.domid, config: await api.domainConfig(d.domid) });
        } catch (e) {
          // libxl_retrieve_domain_configuration failed: xl skips the domain.
          reportToolstackError(ctx, e);
        }
      }
      ctx.out(formatListLong(entries));
      return 0;
    }
    ctx.out(
      formatList(domains, { verbose: flag(a, 'v'), context: flag(a, 'Z'), cpupool: flag(a, 'c') }),
    );
    return 0;
  },
};

export const destroy: CommandSpec = {
  name: 'destroy',
  desc: 'Terminate a domain immediately',
  usage: '[options] <Domain>\n',
  optionHelp:
    '-f                      Permit destroying domain 0, which will only succeed\n' +
    '                        when run from disaggregated toolstack domain with a\n' +
    '                        hardware domain distinct from domain 0.',
  modifies: false,
  canDryRun: false,
  minArgs: 1,
  options: { f: { type: 'boolean' } },
  async run(ctx, a) {
    const domid = await ctx.findDomain(a.positionals[0] ?? '');
    if (domid === 0 && !flag(a, 'f')) {
      ctx.err(
        'Not destroying domain 0; use -f to force.\n' +
          'This can only be done when using a disaggregated hardware domain and toolstack.\n\n',
      );
      return 1;
    }
    try {
      await (await ctx.api()).destroy(domid);
      return 0;
    } catch (e) {
      const err = reportToolstackError(ctx, e);
      ctx.err(`destroy failed (rc=${err.rc})\n`);
      return 1;
    }
  },
};

function reportDeath(ctx: XlContext, ev: DeathEvent | undefined): void {
  if (ev === undefined) return;
  if (ev.event === 'destroyed') ctx.err(`Domain ${ev.domid} has been destroyed\n`);
  else ctx.err(`Domain ${ev.domid} has been shut down, reason code ${ev.shutdownReason ?? -1}\n`);
}

function shutdownOrReboot(kind: ShutdownKind): CommandSpec {
  const reboot = kind === 'reboot';
  const what = reboot ? 'reboot' : 'shutdown';
  return {
    name: what,
    desc: reboot ? 'Issue a reboot signal to a domain' : 'Issue a shutdown signal to a domain',
    usage: '[options] <-a|Domain>',
    optionHelp:
      '-a, --all               Shutdown all guest domains.\n' +
      '-h                      Print this help.\n' +
      `-F                      Fallback to ACPI ${reboot ? 'reset' : 'power'} event for HVM guests with\n` +
      '                        no PV drivers.\n' +
      `-w, --wait              Wait for guest(s) to ${what}.\n`,
    modifies: false,
    canDryRun: false,
    minArgs: 0,
    options: {
      a: { type: 'boolean', long: ['all'] },
      w: { type: 'boolean', long: ['wait'], count: true },
      F: { type: 'boolean' },
    },
    async run(ctx, a) {
      const all = flag(a, 'a');
      const wait = flag(a, 'w');
      const target = a.positionals[0];
      if (target === undefined && !all) {
        ctx.err('You must specify -a or a domain id.\n\n');
        return 1;
      }
      const api = await ctx.api();
      const domids = all
        ? [...(await api.listDomains())]
            .sort(byDomid)
            .map((d) => d.domid)
            .filter((id) => id !== 0)
        : [await ctx.findDomain(target ?? '')];
      const waits: Promise<DeathEvent | undefined>[] = [];
      for (const domid of domids) {
        ctx.err(reboot ? `Rebooting domain ${domid}\n` : `Shutting down domain ${domid}\n`);
        const p = api.shutdown(domid, kind, wait);
        if (!wait) {
          try {
            await p;
          } catch (e) {
            failShutdown(ctx, e, reboot, flag(a, 'F'));
          }
        } else {
          waits.push(p);
        }
      }
      if (wait) {
        ctx.err(`Waiting for ${waits.length} domains\n`);
        for (const p of waits) {
          try {
            reportDeath(ctx, await p);
          } catch (e) {
            failShutdown(ctx, e, reboot, flag(a, 'F'));
          }
        }
      }
      return 0;
    },
  };
}

function failShutdown(ctx: XlContext, e: unknown, reboot: boolean, fallback: boolean): never {
  const err = reportToolstackError(ctx, e);
  if (err.code === 'NOPARAVIRT' && !fallback) {
    const what = reboot ? 'reboot' : 'shutdown';
    ctx.err(`PV control interface not available: external graceful ${what} not possible.\n`);
    ctx.err(`Use "-F" to fallback to ACPI ${reboot ? 'reset' : 'power'} event.\n`);
  }
  ctx.err(`${reboot ? 'reboot' : 'shutdown'} failed (rc=${err.rc})\n`);
  throw new XlExit(1);
}

export const shutdown = shutdownOrReboot('poweroff');
export const reboot = shutdownOrReboot('reboot');

function pauseCommand(name: 'pause' | 'unpause'): CommandSpec {
  return {
    name,
    desc: name === 'pause' ? 'Pause execution of a domain' : 'Unpause a paused domain',
    usage: '<Domain>',
    modifies: false,
    canDryRun: false,
    minArgs: 1,
    options: {},
    async run(ctx, a) {
      const domid = await ctx.findDomain(a.positionals[0] ?? '');
      const api = await ctx.api();
      try {
        await (name === 'pause' ? api.pause(domid) : api.unpause(domid));
      } catch (e) {
        // xl ignores libxl_domain_pause's result: libxl's message, and success.
        reportToolstackError(ctx, e);
      }
      return 0;
    },
  };
}

export const pause = pauseCommand('pause');
export const unpause = pauseCommand('unpause');

export const rename: CommandSpec = {
  name: 'rename',
  desc: 'Rename a domain',
  usage: '<Domain> <NewDomainName>',
  modifies: false,
  canDryRun: false,
  minArgs: 2,
  options: {},
  async run(ctx, a) {
    const dom = a.positionals[0] ?? '';
    const domid = await ctx.findDomain(dom);
    try {
      await (await ctx.api()).rename(domid, a.positionals[1] ?? '');
      return 0;
    } catch (e) {
      reportToolstackError(ctx, e);
      ctx.err(`Can't rename domain '${dom}'.\n`);
      return 1;
    }
  },
};

export const domid: CommandSpec = {
  name: 'domid',
  desc: 'Convert a domain name to domain id',
  usage: '<DomainName>',
  modifies: false,
  canDryRun: false,
  minArgs: 1,
  options: {},
  async run(ctx, a) {
    const name = a.positionals[0] ?? '';
    const found = (await (await ctx.api()).listDomains()).find((d) => d.name === name);
    if (found === undefined) {
      ctx.err(`Can't get domid of domain name '${name}', maybe this domain does not exist.\n`);
      return 1;
    }
    ctx.out(`${found.domid}\n`);
    return 0;
  },
};

/** strtol(s, &end, 10) narrowed to uint32; undefined when there are no digits at all. */
function strtolUint32(s: string): number | undefined {
  const m = /^\s*([+-]?\d+)/.exec(s);
  if (!m) return undefined;
  return Number(BigInt.asUintN(32, BigInt(m[1] ?? '0')));
}

export const domname: CommandSpec = {
  name: 'domname',
  desc: 'Convert a domain id to domain name',
  usage: '<DomainId>',
  modifies: false,
  canDryRun: false,
  minArgs: 1,
  options: {},
  async run(ctx, a) {
    const id = strtolUint32(a.positionals[0] ?? '');
    if (id === undefined) {
      ctx.err('Invalid domain id.\n\n');
      return 1;
    }
    const found = (await (await ctx.api()).listDomains()).find((d) => d.domid === id);
    if (found === undefined) {
      ctx.err(`Can't get domain name of domain id '${id}', maybe this domain does not exist.\n`);
      return 1;
    }
    ctx.out(`${found.name}\n`);
    return 0;
  },
};

export const vmList: CommandSpec = {
  name: 'vm-list',
  desc: 'List guest domains, excluding dom0, stubdoms, etc.',
  usage: '',
  modifies: false,
  canDryRun: false,
  minArgs: 0,
  options: {},
  async run(ctx) {
    ctx.out(formatVmList([...(await (await ctx.api()).listDomains())].sort(byDomid)));
    return 0;
  },
};
