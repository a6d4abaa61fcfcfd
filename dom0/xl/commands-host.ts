// xl's host-wide commands: info, dmesg, uptime, top, sched-credit, sched-credit2
// (tools/xl/xl_info.c, tools/xl/xl_sched.c).

import { ToolstackError } from '../toolstack/api.js';
import type {
  Credit2PoolParams,
  CreditPoolParams,
  SchedDomainParams,
  SchedPool,
  ToolstackApi,
} from '../toolstack/api.js';
import type { CommandSpec, ParsedArgs } from './command-spec.js';
import { reportToolstackError } from './context.js';
import type { XlContext } from './context.js';
import { formatInfo } from './format-info.js';
import { formatUptime } from './format-misc.js';
import type { UptimeEntry } from './format-misc.js';
import {
  credit2PoolLine,
  creditPoolLine,
  formatSchedCredit,
  formatSchedCredit2,
  formatSchedDomainRow,
  SCHED_DOMAIN_HEADER,
} from './format-sched.js';
import { localHms } from './format-top.js';
import { runTop } from './top.js';

const str = (a: ParsedArgs, k: string): string | undefined => {
  const v = a.opts[k];
  return typeof v === 'string' ? v : undefined;
};

/** strtol(s, NULL, 10): the leading integer, 0 if none. */
function strtol(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1] ?? '0', 10) : 0;
}

export const info: CommandSpec = {
  name: 'info',
  desc: 'Get information about Xen host',
  usage: '-n, --numa         List host NUMA topology information',
  modifies: false,
  canDryRun: false,
  minArgs: 0,
  options: { n: { type: 'boolean', long: ['numa'] } },
  async run(ctx, a) {
    const host = await (await ctx.api()).info();
    // DEVIATION(xen): -n prints no cpu_topology/numa_info tables (xensim models one node).
    const name = a.opts.n === true ? undefined : a.positionals[0];
    ctx.out(formatInfo(host, name));
    return 0;
  },
};

export const dmesg: CommandSpec = {
  name: 'dmesg',
  desc: 'Read and/or clear dmesg buffer',
  usage: '[-c]',
  optionHelp: '  -c                        Clear dmesg buffer as well as printing it',
  modifies: false,
  canDryRun: false,
  minArgs: 0,
  options: { c: { type: 'boolean', long: ['clear'] } },
  async run(ctx, a) {
    try {
      ctx.out(await (await ctx.api()).dmesg(a.opts.c === true));
      return 0;
    } catch (e) {
      reportToolstackError(ctx, e);
      return 1;
    }
  },
};

export const uptime: CommandSpec = {
  name: 'uptime',
  desc: 'Print uptime for all/some domains',
  usage: '[-s] [Domain]',
  modifies: false,
  canDryRun: false,
  minArgs: 0,
  options: { s: { type: 'boolean' } },
  async run(ctx, a) {
    const domids: number[] = [];
    for (const q of a.positionals) domids.push(await ctx.findDomain(q));
    const api = await ctx.api();
    const [host, domains] = await Promise.all([api.info(), api.listDomains()]);
    const nowS = Math.floor(host.nowMs / 1000);
    const byId = new Map(domains.map((d) => [d.domid, d]));
    const entryFor = (domid: number): UptimeEntry | undefined => {
      const d = byId.get(domid);
      if (domid === 0) return { domid: 0, name: d?.name ?? 'Domain-0', uptimeS: host.uptimeS };
      // print_domU_uptime prints nothing for a domain it cannot find.
      return d === undefined ? undefined : { domid, name: d.name, uptimeS: nowS - d.startTimeS };
    };
    const wanted =
      domids.length > 0
        ? domids
        : [0, ...[...byId.keys()].filter((id) => id !== 0).sort((x, y) => x - y)];
    const entries = wanted.map(entryFor).filter((e): e is UptimeEntry => e !== undefined);
    ctx.out(formatUptime(entries, a.opts.s === true, localHms(host.nowMs)));
    return 0;
  },
};

export const top: CommandSpec = {
  name: 'top',
  desc: 'Monitor a host and the domains in real time',
  usage: '',
  optionHelp:
    '-d SECONDS              Seconds between updates (default 3).\n' +
    '-i ITERATIONS           Number of updates before exiting.\n' +
    '-b                      Batch mode: no screen control, for piping.',
  modifies: false,
  canDryRun: false,
  minArgs: 0,
  options: {
    d: { type: 'string', long: ['delay'] },
    i: { type: 'string', long: ['iterations'] },
    b: { type: 'boolean', long: ['batch'] },
  },
  async run(ctx, a) {
    const delay = Number(str(a, 'd') ?? '3');
    const iterationsText = str(a, 'i');
    const iterations = iterationsText === undefined ? undefined : Number(iterationsText);
    if (!Number.isFinite(delay) || delay <= 0 || (iterations !== undefined && !(iterations >= 1))) {
      ctx.err('xl top: -d takes seconds > 0 and -i a count >= 1\n');
      return 2;
    }
    return runTop(
      ctx,
      iterations === undefined
        ? { delayS: delay, batch: a.opts.b === true }
        : { delayS: delay, iterations, batch: a.opts.b === true },
    );
  },
};

