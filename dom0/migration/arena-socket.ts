// A migration target's accepted TCP connection read straight into a RecvArena (the receive side of
// the pipe xl's migrate-receive reads its stream from, tools/xl/xl_migrate.c; reference 10.4):
// Node's `onread` user-buffer reads, so no Buffer is allocated per read.
// DEVIATION(node): net.Server cannot give an accepted socket the `onread` option, so the accepted
// connection's handle is wrapped by a new net.Socket that has it (the `handle` option). Where the
// handle is not what this expects, the socket is read through 'data' events as before.

import * as net from 'node:net';
import type { RecvArena } from './recv-arena.js';

/** Where a connection's reads go. */
export interface ArenaReads {
  readonly arena: RecvArena;
  /** Routes every later read to `sink` (each chunk is held in the arena until released). */
  sink(fn: (chunk: Uint8Array) => void): void;
}

export interface AdoptedSocket {
  /** The socket to use from now on. */
  readonly socket: net.Socket;
  /** The arena reads, or null when the socket could not be adopted (read it through 'data'). */
  readonly reads: ArenaReads | null;
}

/** The parts of Node's TCP stream handle the adoption relies on. */
interface StreamHandle {
  readStart(): number;
  readStop(): number;
  useUserBuffer(buf: Uint8Array): void;
}

function streamHandleOf(s: net.Socket): StreamHandle | null {
  const h = (s as unknown as { _handle?: unknown })._handle;
  if (typeof h !== 'object' || h === null) return null;
  const f = h as Partial<Record<keyof StreamHandle, unknown>>;
  const ok =
    typeof f.readStart === 'function' &&
    typeof f.readStop === 'function' &&
    typeof f.useUserBuffer === 'function';
  return ok ? (h as StreamHandle) : null;
}

/**
 * Takes over a socket a server accepted with `pauseOnConnect` (nothing read from it yet): its reads
 * go to `sink` as chunks of `arena`. The accepted socket object is retired (destroyed, without its
 * handle, once the new socket closes, so the server's connection count stays right).
 */
export function adoptAccepted(
  accepted: net.Socket,
  arena: RecvArena,
  sink: (chunk: Uint8Array) => void,
): AdoptedSocket {
  const handle = streamHandleOf(accepted);
  if (handle === null || accepted.destroyed || accepted.readableLength > 0)
    return { socket: accepted, reads: null };
  let to = sink;
  // Node's Socket constructor takes both (lib/net.js); @types/node lists neither.
  const opts: net.SocketConstructorOpts & { handle: StreamHandle; onread: net.OnReadOpts } = {
    handle,
    readable: true,
    writable: true,
    onread: {
      buffer: () => arena.region(),
      callback: (n: number) => {
        to(arena.commit(n));
        return true;
      },
    },
  };
  let socket: net.Socket;
  try {
    socket = new net.Socket(opts);
  } catch {
    return { socket: accepted, reads: null };
  }
  (accepted as unknown as { _handle: unknown })._handle = null;
  socket.once('close', () => accepted.destroy());
  return {
    socket,
    reads: {
      arena,
      sink: (fn) => {
        to = fn;
      },
    },
  };
}
