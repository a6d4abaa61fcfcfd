import { describe, expect, it } from 'vitest';
import {
  XS_DIRECTORY_PART,
  XS_ERROR,
  XS_READ,
  XS_TYPE_COUNT,
  XS_TYPE_NAMES,
  XS_WATCH_EVENT,
  XS_WRITE,
  XSD_ERRORS,
  XENSTORE_PAYLOAD_MAX,
  decodeXsHeader,
  decodeXsMessage,
  encodeXsMessage,
  splitXsStrings,
  xsStrings,
} from '../../hypercalls/io/xs-wire.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('xs_wire.h', () => {
  it('message type numbers follow xs_wire.h (4.17: 0..22)', () => {
    expect([XS_READ, XS_WRITE, XS_WATCH_EVENT, XS_ERROR, XS_DIRECTORY_PART]).toEqual([
      2, 11, 15, 16, 22,
    ]);
    expect(XS_TYPE_COUNT).toBe(23);
    expect(XS_TYPE_NAMES).toHaveLength(23);
    expect(XS_TYPE_NAMES[21]).toBe('RESET_WATCHES');
  });

  it('xsd_errors[] is in xs_wire.h order', () => {
    expect(XSD_ERRORS.join(',')).toBe(
      'EINVAL,EACCES,EEXIST,EISDIR,ENOENT,ENOMEM,ENOSPC,EIO,ENOTEMPTY,ENOSYS,EROFS,EBUSY,EAGAIN,EISCONN,E2BIG,EPERM',
    );
    expect(XENSTORE_PAYLOAD_MAX).toBe(4096);
  });

  it('a READ request for /a encodes to the golden bytes (little-endian header)', () => {
    const b = encodeXsMessage({
      type: XS_READ,
      reqId: 0x01020304,
      txId: 5,
      payload: xsStrings('/a'),
    });
    expect(hex(b)).toBe('02000000' + '04030201' + '05000000' + '03000000' + '2f6100');
  });

  it('a WRITE request carries the value without a NUL', () => {
    const payload = new Uint8Array([...xsStrings('/k'), 0x76]);
    const b = encodeXsMessage({ type: XS_WRITE, reqId: 0, txId: 0, payload });
    expect(hex(b)).toBe('0b000000' + '00000000' + '00000000' + '04000000' + '2f6b0076');
  });

  it('an ENOENT error reply encodes to the golden bytes', () => {
    const b = encodeXsMessage({ type: XS_ERROR, reqId: 9, txId: 0, payload: xsStrings('ENOENT') });
    expect(hex(b)).toBe('10000000' + '09000000' + '00000000' + '07000000' + '454e4f454e5400');
  });

  it('decoding reports short input and oversized payloads instead of throwing', () => {
    const b = encodeXsMessage({ type: XS_READ, reqId: 1, txId: 0, payload: xsStrings('/a') });
    expect(decodeXsMessage(b.subarray(0, 10))).toEqual({ ok: false, error: 'short' });
    expect(decodeXsMessage(b.subarray(0, 18))).toEqual({ ok: false, error: 'short' });
    const r = decodeXsMessage(b);
    expect(r.ok && r.size).toBe(19);
    const big = new Uint8Array(16);
    new DataView(big.buffer).setUint32(12, 4097, true);
    expect(decodeXsMessage(big)).toEqual({ ok: false, error: 'too-long' });
    expect(decodeXsHeader(new Uint8Array(3))).toBeNull();
  });

  it('decodes a message at an offset inside a larger buffer', () => {
    const one = encodeXsMessage({ type: XS_READ, reqId: 1, txId: 2, payload: xsStrings('/x') });
    const two = new Uint8Array([0xaa, ...one]);
    const r = decodeXsMessage(two, 1);
    expect(r.ok && r.message.txId).toBe(2);
    expect(r.ok && splitXsStrings(r.message.payload)).toEqual(['/x']);
  });
});
