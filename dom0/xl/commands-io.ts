// xl's commands that move data: console, save, restore, block-attach, block-detach,
// block-list (tools/xl/xl_console.c, xl_saverestore.c, xl_block.c).

import * as path from 'node:path';
import { ToolstackError } from '../toolstack/api.js';
import type { ProgressReport } from '../toolstack/api.js';
import { readConfigFile } from './commands-domain.js';
import type { CommandSpec } from './command-spec.js';
import { runConsole } from './console.js';
import { resolveDomain, reportToolstackError } from './context.js';
import type { XlContext } from './context.js';
import { BLOCK_LIST_HEADER, formatBlockRows } from './format-misc.js';
import { padLeft } from './printf.js';

export const console_: CommandSpec = {
  name: 'console',
  desc: "Attach to domain's console",
  usage:
    '[options] <Domain>\n-t <type>       console type, pv , serial or vuart\n-n <number>     console number',
  modifies: false,
  canDryRun: false,
  minArgs: 1,
  options: { t: { type: 'string' }, n: { type: 'string' } },
  async run(ctx, a) {
    const type = a.opts.t;
    if (typeof type === 'string' && type !== 'pv' && type !== 'serial' && type !== 'vuart') {
      ctx.err(`console type ${type} not supported\n`);
      return 1;
    }
    const domid = await ctx.findDomain(a.positionals[0] ?? '');
    return runConsole(ctx, await ctx.api(), domid);
  },
};

/**
 * Prints progress reports like xentoollog's stdio logger: notes as lines; figures as
 * `phase: done/total  pct%`, rewritten in place with -t, else a line per whole percent step.
 */
export function progressPrinter(ctx: XlContext): { report(p: ProgressReport): void; end(): void } {
  let lastKey = '';
  let open = false;
  return {
    report(p) {
      if (p.note !== undefined) {
        if (open) ctx.err('\n');
        open = false;
        ctx.err(`${p.note}\n`);
        return;
      }
      const pct = p.total > 0 ? Math.floor((p.done * 100) / p.total) : 0;
      const key = `${p.phase}:${pct}`;
      if (key === lastKey && p.done !== p.total) return;
      lastKey = key;
      const line = `xc: ${p.phase}: ${p.done}/${p.total} ${padLeft(pct, 3)}%`;
      if (ctx.flags.progressCr) {
        ctx.err(`\r${line}`);
        open = true;
      } else {
        ctx.err(`${line}\n`);
      }
    },
    end() {
      if (open) ctx.err('\n');
      open = false;
    },
  };
}

export const save: CommandSpec = {
  name: 'save',
  desc: 'Save a domain state to restore later',
  usage: '[options] <Domain> <CheckpointFile> [<ConfigFile>]',
  optionHelp:
    '-h  Print this help.\n' +
    '-c  Leave domain running after creating the snapshot.\n' +
    '-p  Leave domain paused after creating the snapshot.',
  modifies: false,
  canDryRun: false,
  minArgs: 2,
  options: { c: { type: 'boolean' }, p: { type: 'boolean' }, D: { type: 'boolean' } },
  async run(ctx, a) {
    const [dom = '', file = '', cfg, ...extra] = a.positionals;
    if (extra.length > 0) {
      ctx.help('save');
      return 2;
    }
    const domid = await ctx.findDomain(dom);
    const configText = cfg === undefined ? undefined : readConfigFile(ctx, cfg);
    const progress = progressPrinter(ctx);
    try {
      await (
        await ctx.api()
      ).save(
        {
          domid,
          file: path.resolve(ctx.cwd, file),
          checkpoint: a.opts.c === true,
          leavePaused: a.opts.p === true,
          ...(configText === undefined ? {} : { configText }),
        },
        (p) => progress.report(p),
      );
      progress.end();
      return 0;
    } catch (e) {
      progress.end();
      reportToolstackError(ctx, e);
      return 1;
    }
  },
};