/** The pool `-s` without `-p` means: the first pool (Pool-0). */
async function poolsOf<P>(
  ctx: XlContext,
  get: (pool?: string) => Promise<readonly SchedPool<P>[]>,
  pool: string | undefined,
): Promise<readonly SchedPool<P>[] | undefined> {
  try {
    return await get(pool);
  } catch (e) {
    if (e instanceof ToolstackError && e.code === 'NOTFOUND' && pool !== undefined) {
      ctx.err(`unknown cpupool '${pool}'\n`);
      return undefined;
    }
    reportToolstackError(ctx, e);
    return undefined;
  }
}

function findSchedDomain<P>(
  pools: readonly SchedPool<P>[],
  domid: number,
): SchedDomainParams | undefined {
  for (const p of pools) {
    const d = p.domains.find((x) => x.domid === domid);
    if (d !== undefined) return d;
  }
  return undefined;
}

interface SchedVariant<P> {
  readonly name: 'sched-credit' | 'sched-credit2';
  /** libxl's name for the pool parameter calls: sched_credit / sched_credit2. */
  readonly libxlName: 'sched_credit' | 'sched_credit2';
  get(api: ToolstackApi, pool?: string): Promise<readonly SchedPool<P>[]>;
  domainSet(api: ToolstackApi, domid: number, p: { weight?: number; cap?: number }): Promise<void>;
  poolLine(name: string, p: P): string;
  format(pools: readonly SchedPool<P>[]): string;
  /** Scheduler parameters given on the command line (-t/-r/-m or -r). */
  paramsGiven(a: ParsedArgs): boolean;
  paramsSet(api: ToolstackApi, pool: string | undefined, a: ParsedArgs): Promise<void>;
  /** The command's check for cpupool/schedparam mixed with domain options. */
  conflictMessage: string;
  conflicts(a: ParsedArgs): boolean;
}

async function runSched<P>(v: SchedVariant<P>, ctx: XlContext, a: ParsedArgs): Promise<number> {
  const dom = str(a, 'd');
  const pool = str(a, 'p');
  const w = str(a, 'w');
  const c = str(a, 'c');
  if (v.conflicts(a)) {
    ctx.err(v.conflictMessage);
    return 1;
  }
  if (dom === undefined && (w !== undefined || c !== undefined)) {
    ctx.err('Must specify a domain.\n');
    return 1;
  }
  if (v.name === 'sched-credit' && a.opts.s !== true && v.paramsGiven(a)) {
    ctx.err('Must specify schedparam to set schedule parameter values.\n');
    return 1;
  }
  const api = await ctx.api();
  if (a.opts.s === true) {
    if (!v.paramsGiven(a)) {
      const pools = await poolsOf(ctx, (p) => v.get(api, p), pool);
      if (pools === undefined) return 1;
      const first = pools[0];
      if (first === undefined) {
        // The pool does not run this scheduler: xl_sched.c's params_get fails.
        ctx.err(`libxl_${v.libxlName}_params_get failed.\n`);
        ctx.out(`Cpupool ${pool ?? 'Pool-0'}: [sched params unavailable]\n`);
      } else {
        ctx.out(`${v.poolLine(first.poolName, first.params)}\n`);
      }
      return 0;
    }
    try {
      await v.paramsSet(api, pool, a);
      return 0;
    } catch (e) {
      reportToolstackError(ctx, e);
      ctx.err(`libxl_${v.libxlName}_params_set failed.\n`);
      return 1;
    }
  }
  if (dom === undefined) {
    const pools = await poolsOf(ctx, (p) => v.get(api, p), pool);
    if (pools === undefined) return 1;
    ctx.out(v.format(pools));
    return 0;
  }
  const domid = await ctx.findDomain(dom);
  if (w === undefined && c === undefined) {
    const pools = await poolsOf(ctx, (p) => v.get(api, p), undefined);
    const d = pools === undefined ? undefined : findSchedDomain(pools, domid);
    // xl prints the header before it asks for the domain's parameters.
    ctx.out(`${SCHED_DOMAIN_HEADER}\n`);
    if (d === undefined) {
      ctx.err('libxl_domain_sched_params_get failed.\n');
      return 1;
    }
    ctx.out(`${formatSchedDomainRow(d)}\n`);
    return 0;
  }
  try {
    const params: { weight?: number; cap?: number } = {};
    if (w !== undefined) params.weight = strtol(w);
    if (c !== undefined) params.cap = strtol(c);
    await v.domainSet(api, domid, params);
    return 0;
  } catch (e) {
    reportToolstackError(ctx, e);
    ctx.err('libxl_domain_sched_params_set failed.\n');
    return 1;
  }
}

