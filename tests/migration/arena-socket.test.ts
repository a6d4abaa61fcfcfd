import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adoptAccepted } from '../../dom0/migration/arena-socket.js';
import { RecvArena } from '../../dom0/migration/recv-arena.js';
import { StreamReader } from '../../dom0/migration/stream-reader.js';
import {
  encodeEnd,
  encodePageData,
  encodeSharedInfo,
  encodeStreamHeader,
  encodeVcpu,
} from '../../dom0/migration/stream-writer.js';
import { TcpChannel } from '../../dom0/migration/tcp-channel.js';
import type { MigrationRecord } from '../../dom0/migration/types.js';
import { concat, header, pageOf, VCPU } from './stream-fixtures.js';
import { socketPair, testClock, until } from './tcp-support.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Reads of at most 3001 bytes into 64 KiB slabs: records and pages split anywhere, slabs reused. */
const SPLITTING = { slabBytes: 64 * 1024, readBytes: 3001, minReadBytes: 1024, keepSlabs: 2 };

const PFNS = [0, 1, 2, 3, 4, 5, 6, 7];

/** Pre-copy-like rounds over the same pfns (later rounds overwrite), some pages zero. */
function stream(rounds: number): { bytes: Uint8Array; image: Map<number, Uint8Array> } {
  const image = new Map<number, Uint8Array>();
  const parts: Uint8Array[] = [...encodeStreamHeader(header(PFNS))];
  for (let r = 0; r < rounds; r++) {
    const batch = PFNS.filter((p) => (p + r) % 3 !== 0);
    parts.push(
      encodePageData(batch, (i, dst) => {
        const pfn = batch[i] as number;
        const page = (pfn + r) % 4 === 0 ? new Uint8Array(4096) : pageOf(pfn, r);
        dst.set(page);
        image.set(pfn, page);
      }),
    );
  }
  parts.push(encodeSharedInfo(pageOf(999)), encodeVcpu(VCPU), ...encodeEnd());
  return { bytes: concat(parts), image };
}

async function arenaChannel() {
  const p = await socketPair(true);
  cleanups.push(p.close);
  const tc = testClock();
  const arena = new RecvArena(SPLITTING);
  const adopted = adoptAccepted(p.server, arena, () => {
    throw new Error('read before the channel took the socket');
  });
  expect(adopted.reads).not.toBeNull();
  const ch = new TcpChannel(adopted.socket, {
    clock: tc.clock,
    kick: tc.kick,
    reads: adopted.reads,
  });
  cleanups.push(() => adopted.socket.destroy());
  return { ...p, ch, arena };
}

/** Writes `bytes` in uneven pieces, yielding to the event loop now and then. */
async function dribble(sock: Socket, bytes: Uint8Array): Promise<void> {
  let off = 0;
  for (let i = 0; off < bytes.length; i++) {
    const n = Math.min(bytes.length - off, 1 + ((i * 7919) % 20_000));
    sock.write(bytes.subarray(off, off + n));
    off += n;
    if (i % 5 === 0) await new Promise((r) => setImmediate(r));
  }
}

describe('a migration target reading into a reused arena (arena-socket.ts)', () => {
  it('a stream arriving in reads that split records anywhere rebuilds the guest byte for byte', async () => {
    const { client, ch, arena } = await arenaChannel();
    const { bytes, image } = stream(60);
    const reader = new StreamReader();
    const got = new Map<number, Uint8Array>();
    // Records wait as views of the arena for a few deliveries before they are handled and the
    // channel released (as the receiver's queue may): memory reused too early would show.
    const pending: MigrationRecord[] = [];
    let deliveries = 0;
    let ended = false;
    let error = '';
    ch.onData((c) => {
      const out = reader.push(c);
      if ('error' in out) error = out.error;
      else pending.push(...out.records);
      if (++deliveries % 4 !== 0) return;
      for (const r of pending.splice(0)) {
        if (r.type === 'pages')
          r.pfns.forEach((pfn, i) => got.set(pfn, r.data.slice(i * 4096, (i + 1) * 4096)));
        if (r.type === 'end') ended = true;
      }
      ch.release();
    });
    await dribble(client, bytes);
    client.end();
    let closed: string | null | undefined;
    ch.onClose((r) => (closed = r));
    await until(() => closed !== undefined, 10_000);
    for (const r of pending.splice(0)) {
      if (r.type === 'pages')
        r.pfns.forEach((pfn, i) => got.set(pfn, r.data.slice(i * 4096, (i + 1) * 4096)));
      if (r.type === 'end') ended = true;
    }
    expect(error).toBe('');
    expect(ended).toBe(true);
    expect(closed).toBeNull();
    expect(deliveries).toBeGreaterThan(bytes.length / 3001 - 1);
    for (const pfn of image.keys())
      expect(Buffer.from(got.get(pfn) ?? []).equals(Buffer.from(image.get(pfn) ?? []))).toBe(true);
    // About 2 MiB went through a handful of 64 KiB slabs.
    expect(arena.slabsAllocated).toBeLessThan(8);
  });

  it('a peer closing mid-stream: the bytes before the close arrive, then onClose, and the reader sees a truncated stream', async () => {
    const { client, ch } = await arenaChannel();
    const { bytes } = stream(20);
    const cut = Math.floor(bytes.length / 2) + 123;
    const reader = new StreamReader();
    const copy: Uint8Array[] = [];
    let closedAfter = -1;
    ch.onData((c) => {
      copy.push(c.slice());
      reader.push(c);
      ch.release();
    });
    ch.onClose(() => (closedAfter = copy.reduce((n, c) => n + c.length, 0)));
    await dribble(client, bytes.subarray(0, cut));
    client.end();
    await until(() => closedAfter >= 0, 10_000);
    expect(closedAfter).toBe(cut);
    expect(Buffer.from(concat(copy)).equals(Buffer.from(bytes.subarray(0, cut)))).toBe(true);
    const fin = reader.finish();
    expect('error' in fin && fin.error).toMatch(/truncated/);
  });

  it('a socket that cannot be adopted (already gone) is handed back to be read through data events', async () => {
    const p = await socketPair(true);
    cleanups.push(p.close);
    p.server.destroy();
    const r = adoptAccepted(p.server, new RecvArena(SPLITTING), () => undefined);
    expect(r.reads).toBeNull();
    expect(r.socket).toBe(p.server);
  });
});
