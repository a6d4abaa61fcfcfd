// Bad input: random, truncated, oversized and garbage messages must give an error reply or drop
// only the offending connection; the daemon and every other connection carry on.

import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  XS_ERROR,
  XS_READ,
  XS_WRITE,
  encodeXsMessage,
  xsStrings,
} from '../../hypercalls/io/xs-wire.js';
import { XsConnection } from '../../dom0/xenstored/connection.js';
import { listenXenstored, type XenstoredServer } from '../../dom0/xenstored/socket-server.js';
import { ownerOf } from '../../dom0/xenstored/perms.js';
import { Xenstored } from '../../dom0/xenstored/xenstored.js';

const PATHS = [
  '/a',
  '/a/b',
  '/a/b/c',
  'data',
  'data/x',
  '/local/domain/1/data/y',
  '@releaseDomain',
  '/x//y',
  '',
  '/',
];

const arbPayload = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc
    .array(fc.constantFrom(...PATHS, 'T', 'F', 'n0', 'r1', 'b2', '0', '1', 'tok', '4096'), {
      maxLength: 4,
    })
    .map((parts) => Buffer.from(parts.join('\0') + '\0', 'latin1')),
);

describe('xenstored core under random requests', () => {
  it('never throws, always replies with the request ids, and keeps per-owner node counts exact', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            who: fc.integer({ min: 0, max: 2 }),
            type: fc.integer({ min: 0, max: 25 }),
            txId: fc.constantFrom(0, 0, 1, 2, 99),
            payload: arbPayload,
          }),
          { maxLength: 60 },
        ),
        (ops) => {
          const xs = new Xenstored({ nodes: 20 });
          const conns = [xs.openSocketConnection(), XsConnection.guest(1), XsConnection.guest(2)];
          xs.domainIntroduced(1, conns[1] ?? null);
          xs.domainIntroduced(2, conns[2] ?? null);
          for (const op of ops) {
            const c = conns[op.who] as XsConnection;
            const r = xs.handle(c, {
              type: op.type,
              reqId: 42,
              txId: op.txId,
              payload: op.payload,
            });
            expect(r.reply.reqId).toBe(42);
            expect(r.reply.payload.length).toBeLessThanOrEqual(4096);
          }
          const counts = new Map<number, number>();
          for (const n of xs.tree.nodes.values()) {
            const o = ownerOf(n.perms);
            counts.set(o, (counts.get(o) ?? 0) + 1);
          }
          expect(new Map([...xs.tree.ownerCounts].sort())).toEqual(new Map([...counts].sort()));
          for (const [path, n] of xs.tree.nodes)
            for (const c of n.children ?? [])
              expect(xs.tree.get(path === '/' ? `/${c}` : `${path}/${c}`)).toBeDefined();
        },
      ),
      { numRuns: 300, seed: 20261122 },
    );
  });
});

describe('xenstored socket under garbage', () => {
  let srv: XenstoredServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xensim-xsfuzz-'));
    srv = await listenXenstored(join(dir, 'socket'));
  });
  afterAll(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function open(): Promise<Socket> {
    return new Promise((res, rej) => {
      const s = connect(srv.path, () => res(s));
      s.on('error', rej);
    });
  }

  /** Sends one READ on a fresh connection and returns the reply bytes. */
  async function probe(): Promise<Buffer> {
    const s = await open();
    const got = new Promise<Buffer>((res) => {
      let acc = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        acc = Buffer.concat([acc, d]);
        if (acc.length >= 16 && acc.length >= 16 + acc.readUInt32LE(12)) res(acc);
      });
    });
    s.write(encodeXsMessage({ type: XS_READ, reqId: 3, txId: 0, payload: xsStrings('/fuzz/ok') }));
    const b = await got;
    s.destroy();
    return b;
  }

  it('thousands of random messages from several connections leave the daemon serving others', async () => {
    const first = await open();
    first.write(
      encodeXsMessage({
        type: XS_WRITE,
        reqId: 1,
        txId: 0,
        payload: Buffer.from('/fuzz/ok\0alive'),
      }),
    );
    const rng = fc.sample(
      fc.record({
        type: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 0xffffffff })),
        txId: fc.constantFrom(0, 1, 0xffffffff),
        payload: arbPayload,
        lie: fc.integer({ min: -3, max: 3 }),
      }),
      { numRuns: 3000, seed: 7 },
    );
    const socks = await Promise.all([open(), open(), open(), open()]);
    let i = 0;
    for (const m of rng) {
      const s = socks[i++ % socks.length] as Socket;
      const b = Buffer.from(
        encodeXsMessage({ type: m.type, reqId: i, txId: m.txId, payload: m.payload }),
      );
      // Some headers lie about the length (truncated messages merge with the next one).
      if (m.lie !== 0) b.writeUInt32LE(Math.max(0, m.payload.length + m.lie), 12);
      if (!s.destroyed) s.write(b);
    }
    // One connection announces an oversized payload: C xenstored drops it.
    const bad = await open();
    const closed = new Promise<void>((res) => bad.on('close', () => res()));
    const h = Buffer.alloc(16);
    h.writeUInt32LE(XS_READ, 0);
    h.writeUInt32LE(5000, 12);
    bad.write(h);
    await closed;
    // Pure garbage bytes.
    const g = await open();
    g.write(Buffer.from(Array.from({ length: 20000 }, (_, k) => (k * 131 + 7) & 0xff)));
    await new Promise((r) => setTimeout(r, 100));
    const reply = await probe();
    expect(reply.readUInt32LE(0)).toBe(XS_READ);
    expect(reply.readUInt32LE(4)).toBe(3);
    expect(reply.subarray(16).toString()).toBe('alive');
    for (const s of [first, g, ...socks]) s.destroy();
  });

  it('a request split across many writes is reassembled and its ids echoed', async () => {
    const s = await open();
    const got = new Promise<Buffer>((res) => s.once('data', (d: Buffer) => res(d)));
    const msg = encodeXsMessage({
      type: XS_READ,
      reqId: 77,
      txId: 0,
      payload: xsStrings('/nothing/here'),
    });
    for (const b of msg) {
      s.write(Uint8Array.of(b));
      await new Promise((r) => setImmediate(r));
    }
    const reply = await got;
    expect(reply.readUInt32LE(0)).toBe(XS_ERROR);
    expect(reply.readUInt32LE(4)).toBe(77);
    expect(reply.subarray(16).toString('latin1')).toBe('ENOENT\0');
    s.destroy();
  });
});
