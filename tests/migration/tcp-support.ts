// Test support for the TCP migration transport: an engine-backed Dom0Clock that records whether
// code runs inside an engine event, a kick that runs due events on the next host turn (as the
// daemon's paced loop does), and a connected loopback socket pair.

import * as net from 'node:net';
import { Engine } from '../../hypervisor/engine/engine.js';
import type { Dom0Clock } from '../../dom0/toolstack/platform.js';
import type { Wait } from '../../dom0/toolstack/task.js';

export interface TestClock {
  readonly engine: Engine;
  readonly clock: Dom0Clock;
  readonly kick: () => void;
  /** True while an engine event runs. */
  inEvent(): boolean;
}

export function testClock(): TestClock {
  const engine = new Engine({ seed: 1, trace: false });
  let depth = 0;
  let kicked = false;
  const clock: Dom0Clock = {
    now: () => engine.now,
    at: (t, fn) =>
      engine.at(Math.max(t, engine.now), () => {
        depth++;
        try {
          fn();
        } finally {
          depth--;
        }
      }),
    cancel: (id) => void engine.cancel(id),
    epochS: 0,
  };
  const kick = (): void => {
    if (kicked) return;
    kicked = true;
    setImmediate(() => {
      kicked = false;
      engine.runUntil(engine.now);
    });
  };
  return { engine, clock, kick, inEvent: () => depth > 0 };
}

/** A connected client/server socket pair on loopback; `serverOpts.pauseOnConnect` leaves the server end unread. */
export async function socketPair(
  pauseServer = false,
): Promise<{ client: net.Socket; server: net.Socket; close: () => void }> {
  const srv = net.createServer({ pauseOnConnect: pauseServer });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const client = net.createConnection({ host: '127.0.0.1', port });
  await new Promise<void>((r) => client.once('connect', () => r()));
  const server = await accepted;
  return {
    client,
    server,
    close: () => {
      client.destroy();
      server.destroy();
      srv.close();
    },
  };
}

/** Starts a Wait and resolves when it resumes (the caller's code runs as a Task's would). */
export function waitFor<V>(w: Wait<V>): Promise<V> {
  return new Promise((resolve) => {
    w(resolve);
  });
}

export function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (cond()) resolve();
      else if (Date.now() - start > timeoutMs) reject(new Error('timed out waiting'));
      else setTimeout(poll, 2);
    };
    poll();
  });
}
