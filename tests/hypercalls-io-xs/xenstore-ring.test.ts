import { describe, expect, it } from 'vitest';
import {
  MASK_XENSTORE_IDX,
  XENSTORE_RING_SIZE,
  XS_RING_CONNECTION_OFFSET,
  XS_RING_ERROR_OFFSET,
  XS_RING_EVTCHN_PORT_OFFSET,
  XS_RING_REQ_CONS_OFFSET,
  XS_RING_RSP_OFFSET,
  XS_RING_RSP_PROD_OFFSET,
  XS_RING_SERVER_FEATURES_OFFSET,
  xsRing,
} from '../../hypercalls/io/xenstore-ring.js';

describe('struct xenstore_domain_interface (xs_wire.h)', () => {
  it('has the 4.17 layout: two 1024-byte rings then eight uint32 fields', () => {
    expect(XENSTORE_RING_SIZE).toBe(1024);
    expect([
      XS_RING_RSP_OFFSET,
      XS_RING_REQ_CONS_OFFSET,
      XS_RING_RSP_PROD_OFFSET,
      XS_RING_SERVER_FEATURES_OFFSET,
      XS_RING_CONNECTION_OFFSET,
      XS_RING_ERROR_OFFSET,
      XS_RING_EVTCHN_PORT_OFFSET,
    ]).toEqual([1024, 2048, 2060, 2064, 2068, 2072, 2076]);
  });

  it('field setters write little-endian uint32 at the golden offsets', () => {
    const page = new Uint8Array(4096);
    const dv = new DataView(page.buffer);
    xsRing.setReqCons(dv, 0x11223344);
    xsRing.setReqProd(dv, 0xffffffff);
    xsRing.setRspCons(dv, 1);
    xsRing.setRspProd(dv, 2);
    xsRing.setServerFeatures(dv, 3);
    xsRing.setConnection(dv, 1);
    xsRing.setError(dv, 2);
    xsRing.setEvtchnPort(dv, 7);
    expect(Buffer.from(page.subarray(2048, 2080)).toString('hex')).toBe(
      '44332211' +
        'ffffffff' +
        '01000000' +
        '02000000' +
        '03000000' +
        '01000000' +
        '02000000' +
        '07000000',
    );
    expect(xsRing.reqProd(dv)).toBe(0xffffffff);
    expect([xsRing.reqCons(dv), xsRing.rspCons(dv), xsRing.rspProd(dv)]).toEqual([
      0x11223344, 1, 2,
    ]);
    expect([
      xsRing.serverFeatures(dv),
      xsRing.connection(dv),
      xsRing.error(dv),
      xsRing.evtchnPort(dv),
    ]).toEqual([3, 1, 2, 7]);
  });

  it('free-running indices address byte idx % 1024', () => {
    expect(MASK_XENSTORE_IDX(0xffffffff)).toBe(1023);
    expect(MASK_XENSTORE_IDX(1024)).toBe(0);
  });
});
