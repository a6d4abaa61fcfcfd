// Stand-in toolstack halves for the TCP transport tests: a sender and a receiver that speak the
// handshake of xl_migrate.c (reference 10.4) over a MigrationChannel, moving a fixed payload.

import type { MigrationHost } from '../../dom0/host/migration-host.js';
import {
  PERMISSION_TO_GO,
  RECEIVER_BANNER,
  RECEIVER_READY,
  reservationMessage,
  UNPAUSE_REPORT,
} from '../../dom0/migration/handshake.js';
import type { MigrationChannel, MigrationStats } from '../../dom0/migration/types.js';
import { ToolstackError } from '../../dom0/toolstack/api.js';
import { XL_SAVEFILE_MAGIC } from '../../hypercalls/save-stream.js';
import { testClock } from './tcp-support.js';

/** Reads exact byte counts from a channel, as promises. */
function reader(ch: MigrationChannel): (n: number) => Promise<Uint8Array> {
  let buf = Buffer.alloc(0);
  let want: { n: number; resolve: (b: Uint8Array) => void } | undefined;
  const check = (): void => {
    if (want && buf.length >= want.n) {
      const w = want;
      want = undefined;
      const out = buf.subarray(0, w.n);
      buf = buf.subarray(w.n);
      w.resolve(out);
    }
  };
  ch.onData((c) => {
    buf = Buffer.concat([buf, c]);
    check();
  });
  return (n) =>
    new Promise((resolve) => {
      want = { n, resolve };
      check();
    });
}

const send = (ch: MigrationChannel, b: Uint8Array): Promise<void> =>
  new Promise((r) => ch.send(b)(() => r()));

function xlHeader(): Uint8Array {
  const h = Buffer.alloc(48);
  h.write(XL_SAVEFILE_MAGIC, 0, 'latin1');
  h.writeUInt32LE(0x01020304, 32);
  h.writeUInt32LE(3, 36);
  h.writeUInt32LE(0, 40);
  h.writeUInt32LE(8, 44);
  return h;
}

const RESERVED = reservationMessage({ ok: true, domid: 5 });
export const PAYLOAD = 3 * 1024 * 1024;
const STATS: MigrationStats = {
  policy: 'xen',
  rounds: [],
  totalNs: 1,
  downtimeNs: 1,
  bytesOnWire: PAYLOAD + 48,
  pagesSent: 768,
  targetDomid: 5,
};

/** A sender that runs the handshake (and fails as the toolstack would when the target refuses). */
export function senderHost(): MigrationHost {
  const tc = testClock();
  return {
    clock: tc.clock,
    kick: tc.kick,
    receive: () => Promise.reject(new Error('no')),
    send: async (_domid, ch, _opts, progress) => {
      const read = reader(ch);
      await read(RECEIVER_BANNER.length);
      await send(ch, xlHeader());
      const answer: number[] = [];
      for (let b = (await read(1))[0]; b !== 0; b = (await read(1))[0]) answer.push(b ?? 0);
      if (!Buffer.from([...answer, 0]).equals(Buffer.from(RESERVED)))
        throw new ToolstackError('NOMEM', 'migration sender: the target refused the domain');
      progress({
        phase: 'precopy',
        round: 1,
        pagesSent: 768,
        pagesTotal: 768,
        dirtyPages: 0,
        bytesOnWire: 48,
      });
      await send(ch, new Uint8Array(PAYLOAD));
      await read(RECEIVER_READY.length);
      await send(ch, PERMISSION_TO_GO);
      const report = await read(UNPAUSE_REPORT.length + 1);
      if (report[UNPAUSE_REPORT.length] === 0) return STATS;
      await read(PERMISSION_TO_GO.length);
      throw new ToolstackError('FAIL', '');
    },
  };
}

/**
 * A receiver that takes the stream and reports `status` after the permission to go, or refuses
 * the domain at reservation with `refuse`.
 */
export function receiverHost(status: number, refuse?: string): MigrationHost {
  const tc = testClock();
  return {
    clock: tc.clock,
    kick: tc.kick,
    send: () => Promise.reject(new Error('no')),
    receive: async (ch) => {
      const read = reader(ch);
      await send(ch, RECEIVER_BANNER);
      await read(48);
      if (refuse !== undefined) {
        await send(ch, reservationMessage({ ok: false, why: refuse }));
        throw new Error(refuse);
      }
      await send(ch, RESERVED);
      await read(PAYLOAD);
      await send(ch, RECEIVER_READY);
      await read(PERMISSION_TO_GO.length);
      await send(ch, Buffer.concat([UNPAUSE_REPORT, Buffer.from([status])]));
      if (status !== 0) await send(ch, PERMISSION_TO_GO);
      return { domid: 5, name: 'guest' };
    },
  };
}
