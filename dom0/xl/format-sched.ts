// `xl sched-credit` and `xl sched-credit2` output (tools/xl/xl_sched.c:
// sched_credit_domain_output, sched_credit_pool_output, sched_domain_output).

import type {
  Credit2PoolParams,
  CreditPoolParams,
  SchedDomainParams,
  SchedPool,
} from '../toolstack/api.js';
import { padLeft, padRight } from './printf.js';

export const SCHED_DOMAIN_HEADER = `${padRight('Name', 33)} ${padLeft('ID', 4)} ${padLeft('Weight', 6)} ${padLeft('Cap', 4)}`;

/** `%-33s %4d %6d %4d` */
export function formatSchedDomainRow(d: SchedDomainParams): string {
  return `${padRight(d.name, 33)} ${padLeft(d.domid, 4)} ${padLeft(d.weight, 6)} ${padLeft(d.cap, 4)}`;
}

export function creditPoolLine(poolName: string, p: CreditPoolParams): string {
  return `Cpupool ${poolName}: tslice=${p.tsliceMs}ms ratelimit=${p.ratelimitUs}us migration-delay=${p.migrationDelayUs}us`;
}

export function credit2PoolLine(poolName: string, p: Credit2PoolParams): string {
  return `Cpupool ${poolName}: ratelimit=${p.ratelimitUs}us`;
}

function formatPools<P>(
  pools: readonly SchedPool<P>[],
  poolLine: (name: string, p: P) => string,
): string {
  let out = '';
  for (const pool of pools) {
    out += poolLine(pool.poolName, pool.params) + '\n';
    out += SCHED_DOMAIN_HEADER + '\n';
    for (const d of pool.domains) out += formatSchedDomainRow(d) + '\n';
  }
  return out;
}

/** `xl sched-credit` with no domain: per pool, the pool line, the header, its domains. */
export function formatSchedCredit(pools: readonly SchedPool<CreditPoolParams>[]): string {
  return formatPools(pools, creditPoolLine);
}

export function formatSchedCredit2(pools: readonly SchedPool<Credit2PoolParams>[]): string {
  return formatPools(pools, credit2PoolLine);
}

/** `xl sched-credit -d dom`: the header and the one row. */
export function formatSchedDomain(d: SchedDomainParams): string {
  return `${SCHED_DOMAIN_HEADER}\n${formatSchedDomainRow(d)}\n`;
}
