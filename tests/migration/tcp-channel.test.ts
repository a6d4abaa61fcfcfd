import { afterEach, describe, expect, it } from 'vitest';
import { TcpChannel } from '../../dom0/migration/tcp-channel.js';
import { socketPair, testClock, until, waitFor } from './tcp-support.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function pair(pauseServer = false) {
  const p = await socketPair(pauseServer);
  cleanups.push(p.close);
  const tc = testClock();
  return { ...p, tc };
}

function pattern(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

describe('TcpChannel over a loopback socket', () => {
  it('delivers every byte in order, small and large writes mixed, and counts bytesSent', async () => {
    const { client, server, tc } = await pair();
    const a = new TcpChannel(client, { clock: tc.clock, kick: tc.kick });
    const b = new TcpChannel(server, { clock: tc.clock, kick: tc.kick });
    const got: Uint8Array[] = [];
    let outsideEvent = 0;
    b.onData((c) => {
      if (!tc.inEvent()) outsideEvent++;
      got.push(c);
    });
    const sizes = [16, 4096 * 1024, 8, 1, 300_000, 24, 4096 * 256 + 16, 3];
    const chunks = sizes.map((n, i) => pattern(n, i));
    for (const c of chunks) await waitFor(a.send(c));
    const total = sizes.reduce((x, y) => x + y, 0);
    expect(a.bytesSent).toBe(total);
    await until(() => got.reduce((n, c) => n + c.length, 0) >= total);
    expect(Buffer.concat(got).equals(Buffer.concat(chunks))).toBe(true);
    expect(outsideEvent).toBe(0);
  });

  it('holds a sender until the peer reads (backpressure), then resumes it through the clock', async () => {
    const { client, server, tc } = await pair(true);
    const a = new TcpChannel(client, { clock: tc.clock, kick: tc.kick });
    let resumed = 0;
    let resumedInEvent = true;
    const big = pattern(64 * 1024 * 1024, 3);
    a.send(big)(() => {
      resumed++;
      resumedInEvent &&= tc.inEvent();
    });
    // The server end reads nothing: the kernel buffers fill and the write cannot complete.
    await new Promise((r) => setTimeout(r, 150));
    expect(resumed).toBe(0);
    let read = 0;
    server.on('data', (c: Buffer) => (read += c.length));
    server.resume();
    await until(() => resumed === 1, 10_000);
    expect(resumedInEvent).toBe(true);
    await until(() => read === big.length, 10_000);
  });

  it('recycles a large buffer once the kernel has it, never a small one or one still queued', async () => {
    const { client, server, tc } = await pair();
    const a = new TcpChannel(client, { clock: tc.clock, kick: tc.kick });
    const b = new TcpChannel(server, { clock: tc.clock, kick: tc.kick });
    let got = 0;
    b.onData((c) => (got += c.length));
    const big = pattern(4 << 20, 1);
    const small = pattern(4096, 2);
    expect(a.recycled(big.length)).toBeNull();
    await waitFor(a.send(big));
    await waitFor(a.send(small));
    await until(() => got === big.length + small.length);
    expect(a.recycled(small.length)).toBeNull();
    expect(a.recycled(big.length)).toBe(big);
    expect(a.recycled(big.length)).toBeNull(); // handed out once
  });

  it('a sender running ahead waits while 4 large writes are unreported, then gets those buffers back', async () => {
    const { client, server, tc } = await pair();
    const a = new TcpChannel(client, { clock: tc.clock, kick: tc.kick });
    const b = new TcpChannel(server, { clock: tc.clock, kick: tc.kick });
    let got = 0;
    b.onData((c) => (got += c.length));
    const bufs = [0, 1, 2, 3].map((i) => pattern(1 << 20, i));
    // Written back to back in one turn: even a write the kernel took at once reports on a later
    // tick, so its buffer is not free yet and the fourth write makes the sender wait.
    const resumedAtOnce: boolean[] = [];
    let resumed = 0;
    for (const buf of bufs) {
      let atOnce = true;
      let done = false;
      a.send(buf)(() => {
        done = atOnce;
        resumed++;
      });
      atOnce = false;
      resumedAtOnce.push(done);
    }
    expect(resumedAtOnce).toEqual([true, true, true, false]);
    await until(() => resumed === 4);
    await until(() => got === 4 << 20);
    const back = [0, 1, 2, 3].map(() => a.recycled(1 << 20));
    expect(new Set(back)).toEqual(new Set(bufs));
  });

  it('an orderly close reaches the peer as onClose(null) after the data before it', async () => {
    const { client, server, tc } = await pair();
    const a = new TcpChannel(client, { clock: tc.clock, kick: tc.kick });
    const b = new TcpChannel(server, { clock: tc.clock, kick: tc.kick });
    const seen: string[] = [];
    b.onData((c) => seen.push(`data ${c.length}`));
    b.onClose((r) => seen.push(`close ${String(r)} inEvent=${tc.inEvent()}`));
    let localClose = 0;
    a.onClose(() => localClose++);
    await waitFor(a.send(pattern(1000, 1)));
    a.close();
    a.close();
    expect(a.closed).toBe(true);
    await until(() => seen.some((s) => s.startsWith('close')));
    expect(seen.at(-1)).toBe('close null inEvent=true');
    expect(seen.slice(0, -1).join()).toMatch(/^data/);
    expect(b.closed).toBe(true);
    // A send after the close resumes at once and drops the data.
    await waitFor(a.send(pattern(10, 2)));
    expect(a.bytesSent).toBe(1000);
    await new Promise((r) => setTimeout(r, 20));
    expect(localClose).toBe(0);
  });

  it('abort: this end sees its reason; the peer gets the bytes sent before it, then the close', async () => {
    const { client, server, tc } = await pair();
    const a = new TcpChannel(client, { clock: tc.clock, kick: tc.kick });
    const b = new TcpChannel(server, { clock: tc.clock, kick: tc.kick });
    let aReason: string | null | undefined;
    let bReason: string | null | undefined;
    let bText = '';
    a.onClose((r) => (aReason = r));
    b.onClose((r) => (bReason = r));
    b.onData((c) => (bText += Buffer.from(c).toString()));
    // A small write (corked until the end of the turn) and the abort in the same turn.
    a.send(new TextEncoder().encode('reservation failed: no memory\0'))(() => undefined);
    a.abort('fault injected at round 2');
    expect(a.closed).toBe(true);
    await until(() => aReason !== undefined && bReason !== undefined);
    expect(aReason).toBe('fault injected at round 2');
    expect(bText).toBe('reservation failed: no memory\0');
    expect(bReason).toBeNull();
    expect(b.closed).toBe(true);
    // Data from the peer after the abort is not delivered.
    let late = 0;
    a.onData(() => late++);
    server.write('late');
    await new Promise((r) => setTimeout(r, 30));
    expect(late).toBe(0);
  });

  it('data read before the channel existed (after the auth message) comes first', async () => {
    const { client, server, tc } = await pair();
    const b = new TcpChannel(server, {
      clock: tc.clock,
      kick: tc.kick,
      initial: new TextEncoder().encode('xl migration'),
    });
    let text = '';
    b.onData((c) => (text += Buffer.from(c).toString()));
    client.write(' receiver ready');
    await until(() => text.length === 'xl migration receiver ready'.length);
    expect(text).toBe('xl migration receiver ready');
  });

  it('taps see the outgoing bytes and the incoming ones inside the delivering event', async () => {
    const { client, server, tc } = await pair();
    const out: number[] = [];
    const inc: boolean[] = [];
    const a = new TcpChannel(client, {
      clock: tc.clock,
      kick: tc.kick,
      tap: { outgoing: (b) => out.push(b.length), incoming: () => inc.push(tc.inEvent()) },
    });
    await waitFor(a.send(pattern(5, 1)));
    server.write('hello');
    await until(() => inc.length > 0);
    expect(out).toEqual([5]);
    expect(inc.every(Boolean)).toBe(true);
  });
});
