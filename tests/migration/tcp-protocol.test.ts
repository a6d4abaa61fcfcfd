import { describe, expect, it } from 'vitest';
import {
  encodeFrame,
  FrameDecoder,
  parseClientMessage,
  parseDaemonMessage,
} from '../../dom0/host/control-protocol.js';
import type { MigrateRequest } from '../../dom0/toolstack/api.js';

const REQ: MigrateRequest = {
  domid: 3,
  address: '127.0.0.1',
  port: 4000,
  token: 't',
  target: 'b',
  leavePaused: false,
  noMonitor: false,
  debug: false,
};

function roundTrip(m: Parameters<typeof encodeFrame>[0]): unknown {
  const frames = new FrameDecoder().push(encodeFrame(m));
  expect(frames).toHaveLength(1);
  const f = frames[0];
  if (!f?.ok) throw new Error('undecodable');
  return f.value;
}

describe('control protocol: the migrate request and its events', () => {
  it('a migrate request survives the socket and parses back to the same request', () => {
    expect(parseClientMessage(roundTrip({ t: 'migrate', id: 9, req: REQ }))).toEqual({
      ok: true,
      value: { t: 'migrate', id: 9, req: REQ },
    });
  });

  it('refuses a migrate request with a port out of range, a missing token or a bad domid', () => {
    for (const bad of [
      { ...REQ, port: 0 },
      { ...REQ, port: 65536 },
      { ...REQ, token: undefined },
      { ...REQ, domid: -1 },
    ]) {
      expect(parseClientMessage({ t: 'migrate', id: 1, req: bad })).toEqual({
        ok: false,
        error: 'bad arguments for migrate',
      });
    }
  });

  it('migration events parse back; a progress figure with a bad phase is refused', () => {
    const progress = {
      phase: 'precopy' as const,
      round: 2,
      pagesSent: 10,
      pagesTotal: 20,
      dirtyPages: 1,
      bytesOnWire: 40960,
    };
    expect(
      parseDaemonMessage(
        roundTrip({ t: 'migrate-event', id: 4, event: { kind: 'progress', progress } }),
      ),
    ).toEqual({
      ok: true,
      value: { t: 'migrate-event', id: 4, event: { kind: 'progress', progress } },
    });
    expect(
      parseDaemonMessage({ t: 'migrate-event', id: 4, event: { kind: 'message', text: 'x' } }),
    ).toEqual({
      ok: true,
      value: { t: 'migrate-event', id: 4, event: { kind: 'message', text: 'x' } },
    });
    expect(
      parseDaemonMessage({
        t: 'migrate-event',
        id: 4,
        event: { kind: 'progress', progress: { ...progress, phase: 'teleport' } },
      }),
    ).toEqual({ ok: false, error: 'malformed migration event' });
  });
});
