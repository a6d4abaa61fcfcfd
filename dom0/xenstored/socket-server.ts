// xenstored's Unix-socket transport (tools/xenstore/xenstored_core.c handle_input/write_messages
// for socket connections): xs_wire framing reassembled across reads, every client privileged dom0.

import { mkdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import {
  XENSTORE_PAYLOAD_MAX,
  XSD_SOCKMSG_SIZE,
  type XsMessage,
} from '../../hypercalls/io/xs-wire.js';
import type { XsConnection } from './connection.js';
import type { XsEvent } from './watches.js';
import { Xenstored, type XsReply } from './xenstored.js';

/** Output a client has not read yet beyond which it is dropped (a flood guard). */
const MAX_UNREAD_OUTPUT_BYTES = 64 * 1024 * 1024;

/** Bytes of one message on the wire. */
export function frame(m: XsMessage | XsReply): Buffer {
  const p = m.payload;
  const len = p.length;
  const b = Buffer.allocUnsafe(XSD_SOCKMSG_SIZE + len);
  b.writeUInt32LE(m.type >>> 0, 0);
  b.writeUInt32LE(m.reqId >>> 0, 4);
  b.writeUInt32LE(m.txId >>> 0, 8);
  b.writeUInt32LE(len, 12);
  if (typeof p === 'string') b.write(p, XSD_SOCKMSG_SIZE, 'latin1');
  else b.set(p, XSD_SOCKMSG_SIZE);
  return b;
}

/** The socket path libxenstore and pyxs look for. */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XENSTORED_PATH) return env.XENSTORED_PATH;
  return `${env.XENSTORED_RUNDIR || '/var/run/xenstored'}/socket`;
}

export interface XenstoredServer {
  readonly store: Xenstored;
  readonly server: Server;
  readonly path: string;
  close(): Promise<void>;
}

export function listenXenstored(path: string, store = new Xenstored()): Promise<XenstoredServer> {
  const sinks = new Map<XsConnection, Socket>();
  const deliver = (events: readonly XsEvent[], self: XsConnection, own: Buffer[]): void => {
    for (const e of events) {
      if (e.conn === self) own.push(frame(e.message));
      else e.conn.deliver?.(e.message);
    }
  };
  const server = createServer((sock) => {
    const conn = store.openSocketConnection();
    sinks.set(conn, sock);
    conn.deliver = (m) => {
      sock.write(frame(m));
    };
    let pending: Buffer | null = null;
    const drop = (): void => {
      sinks.delete(conn);
      store.closeConnection(conn);
      sock.destroy();
    };
    sock.on('data', (chunk: Buffer) => {
      let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = null;
      let off = 0;
      const out: Buffer[] = [];
      while (buf.length - off >= XSD_SOCKMSG_SIZE) {
        const len = buf.readUInt32LE(off + 12);
        if (len > XENSTORE_PAYLOAD_MAX) return drop(); // C xenstored: goto bad_client
        const end = off + XSD_SOCKMSG_SIZE + len;
        if (end > buf.length) break;
        const msg: XsMessage = {
          type: buf.readUInt32LE(off),
          reqId: buf.readUInt32LE(off + 4),
          txId: buf.readUInt32LE(off + 8),
          payload: buf.subarray(off + XSD_SOCKMSG_SIZE, end),
        };
        off = end;
        const r = store.handle(conn, msg);
        out.push(frame(r.reply));
        if (r.events.length) deliver(r.events, conn, out);
      }
      if (off < buf.length) pending = Buffer.from(buf.subarray(off));
      buf = chunk;
      if (out.length === 1) sock.write(out[0] as Buffer);
      else if (out.length > 1) sock.write(Buffer.concat(out));
      if (sock.writableLength > MAX_UNREAD_OUTPUT_BYTES) drop();
    });
    sock.on('error', drop);
    sock.on('close', drop);
  });
  prepareSocketPath(path);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve({
        store,
        server,
        path,
        close: () =>
          new Promise<void>((res) => {
            for (const s of sinks.values()) s.destroy();
            server.close(() => res());
          }),
      });
    });
  });
}

/** Creates the directory and removes a stale socket file left by a previous run. */
function prepareSocketPath(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  try {
    if (statSync(path).isSocket()) rmSync(path);
  } catch {
    // no file: nothing to remove
  }
}
