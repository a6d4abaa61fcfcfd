import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  encodeFrame,
  FrameDecoder,
  MAX_FRAME_BYTES,
  parseClientMessage,
  parseDaemonMessage,
} from '../../dom0/host/control-protocol.js';

const packr = new Packr({ useRecords: false });
const rawFrame = (value: unknown): Buffer => {
  const body = packr.pack(value);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
};

describe('control socket framing', () => {
  it('a frame is a 32-bit big-endian length then the msgpack body', () => {
    const f = encodeFrame({ t: 'result', id: 7, value: null });
    expect(f.readUInt32BE(0)).toBe(f.length - 4);
    expect(new FrameDecoder().push(f)).toEqual([
      { ok: true, value: { t: 'result', id: 7, value: null } },
    ]);
  });

  it('reassembles frames split across reads, byte by byte', () => {
    const bytes = Buffer.concat([
      encodeFrame({ t: 'call', id: 1, op: 'listDomains', args: [] }),
      encodeFrame({ t: 'call', id: 2, op: 'pause', args: [3] }),
    ]);
    const d = new FrameDecoder();
    const got = [];
    for (const b of bytes) got.push(...d.push(Buffer.from([b])));
    expect(got.map((g) => (g.ok ? (g.value as { id: number }).id : -1))).toEqual([1, 2]);
  });

  it('an oversized length marks the stream as garbage and stops decoding', () => {
    const d = new FrameDecoder();
    const head = Buffer.alloc(4);
    head.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    const out = d.push(head);
    expect(out).toHaveLength(1);
    expect(out[0]?.ok).toBe(false);
    expect(d.isBroken).toBe(true);
    expect(d.push(encodeFrame({ t: 'detach', id: 1 }))).toEqual([]);
  });

  it('an undecodable body is reported and the next frame still decodes', () => {
    const d = new FrameDecoder();
    const bad = Buffer.from([0, 0, 0, 2, 0x92, 0x01]); // an array of two with one element
    const out = d.push(Buffer.concat([bad, encodeFrame({ t: 'detach', id: 4 })]));
    expect(out[0]?.ok).toBe(false);
    expect(out[1]).toEqual({ ok: true, value: { t: 'detach', id: 4 } });
  });
});

describe('request validation (data from a socket never throws)', () => {
  it('accepts a well-formed call and fills absent optional arguments', () => {
    expect(parseClientMessage({ t: 'call', id: 3, op: 'vcpuList', args: [] })).toEqual({
      ok: true,
      value: { t: 'call', id: 3, op: 'vcpuList', args: [undefined] },
    });
  });

  it('rejects unknown ops, bad ids and bad argument types', () => {
    expect(parseClientMessage({ t: 'call', id: 1, op: 'formatDisk', args: [] }).ok).toBe(false);
    expect(parseClientMessage({ t: 'call', id: -1, op: 'info', args: [] }).ok).toBe(false);
    expect(parseClientMessage({ t: 'call', id: 1, op: 'pause', args: ['3'] }).ok).toBe(false);
    expect(parseClientMessage({ t: 'call', id: 1, op: 'pause', args: [70000] }).ok).toBe(false);
    expect(parseClientMessage({ t: 'call', id: 1, op: 'pause', args: [1, 2] }).ok).toBe(false);
    expect(
      parseClientMessage({ t: 'call', id: 1, op: 'shutdown', args: [1, 'halt', false] }).ok,
    ).toBe(false);
    expect(
      parseClientMessage({ t: 'call', id: 1, op: 'create', args: [{ configText: 1 }] }).ok,
    ).toBe(false);
    expect(parseClientMessage({ t: 'call', id: 1, op: 'toString', args: [] }).ok).toBe(false);
    expect(parseClientMessage('hello').ok).toBe(false);
    expect(parseClientMessage(null).ok).toBe(false);
  });

  it('strips null fields of records so optional fields are absent', () => {
    const r = parseClientMessage({
      t: 'call',
      id: 1,
      op: 'schedCreditDomainSet',
      args: [3, { weight: 512, cap: null }],
    });
    expect(r).toEqual({
      ok: true,
      value: { t: 'call', id: 1, op: 'schedCreditDomainSet', args: [3, { weight: 512 }] },
    });
  });

  it('validates daemon replies too', () => {
    expect(
      parseDaemonMessage({ t: 'error', id: 1, error: { code: 'DOMAIN_NOTFOUND', message: 'm' } })
        .ok,
    ).toBe(true);
    expect(
      parseDaemonMessage({ t: 'error', id: 1, error: { code: 'NOPE', message: 'm' } }).ok,
    ).toBe(false);
    expect(parseDaemonMessage({ t: 'progress', id: 1, report: { phase: 'x' } }).ok).toBe(false);
    expect(parseDaemonMessage(rawFrame(1)).ok).toBe(false);
  });
});
