// Golden request and reply bytes of the xs_wire protocol over the daemon's Unix socket.

import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenXenstored, type XenstoredServer } from '../../dom0/xenstored/socket-server.js';

let srv: XenstoredServer;
let dir: string;
let sock: Socket;
let acc = Buffer.alloc(0);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xensim-xsgold-'));
  srv = await listenXenstored(join(dir, 'socket'));
  sock = await new Promise<Socket>((res) => {
    const s = connect(srv.path, () => res(s));
  });
  sock.on('data', (d: Buffer) => (acc = Buffer.concat([acc, d])));
});
afterAll(async () => {
  sock.destroy();
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends hex bytes and waits until `replyBytes` bytes came back; returns them as hex. */
async function exchange(hex: string, replyBytes: number): Promise<string> {
  acc = Buffer.alloc(0);
  sock.write(Buffer.from(hex.replaceAll(' ', ''), 'hex'));
  for (let i = 0; i < 200 && acc.length < replyBytes; i++)
    await new Promise((r) => setTimeout(r, 5));
  return acc.toString('hex');
}

describe('xs_wire golden bytes over the socket', () => {
  it('WRITE /g = "v" answers OK with req_id echoed', async () => {
    // type 11, req_id 0x2a, tx 0, len 4: "/g\0v"
    expect(await exchange('0b000000 2a000000 00000000 04000000 2f670076', 19)).toBe(
      '0b000000' + '2a000000' + '00000000' + '03000000' + '4f4b00',
    );
  });

  it('READ /g answers the raw value without NUL', async () => {
    expect(await exchange('02000000 01000000 00000000 03000000 2f6700', 17)).toBe(
      '02000000' + '01000000' + '00000000' + '01000000' + '76',
    );
  });

  it('READ of a missing node answers ERROR "ENOENT\\0" with req_id and tx_id copied', async () => {
    expect(await exchange('02000000 05000000 00000000 03000000 2f7a00', 23)).toBe(
      '10000000' + '05000000' + '00000000' + '07000000' + '454e4f454e5400',
    );
  });

  it('TRANSACTION_START answers "1\\0"; a READ in it echoes tx_id', async () => {
    expect(await exchange('06000000 09000000 00000000 01000000 00', 18)).toBe(
      '06000000' + '09000000' + '00000000' + '02000000' + '3100',
    );
    expect(await exchange('02000000 0a000000 01000000 03000000 2f6700', 17)).toBe(
      '02000000' + '0a000000' + '01000000' + '01000000' + '76',
    );
  });

  it('WATCH answers OK then a WATCH_EVENT with req_id and tx_id 0', async () => {
    // "/g\0tk\0"
    expect(await exchange('04000000 0b000000 00000000 06000000 2f6700746b00', 19 + 22)).toBe(
      '04000000' +
        '0b000000' +
        '00000000' +
        '03000000' +
        '4f4b00' +
        '0f000000' +
        '00000000' +
        '00000000' +
        '06000000' +
        '2f6700746b00',
    );
  });

  it('an unknown type answers ENOSYS', async () => {
    expect(await exchange('63000000 0c000000 00000000 00000000', 23)).toBe(
      '10000000' + '0c000000' + '00000000' + '07000000' + '454e4f53595300',
    );
  });
});
