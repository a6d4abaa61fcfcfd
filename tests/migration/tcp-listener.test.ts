import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AUTH_MESSAGE_BYTES,
  AUTH_STATUS,
  checkAuthMessage,
  encodeAuthMessage,
  parseAuthReply,
} from '../../dom0/host/migration-auth.js';
import type { MigrationHost } from '../../dom0/host/migration-host.js';
import { startMigrationListener } from '../../dom0/host/migration-listener.js';
import type { MigrationListener } from '../../dom0/host/migration-listener.js';
import { connectMigration } from '../../dom0/host/migration-outgoing.js';
import type { MigrateOptions, MigrationChannel } from '../../dom0/migration/types.js';
import { testClock, until } from './tcp-support.js';

const TOKEN = 'correct horse battery staple';
const NO_FLAGS = { paused: false, noMonitor: false, debug: false };

interface Received {
  channel: MigrationChannel;
  opts: MigrateOptions;
}

function fakeHost(received: Received[]): MigrationHost {
  const tc = testClock();
  return {
    clock: tc.clock,
    kick: tc.kick,
    send: () => Promise.reject(new Error('not a sender')),
    receive: (channel, opts) => {
      received.push({ channel, opts });
      // The receiver's half starts with xl's banner.
      channel.send(
        new TextEncoder().encode('xl migration receiver ready, send binary domain data.\n'),
      )(() => undefined);
      return new Promise(() => undefined);
    },
  };
}

const open: (MigrationListener | net.Socket)[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    if (o instanceof net.Socket) o.destroy();
    else await o.close();
  }
});

async function listen(host: MigrationHost | string, logs: string[], authTimeoutMs = 5000) {
  const r = await startMigrationListener(
    host,
    { address: '127.0.0.1', port: 0, token: TOKEN, authTimeoutMs },
    (l) => logs.push(l),
  );
  if (!r.ok) throw new Error(r.message);
  open.push(r.listener);
  return r.listener;
}

describe('migration authentication message', () => {
  it('accepts the token it was made with and carries the migrate-receive flags', () => {
    const m = encodeAuthMessage(TOKEN, { paused: true, noMonitor: false, debug: true });
    expect(m.length).toBe(AUTH_MESSAGE_BYTES);
    expect(checkAuthMessage(m, TOKEN)).toEqual({
      ok: true,
      request: { paused: true, noMonitor: false, debug: true },
    });
  });

  it('refuses another token, and bytes that are not an auth message', () => {
    const m = encodeAuthMessage('guess', NO_FLAGS);
    expect(checkAuthMessage(m, TOKEN)).toMatchObject({ ok: false, status: AUTH_STATUS.badToken });
    const junk = new Uint8Array(AUTH_MESSAGE_BYTES).fill(0x41);
    expect(checkAuthMessage(junk, TOKEN)).toMatchObject({
      ok: false,
      status: AUTH_STATUS.badMessage,
    });
    expect(parseAuthReply(new Uint8Array(16))).toMatchObject({ ok: false });
  });
});

describe('migration listener', () => {
  it('hands an authenticated connection to migrateReceive with -p, and the banner reaches the sender', async () => {
    const received: Received[] = [];
    const logs: string[] = [];
    const l = await listen(fakeHost(received), logs);
    const c = await connectMigration('127.0.0.1', l.port, TOKEN, { ...NO_FLAGS, paused: true });
    if (!c.ok) throw new Error(c.error);
    open.push(c.socket);
    let text = Buffer.from(c.leftover).toString();
    c.socket.on('data', (d: Buffer) => (text += d.toString()));
    c.socket.resume();
    await until(() => text.endsWith('\n'));
    expect(text).toBe('xl migration receiver ready, send binary domain data.\n');
    expect(received).toHaveLength(1);
    expect(received[0]?.opts.leavePaused).toBe(true);
    expect(l.accepted).toBe(1);
  });

  it('refuses a wrong token: the sender is told, the log says why, nothing is received', async () => {
    const received: Received[] = [];
    const logs: string[] = [];
    const l = await listen(fakeHost(received), logs);
    const c = await connectMigration('127.0.0.1', l.port, 'not the token', NO_FLAGS);
    expect(c).toEqual({
      ok: false,
      error: `127.0.0.1:${l.port}: the target refused the migration token`,
    });
    await until(() => logs.some((s) => s.includes('wrong migration token')));
    expect(received).toHaveLength(0);
    expect(l.accepted).toBe(0);
  });

  it('closes a client that sends nothing once the auth timeout passes, creating nothing', async () => {
    const received: Received[] = [];
    const logs: string[] = [];
    const l = await listen(fakeHost(received), logs, 150);
    const s = net.createConnection({ host: '127.0.0.1', port: l.port });
    open.push(s);
    let closed = false;
    s.on('close', () => (closed = true));
    s.on('error', () => undefined);
    await until(() => closed, 5000);
    expect(logs.some((x) => /sent no authentication within 150 ms/.test(x))).toBe(true);
    expect(received).toHaveLength(0);
  });

  it('a client that sends garbage of the right size is refused as not a migration client', async () => {
    const received: Received[] = [];
    const logs: string[] = [];
    const l = await listen(fakeHost(received), logs);
    const s = net.createConnection({ host: '127.0.0.1', port: l.port });
    open.push(s);
    let reply = Buffer.alloc(0);
    s.on('data', (d: Buffer) => (reply = Buffer.concat([reply, d])));
    s.write(Buffer.alloc(AUTH_MESSAGE_BYTES, 0x47));
    await until(() => reply.length >= 16);
    expect(parseAuthReply(reply.subarray(0, 16))).toEqual({
      ok: true,
      status: AUTH_STATUS.badMessage,
    });
    expect(received).toHaveLength(0);
  });

  it('a host whose toolstack cannot migrate refuses after authentication, saying so', async () => {
    const logs: string[] = [];
    const l = await listen('the toolstack does not implement live migration', logs);
    const c = await connectMigration('127.0.0.1', l.port, TOKEN, NO_FLAGS);
    expect(c.ok).toBe(false);
    expect(c.ok ? '' : c.error).toMatch(/cannot receive migrations/);
  });

  it('connecting where nothing listens fails with the errno', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const c = await connectMigration('127.0.0.1', port, TOKEN, NO_FLAGS);
    expect(c.ok ? '' : c.error).toMatch(/ECONNREFUSED/);
  });
});