const credit: SchedVariant<CreditPoolParams> = {
  name: 'sched-credit',
  libxlName: 'sched_credit',
  get: (api, pool) => api.schedCreditGet(pool),
  domainSet: (api, domid, p) => api.schedCreditDomainSet(domid, p),
  poolLine: creditPoolLine,
  format: formatSchedCredit,
  paramsGiven: (a) =>
    str(a, 't') !== undefined || str(a, 'r') !== undefined || str(a, 'm') !== undefined,
  paramsSet: (api, pool, a) => {
    const p: { tsliceMs?: number; ratelimitUs?: number; migrationDelayUs?: number } = {};
    const t = str(a, 't');
    const r = str(a, 'r');
    const m = str(a, 'm');
    if (t !== undefined) p.tsliceMs = strtol(t);
    if (r !== undefined) p.ratelimitUs = strtol(r);
    if (m !== undefined) p.migrationDelayUs = strtol(m);
    return api.schedCreditParamsSet(pool, p);
  },
  conflictMessage: 'Specifying a cpupool or schedparam is not allowed with domain options.\n',
  conflicts: (a) =>
    (str(a, 'p') !== undefined || a.opts.s === true) &&
    (str(a, 'd') !== undefined || str(a, 'w') !== undefined || str(a, 'c') !== undefined),
};

const credit2: SchedVariant<Credit2PoolParams> = {
  name: 'sched-credit2',
  libxlName: 'sched_credit2',
  get: (api, pool) => api.schedCredit2Get(pool),
  domainSet: (api, domid, p) => api.schedCredit2DomainSet(domid, p),
  poolLine: credit2PoolLine,
  format: formatSchedCredit2,
  paramsGiven: (a) => str(a, 'r') !== undefined,
  paramsSet: (api, pool, a) =>
    api.schedCredit2ParamsSet(pool, { ratelimitUs: strtol(str(a, 'r') ?? '0') }),
  conflictMessage: 'Specifying a cpupool is not allowed with other options.\n',
  conflicts: (a) =>
    str(a, 'p') !== undefined &&
    (str(a, 'd') !== undefined || str(a, 'w') !== undefined || str(a, 'c') !== undefined),
};

export const schedCredit: CommandSpec = {
  name: 'sched-credit',
  desc: 'Get/set credit scheduler parameters',
  usage: '[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]] [-s [-t TSLICE] [-r RATELIMIT]] [-p CPUPOOL]',
  optionHelp:
    '-d DOMAIN, --domain=DOMAIN        Domain to modify\n' +
    '-w WEIGHT, --weight=WEIGHT        Weight (int)\n' +
    '-c CAP, --cap=CAP                 Cap (int)\n' +
    '-s         --schedparam           Query / modify scheduler parameters\n' +
    '-t TSLICE, --tslice_ms=TSLICE     Set the timeslice, in milliseconds\n' +
    '-r RLIMIT, --ratelimit_us=RLIMIT  Set the scheduling rate limit, in microseconds\n' +
    '-p CPUPOOL, --cpupool=CPUPOOL     Restrict output to CPUPOOL',
  modifies: false,
  canDryRun: false,
  minArgs: 0,
  options: {
    d: { type: 'string', long: ['domain'] },
    w: { type: 'string', long: ['weight'] },
    c: { type: 'string', long: ['cap'] },
    s: { type: 'boolean', long: ['schedparam'] },
    t: { type: 'string', long: ['tslice_ms'] },
    r: { type: 'string', long: ['ratelimit_us'] },
    m: { type: 'string', long: ['migration_delay_us'] },
    p: { type: 'string', long: ['cpupool'] },
  },
  run: (ctx, a) => runSched(credit, ctx, a),
};

export const schedCredit2: CommandSpec = {
  name: 'sched-credit2',
  desc: 'Get/set credit2 scheduler parameters',
  usage: '[-d <Domain> [-w[=WEIGHT]]] [-p CPUPOOL]',
  optionHelp:
    '-d DOMAIN, --domain=DOMAIN     Domain to modify\n' +
    '-w WEIGHT, --weight=WEIGHT     Weight (int)\n' +
    '-c CAP,    --cap=CAP           Cap (int)\n' +
    '-s         --schedparam        Query / modify scheduler parameters\n' +
    '-r RLIMIT, --ratelimit_us=RLIMIT Set the scheduling rate limit, in microseconds\n' +
    '-p CPUPOOL, --cpupool=CPUPOOL  Restrict output to CPUPOOL',
  modifies: false,
  canDryRun: false,
  minArgs: 0,
  options: {
    d: { type: 'string', long: ['domain'] },
    w: { type: 'string', long: ['weight'] },
    c: { type: 'string', long: ['cap'] },
    s: { type: 'boolean', long: ['schedparam'] },
    r: { type: 'string', long: ['ratelimit_us'] },
    p: { type: 'string', long: ['cpupool'] },
  },
  run: (ctx, a) => runSched(credit2, ctx, a),
};
