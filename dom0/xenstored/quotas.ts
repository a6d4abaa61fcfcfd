// Per-domain quotas of C xenstored 4.17 (tools/xenstore/xenstored_domain.c, xenstored_core.c
// defaults); dom0 and other privileged connections are exempt.

export interface XsQuotas {
  nodes: number;
  watches: number;
  transactions: number;
  transactionNodes: number;
  nodeSizeBytes: number;
  permissions: number;
  outstanding: number;
  pathMax: number;
}

export const DEFAULT_QUOTAS: Readonly<XsQuotas> = {
  nodes: 1000,
  watches: 128,
  transactions: 10,
  transactionNodes: 1024,
  nodeSizeBytes: 2048,
  permissions: 5,
  outstanding: 20,
  pathMax: 2048,
};