export const restore: CommandSpec = {
  name: 'restore',
  desc: 'Restore a domain from a saved state',
  usage: '[options] [<ConfigFile>] <CheckpointFile>',
  optionHelp:
    '-h                       Print this help.\n' +
    '-p                       Do not unpause domain after restoring it.\n' +
    '-e                       Do not wait in the background for the death of the domain.\n' +
    '-d                       Enable debug messages.',
  modifies: false,
  canDryRun: false,
  minArgs: 1,
  options: { p: { type: 'boolean' }, e: { type: 'boolean' }, d: { type: 'boolean' } },
  async run(ctx, a) {
    let cfg: string | undefined;
    let file: string;
    if (a.positionals.length === 1) file = a.positionals[0] ?? '';
    else if (a.positionals.length === 2) [cfg, file = ''] = a.positionals;
    else {
      ctx.help('restore');
      return 2;
    }
    const configText = cfg === undefined ? undefined : readConfigFile(ctx, cfg);
    const progress = progressPrinter(ctx);
    try {
      await (
        await ctx.api()
      ).restore(
        {
          file: path.resolve(ctx.cwd, file),
          paused: a.opts.p === true,
          ...(configText === undefined ? {} : { configText }),
        },
        (p) => progress.report(p),
      );
      progress.end();
      return 0;
    } catch (e) {
      progress.end();
      const err = reportToolstackError(ctx, e);
      return Math.min(255, -err.rc);
    }
  },
};

export const blockAttach: CommandSpec = {
  name: 'block-attach',
  desc: 'Create a new virtual block device',
  usage: '<Domain> <disk-spec-component(s)>...',
  modifies: true,
  canDryRun: false,
  minArgs: 2,
  options: {},
  async run(ctx, a) {
    const [dom = '', ...spec] = a.positionals;
    const api = await ctx.api();
    const domid = await resolveDomain(api, dom);
    if (domid === undefined) {
      ctx.err(`${dom} is an invalid domain identifier\n`);
      return 1;
    }
    try {
      await api.blockAttach(domid, spec);
      return 0;
    } catch (e) {
      reportToolstackError(ctx, e);
      ctx.err('libxl_device_disk_add failed.\n');
      return 1;
    }
  },
};

export const blockDetach: CommandSpec = {
  name: 'block-detach',
  desc: "Destroy a domain's virtual block device",
  usage: '<Domain> <DevId>',
  modifies: false,
  canDryRun: false,
  minArgs: 2,
  options: { f: { type: 'boolean', long: ['force'] } },
  async run(ctx, a) {
    const [dom = '', vdev = ''] = a.positionals;
    const force = a.opts.f === true;
    const domid = await ctx.findDomain(dom);
    try {
      await (await ctx.api()).blockDetach(domid, vdev, force);
      return 0;
    } catch (e) {
      if (e instanceof ToolstackError && e.code === 'NOTFOUND') {
        ctx.err(`Error: Device ${vdev} not connected.\n`);
        return 1;
      }
      reportToolstackError(ctx, e);
      ctx.err(`libxl_device_disk_${force ? 'destroy' : 'safe_remove'} failed.\n`);
      return 1;
    }
  },
};

export const blockList: CommandSpec = {
  name: 'block-list',
  desc: 'List virtual block devices for a domain',
  usage: '<Domain(s)>',
  modifies: false,
  canDryRun: false,
  minArgs: 1,
  options: {},
  async run(ctx, a) {
    const api = await ctx.api();
    ctx.out(`${BLOCK_LIST_HEADER}\n`);
    for (const dom of a.positionals) {
      const domid = await resolveDomain(api, dom);
      if (domid === undefined) {
        ctx.err(`${dom} is an invalid domain identifier\n`);
        continue;
      }
      try {
        ctx.out(formatBlockRows(await api.blockList(domid)));
      } catch (e) {
        // libxl_device_disk_list returned nothing: xl moves on.
        reportToolstackError(ctx, e);
      }
    }
    return 0;
  },
};
