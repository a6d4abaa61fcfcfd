// A xenstored client connection (tools/xenstore/xenstored_core.h struct connection): who is
// talking (domid, privilege), its watches and its open transactions.

import type { XsMessage } from '../../hypercalls/io/xs-wire.js';
import type { TxView } from './tree-view.js';

export interface Watch {
  /** Absolute watched path or special name (`@releaseDomain`). */
  path: string;
  token: string;
  /** Prefix to strip from event paths when the watch was registered with a relative path. */
  relativePrefix: string | null;
  conn: XsConnection;
}

export interface Transaction {
  id: number;
  view: TxView;
}

/** `socket`: a Unix-socket client, privileged dom0. `guest`: a domain's ring connection. */
export type ConnectionKind = 'socket' | 'guest';

let nextConnectionId = 1;

export class XsConnection {
  readonly id = nextConnectionId++;
  readonly kind: ConnectionKind;
  readonly domid: number;
  readonly privileged: boolean;
  /** SET_TARGET: this connection may act on nodes of the target domain as that domain. */
  target: number | null = null;
  readonly watches: Watch[] = [];
  readonly transactions = new Map<number, Transaction>();
  nextTransactionId = 1;
  closed = false;
  /** Set by the transport: sends a message (a watch event caused by another connection). */
  deliver: ((m: XsMessage) => void) | null = null;

  constructor(kind: ConnectionKind, domid: number, privileged: boolean) {
    this.kind = kind;
    this.domid = domid;
    this.privileged = privileged;
  }

  static socket(): XsConnection {
    return new XsConnection('socket', 0, true);
  }

  static guest(domid: number): XsConnection {
    return new XsConnection('guest', domid, domid === 0);
  }
}
