// A host daemon's migration listener: what `ssh <host> xl migrate-receive` is to xl
// (tools/xl/xl_migrate.c main_migrate_receive). It accepts TCP connections (loopback by default),
// requires the shared token before anything else, then hands the connection to the toolstack's
// migrateReceive, which runs the receiver's half of the handshake (reference 10.4).

import * as net from 'node:net';
import { adoptAccepted, type ArenaReads } from '../migration/arena-socket.js';
import { RecvArena } from '../migration/recv-arena.js';
import { TcpChannel } from '../migration/tcp-channel.js';
import {
  AUTH_MESSAGE_BYTES,
  AUTH_STATUS,
  checkAuthMessage,
  encodeAuthReply,
} from './migration-auth.js';
import type { AuthStatus } from './migration-auth.js';
import type { MigrationHost } from './migration-host.js';

export const DEFAULT_MIGRATION_ADDRESS = '127.0.0.1';
/** How long a client has to send its authentication message (wall time). */
export const AUTH_TIMEOUT_MS = 10_000;
/** Connections that have not authenticated yet; more are refused at once. */
const MAX_UNAUTHENTICATED = 16;

export interface MigrationListenerOptions {
  /** Address to bind (default 127.0.0.1). */
  readonly address: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  readonly token: string;
  readonly authTimeoutMs?: number;
}

export interface MigrationListener {
  readonly address: string;
  /** The bound port. */
  readonly port: number;
  /** Incoming migrations that have started (authenticated), for status and tests. */
  readonly accepted: number;
  close(): Promise<void>;
}

export type ListenResult =
  | { readonly ok: true; readonly listener: MigrationListener }
  | { readonly ok: false; readonly message: string };

function peerName(s: net.Socket): string {
  return `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`;
}

/**
 * Starts listening. `host` is the toolstack's migration side, or why it has none (then every
 * authenticated client is told the host cannot receive).
 */
export function startMigrationListener(
  host: MigrationHost | string,
  opts: MigrationListenerOptions,
  log: (line: string) => void,
): Promise<ListenResult> {
  const sockets = new Set<net.Socket>();
  let unauthenticated = 0;
  let accepted = 0;
  const authTimeoutMs = opts.authTimeoutMs ?? AUTH_TIMEOUT_MS;

  const refuse = (socket: net.Socket, status: AuthStatus, why: string): void => {
    log(`migration listener: refused ${peerName(socket)}: ${why}`);
    socket.end(encodeAuthReply(status));
    socket.resume();
    // A peer that never reads must not keep the socket.
    setTimeout(() => socket.destroy(), 1000).unref();
  };

  const receive = (
    socket: net.Socket,
    reads: ArenaReads | null,
    leftover: Uint8Array,
    paused: boolean,
  ): void => {
    if (typeof host === 'string') {
      refuse(socket, AUTH_STATUS.unsupported, host);
      return;
    }
    accepted++;
    const peer = peerName(socket);
    socket.write(encodeAuthReply(AUTH_STATUS.ok));
    log(`migration target: Ready to receive domain (from ${peer}).`);
    const channel = new TcpChannel(socket, {
      clock: host.clock,
      kick: host.kick,
      ...(host.runNow ? { runNow: host.runNow } : {}),
      initial: leftover,
      reads,
    });
    host
      // Another process cannot take over the sender's guest program: the kernel restarts over
      // its memory image (receiver.ts ReceiveOptions).
      .receive(channel, { leavePaused: paused }, () => undefined, { acceptHandoff: false })
      .then(
        (r) => {
          log(`migration target: domain ${r.domid} (${r.name}) received from ${peer}`);
          if (!channel.closed) channel.close();
        },
        (e: unknown) => {
          log(
            `migration target: migration from ${peer} failed: ${(e as Error)?.message ?? String(e)}`,
          );
          if (!channel.closed) channel.abort('migration receiver failed');
        },
      );
  };

  const onConnection = (accepted: net.Socket): void => {
    if (unauthenticated >= MAX_UNAUTHENTICATED) {
      log(
        `migration listener: too many unauthenticated connections; dropped ${peerName(accepted)}`,
      );
      accepted.destroy();
      return;
    }
    // Reads go straight into reusable memory (the stream is up to the guest's size).
    const arena = new RecvArena();
    const adopted = adoptAccepted(accepted, arena, (c) => onData(c));
    const { socket, reads } = adopted;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', (e) => log(`migration listener: ${peerName(socket)}: ${e.message}`));
    unauthenticated++;
    let buf: Buffer = Buffer.alloc(0);
    let settled = false;
    const settle = (): void => {
      settled = true;
      unauthenticated--;
      clearTimeout(timer);
      // Until a channel takes the socket (or it closes), what arrives is dropped.
      if (reads) reads.sink((c) => arena.release(c));
      else socket.off('data', onData);
      socket.pause();
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settle();
      log(
        `migration listener: ${peerName(socket)} sent no authentication within ${authTimeoutMs} ms; closed`,
      );
      socket.destroy();
    }, authTimeoutMs);
    const onData = (chunk: Uint8Array): void => {
      if (settled) {
        arena.release(chunk);
        return;
      }
      // A copy: the arena's memory goes back at once.
      buf = Buffer.concat([buf, chunk]);
      arena.release(chunk);
      if (buf.length < AUTH_MESSAGE_BYTES) return;
      settle();
      const check = checkAuthMessage(buf.subarray(0, AUTH_MESSAGE_BYTES), opts.token);
      if (!check.ok) {
        refuse(socket, check.status, check.error);
        return;
      }
      receive(socket, reads, buf.subarray(AUTH_MESSAGE_BYTES), check.request.paused);
    };
    if (!reads) socket.on('data', onData);
    socket.resume();
    socket.once('end', () => {
      if (settled) return;
      settle();
      log(`migration listener: ${peerName(socket)} closed before authenticating`);
      socket.destroy();
    });
    socket.once('close', () => {
      if (!settled) settle();
    });
  };

  // Paused: nothing is read before the connection's reads are taken over (adoptAccepted).
  const server = net.createServer({ pauseOnConnect: true }, onConnection);
  return new Promise((resolve) => {
    server.once('error', (e) =>
      resolve({
        ok: false,
        message: `cannot listen for migrations on ${opts.address}:${opts.port}: ${e.message}`,
      }),
    );
    server.listen({ host: opts.address, port: opts.port }, () => {
      server.on('error', (e) => log(`migration listener error: ${e.message}`));
      const addr = server.address() as net.AddressInfo;
      resolve({
        ok: true,
        listener: {
          address: opts.address,
          port: addr.port,
          get accepted() {
            return accepted;
          },
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              for (const s of sockets) s.destroy();
            }),
        },
      });
    });
  });
}
