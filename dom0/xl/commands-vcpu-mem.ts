// xl's vCPU and memory commands: vcpu-list, vcpu-pin, vcpu-set, mem-set, mem-max
// (tools/xl/xl_vcpu.c, tools/xl/xl_mem.c).

import { ToolstackError } from '../toolstack/api.js';
import type { VcpuInfo } from '../toolstack/api.js';
import type { CommandSpec } from './command-spec.js';
import { reportToolstackError } from './context.js';
import type { XlContext } from './context.js';
import { formatCpuMap, formatVcpuList } from './format-vcpu.js';
import { parseCpuRange, parseMemSizeKb } from './parse-args.js';

export const vcpuList: CommandSpec = {
  name: 'vcpu-list',
  desc: 'List the VCPUs for all/some domains',
  usage: '[Domain, ...]',
  modifies: false,
  canDryRun: false,
  minArgs: 0,
  options: {},
  async run(ctx, a) {
    const api = await ctx.api();
    const { nrCpus } = await api.info();
    const rows: VcpuInfo[] = [];
    if (a.positionals.length === 0) {
      rows.push(
        ...[...(await api.vcpuList())].sort((x, y) => x.domid - y.domid || x.vcpuId - y.vcpuId),
      );
      ctx.out(formatVcpuList(rows, nrCpus));
      return 0;
    }
    // The header comes first, then each domain in turn (find_domain may exit part way).
    ctx.out(formatVcpuList([], nrCpus));
    for (const q of a.positionals) {
      const domid = await ctx.findDomain(q);
      try {
        const vcpus = [...(await api.vcpuList(domid))].sort((x, y) => x.vcpuId - y.vcpuId);
        ctx.out(formatVcpuList(vcpus, nrCpus).split('\n').slice(1).join('\n'));
      } catch (e) {
        // libxl_list_vcpu failed: xl prints nothing for that domain.
        reportToolstackError(ctx, e);
      }
    }
    return 0;
  },
};

/** An affinity argument: `-` (or absent) leaves it alone (null); undefined after an error. */
function parseAffinity(
  ctx: XlContext,
  text: string | undefined,
  nrCpus: number,
): number[] | null | undefined {
  if (text === undefined || text === '-') return null;
  const r = parseCpuRange(text, nrCpus);
  if (!r.ok) {
    ctx.err(`${r.error}\n`);
    return undefined;
  }
  return r.cpus;
}

export const vcpuPin: CommandSpec = {
  name: 'vcpu-pin',
  desc: 'Set which CPUs a VCPU can use',
  usage: '[option] <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>',
  optionHelp: '-f, --force        undo an override pinning done by the kernel',
  modifies: true,
  canDryRun: true,
  minArgs: 3,
  options: { f: { type: 'boolean', long: ['force'] } },
  async run(ctx, a) {
    const [dom = '', vcpuText = '', hardText, softText] = a.positionals;
    const force = a.opts.f === true;
    const domid = await ctx.findDomain(dom);
    let vcpu: number | 'all';
    const m = /^\s*([+-]?\d+)/.exec(vcpuText);
    if (m === null || Number(m[1]) < 0) {
      if (vcpuText !== 'all') {
        ctx.err(`Error: Invalid argument ${vcpuText} as VCPU.\n`);
        return 1;
      }
      if (force) {
        ctx.err("Error: --force and 'all' as VCPU not allowed.\n");
        return 1;
      }
      vcpu = 'all';
    } else {
      vcpu = Number(m[1]);
    }
    const api = await ctx.api();
    const { nrCpus } = await api.info();
    const hard = parseAffinity(ctx, hardText, nrCpus);
    const soft = parseAffinity(ctx, softText, nrCpus);
    if (hard === undefined || soft === undefined) return 1;
    if (ctx.flags.dryRun) {
      let line = `cpumap: ${hard === null ? '-' : formatCpuMap(hard, nrCpus)}`;
      if (soft !== null) line += ` ${formatCpuMap(soft, nrCpus)}`;
      ctx.out(`${line}\n`);
      return 0;
    }
    try {
      await api.vcpuPin(domid, vcpu, hard, soft, force);
    } catch (e) {
      reportToolstackError(ctx, e);
      if (vcpu === 'all') {
        // xl reports the failure but still succeeds for 'all'.
        ctx.err('Could not set affinity.\n');
        return 0;
      }
      ctx.err(`Could not set affinity for vcpu \`${vcpu}'.\n`);
      return 1;
    }
    return 0;
  },
};

export const vcpuSet: CommandSpec = {
  name: 'vcpu-set',
  desc: 'Set the number of active VCPUs allowed for the domain',
  usage: '[option] <Domain> <vCPUs>',
  optionHelp: "-i, --ignore-host  Don't limit the vCPU based on the host CPU count",
  modifies: false,
  canDryRun: false,
  minArgs: 2,
  options: { i: { type: 'boolean', long: ['ignore-host'] } },
  async run(ctx, a) {
    const [dom = '', countText = ''] = a.positionals;
    const domid = await ctx.findDomain(dom);
    const m = /^\s*\+?(\d+)/.exec(countText);
    if (m === null) {
      ctx.err('Error: Invalid argument.\n');
      return 1;
    }
    const count = Number(m[1]);
    const api = await ctx.api();
    try {
      if (a.opts.i !== true) {
        const [host, dom_] = await Promise.all([api.info(), api.domainInfo(domid)]);
        const hostCpus = host.maxCpuId + 1;
        if (count > dom_.vcpuOnline && count > hostCpus) {
          ctx.err(
            `You are overcommmitting! You have ${hostCpus} physical CPUs and want ${count} vCPUs! Aborting, use --ignore-host to continue\n`,
          );
          return 1;
        }
      }
      await api.vcpuSet(domid, count);
      return 0;
    } catch (e) {
      const err = reportToolstackError(ctx, e);
      if (err.code === 'DOMAIN_NOTFOUND') ctx.err(`Domain ${domid} does not exist.\n`);
      else
        ctx.err(`libxl_set_vcpuonline failed domid=${domid} max_vcpus=${count}, rc: ${err.rc}\n`);
      return 1;
    }
  },
};

function memCommand(name: 'mem-set' | 'mem-max'): CommandSpec {
  const isSet = name === 'mem-set';
  return {
    name,
    desc: isSet
      ? 'Set the current memory usage for a domain'
      : 'Set the maximum amount reservation for a domain',
    usage: "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>",
    modifies: false,
    canDryRun: false,
    minArgs: 2,
    options: {},
    async run(ctx, a) {
      const [dom = '', mem = ''] = a.positionals;
      const domid = await ctx.findDomain(dom);
      const kb = parseMemSizeKb(mem);
      if (kb === undefined) {
        ctx.err(`invalid memory size: ${mem}\n`);
        return 1;
      }
      const api = await ctx.api();
      try {
        await (isSet ? api.memSet(domid, kb) : api.memMax(domid, kb));
        return 0;
      } catch (e) {
        if (!(e instanceof ToolstackError)) throw e;
        reportToolstackError(ctx, e);
        ctx.err(
          `cannot set domid ${domid} ${isSet ? 'dynamic' : 'static'} max memory to : ${mem}\n`,
        );
        return 1;
      }
    },
  };
}

export const memSet = memCommand('mem-set');
export const memMax = memCommand('mem-max');
