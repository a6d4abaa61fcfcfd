// What the request handlers split out of xenstored.ts need from the store.

import type { XsConnection } from './connection.js';
import type { Change } from './node-ops.js';
import type { XsQuotas } from './quotas.js';
import type { NodeTree } from './tree-view.js';
import type { WatchTable, XsEvent } from './watches.js';

export const OK = Buffer.from('OK\0', 'latin1');

export interface StoreContext {
  readonly tree: NodeTree;
  readonly watches: WatchTable;
  readonly quotas: XsQuotas;
  /** Canonical, valid absolute path from a request argument, or null (EINVAL). */
  path(conn: XsConnection, raw: string | null): string | null;
  fireChanges(changes: readonly Change[], events: XsEvent[]): void;
}
