// The XS_CONTROL subset xensim supports (tools/xenstore/xenstored_control.c): check, log, print,
// quota, help. Unknown commands answer EINVAL as C xenstored does.

import type { XsdError } from '../../hypercalls/io/xs-wire.js';
import type { XsQuotas } from './quotas.js';

interface ControlTarget {
  readonly quotas: XsQuotas;
  readonly connections: ReadonlySet<unknown>;
}

const OK = Buffer.from('OK\0', 'latin1');
const COMMANDS = ['check', 'help', 'log', 'print', 'quota'];

export function runControl(xs: ControlTarget, args: readonly string[]): Buffer | XsdError {
  const [cmd = '', ...rest] = args;
  switch (cmd) {
    case 'check':
    case 'log':
      return OK;
    case 'print':
      return rest.length === 1 ? OK : 'EINVAL';
    case 'help':
      return Buffer.from(COMMANDS.join('\n') + '\n\0', 'latin1');
    case 'quota': {
      const q = xs.quotas;
      const lines = [
        `nodes: ${q.nodes}`,
        `watches: ${q.watches}`,
        `transactions: ${q.transactions}`,
        `transaction-nodes: ${q.transactionNodes}`,
        `node-size: ${q.nodeSizeBytes}`,
        `permissions: ${q.permissions}`,
        `outstanding: ${q.outstanding}`,
        `path-max: ${q.pathMax}`,
      ];
      return Buffer.from(lines.join('\n') + '\n\0', 'latin1');
    }
    default:
      return 'EINVAL';
  }
}
