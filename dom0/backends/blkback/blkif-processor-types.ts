// The contract of blkback's ring processor (drivers/block/xen-blkback/blkback.c, the xen_blkif
// and its backing device as the processor sees them): the grant-copy function, the disk, the bounce
// pages, and what one processing pass reports.

import type { gnttab_copy } from '../../../hypercalls/grant-table.js';
import type { LocalPage } from '../platform.js';
import type { BlockFile } from './block-file.js';
import type { BlkbackMetrics } from './metrics.js';

/** GNTTABOP_copy over the first `count` ops: 0 or a negative errno; each op carries its status. */
export type GrantCopyFn = (ops: gnttab_copy[], count: number) => number;

/** The disk as the backend advertised it in xenstore. */
export interface BlkifDisk {
  readonly file: BlockFile;
  /** Capacity in 512-byte sectors (the `sectors` node). */
  readonly sectors: number;
  readonly readOnly: boolean;
  /** feature-flush-cache / feature-barrier / feature-discard as written. */
  readonly flushCache: boolean;
  readonly barrier: boolean;
  readonly discard: boolean;
}

export interface BlkifProcessorDeps {
  readonly frontendDomid: number;
  readonly copy: GrantCopyFn;
  readonly disk: BlkifDisk;
  /**
   * At least BLKIF_MAX_SEGMENTS_PER_REQUEST of dom0's pages; with BLKIF_BOUNCE_PAGES, the reads
   * merged into one host read also share one GNTTABOP_copy.
   */
  readonly bounce: readonly LocalPage[];
  readonly metrics?: BlkbackMetrics;
}

export interface ProcessOutcome {
  /** Responses pushed by this call. */
  responses: number;
  /** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY said the frontend wants an event. */
  notify: boolean;
  /** The request budget ran out with requests still waiting: call again. */
  more: boolean;
  /** The frontend broke the protocol: stop serving this ring and close the device. */
  fault: string | null;
}
