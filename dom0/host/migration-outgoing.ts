// The sending side of `xl migrate` in a host daemon (tools/xl/xl_migrate.c migrate_domain): connect
// to the target's migration listener instead of running `ssh <host> xl migrate-receive`,
// authenticate, and run the toolstack's migrateSend over the connection, reporting xl's lines.

import * as net from 'node:net';
import { TcpChannel } from '../migration/tcp-channel.js';
import { ToolstackError } from '../toolstack/api.js';
import type {
  LibxlErrorCode,
  MigrateEvent,
  MigrateRequest,
  MigrateResult,
  ToolstackApi,
} from '../toolstack/api.js';
import {
  AUTH_REPLY_BYTES,
  AUTH_STATUS,
  authStatusText,
  encodeAuthMessage,
  parseAuthReply,
} from './migration-auth.js';
import type { AuthRequest } from './migration-auth.js';
import type { MigrationHost } from './migration-host.js';
import { HandshakeWatch, MSG } from './migration-messages.js';

/** How long connecting and authenticating may take (wall time: this is host I/O). */
export const CONNECT_TIMEOUT_MS = 10_000;

export type Connected =
  | { readonly ok: true; readonly socket: net.Socket; readonly leftover: Uint8Array }
  | { readonly ok: false; readonly error: string };

/**
 * Opens an authenticated migration connection: TCP connect, the auth message, the listener's
 * reply. Bytes after the reply (the receiver's banner may share its segment) are `leftover`.
 */
export function connectMigration(
  address: string,
  port: number,
  token: string,
  req: AuthRequest,
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<Connected> {
  return new Promise((resolve) => {
    const where = `${address}:${port}`;
    const socket = net.createConnection({ host: address, port });
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (r: Connected): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      if (!r.ok) socket.destroy();
      else socket.pause();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, error: `no answer from the migration listener at ${where}` }),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (buf.length < AUTH_REPLY_BYTES) return;
      const reply = parseAuthReply(buf.subarray(0, AUTH_REPLY_BYTES));
      if (!reply.ok) return finish({ ok: false, error: `${where}: ${reply.error}` });
      if (reply.status !== AUTH_STATUS.ok)
        return finish({ ok: false, error: `${where}: ${authStatusText(reply.status)}` });
      finish({ ok: true, socket, leftover: buf.subarray(AUTH_REPLY_BYTES) });
    };
    socket.on('data', onData);
    socket.once('connect', () => socket.write(encodeAuthMessage(token, req)));
    socket.on('error', (e: NodeJS.ErrnoException) =>
      finish({
        ok: false,
        error: `cannot connect to the migration listener at ${where}: ${e.code ?? e.message}`,
      }),
    );
    socket.once('end', () =>
      finish({ ok: false, error: `the migration listener at ${where} closed the connection` }),
    );
  });
}

function codeOf(e: unknown): LibxlErrorCode {
  return e instanceof ToolstackError ? e.code : 'FAIL';
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * `xl migrate` on the sending host: resolves with the statistics once the target runs the domain
 * and this host has destroyed its copy; on failure reports xl's lines and rejects.
 */
export async function migrateOut(
  host: MigrationHost,
  api: ToolstackApi,
  req: MigrateRequest,
  onEvent: (e: MigrateEvent) => void,
  /** Open migration connections, for the daemon to close when it stops. */
  open?: Set<net.Socket>,
): Promise<MigrateResult> {
  const say = (text: string): void => onEvent({ kind: 'message', text });
  const fail = (code: LibxlErrorCode, message: string, after: readonly string[] = []): never => {
    if (message !== '') say(message);
    for (const l of after) if (!message.includes(l)) say(l);
    throw new ToolstackError(code, message);
  };
  // find_domain has run in xl; make sure the domain is still there before touching the network.
  await api.domainInfo(req.domid);
  const conn = await connectMigration(req.address, req.port, req.token, {
    paused: req.leavePaused,
    noMonitor: req.noMonitor,
    debug: req.debug,
  });
  if (!conn.ok) return fail('FAIL', `migration sender: ${conn.error}`);
  open?.add(conn.socket);
  conn.socket.once('close', () => open?.delete(conn.socket));
  const watch = new HandshakeWatch(say);
  const channel = new TcpChannel(conn.socket, {
    clock: host.clock,
    kick: host.kick,
    ...(host.runNow ? { runNow: host.runNow } : {}),
    initial: conn.leftover,
    tap: { incoming: (c) => watch.incoming(c), outgoing: (b) => watch.outgoing(b) },
  });
  let stats;
  try {
    stats = await host.send(req.domid, channel, { leavePaused: req.leavePaused }, (p) =>
      onEvent({ kind: 'progress', progress: p }),
    );
  } catch (e) {
    if (!channel.closed) channel.abort('migration sender failed');
    const resumedOk = await api.domainInfo(req.domid).then(
      (d) => !d.shutdown && !d.dying,
      () => false,
    );
    return fail(codeOf(e), messageOf(e), watch.failureLines(codeOf(e), resumedOk));
  }
  channel.close();
  say(MSG.success);
  return { stats };
}
