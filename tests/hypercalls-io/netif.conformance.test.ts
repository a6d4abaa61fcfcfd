import { describe, expect, it } from 'vitest';
import {
  NETIF_EXTRA_INFO_BYTES,
  NETIF_RSP_DROPPED,
  NETIF_RSP_ERROR,
  NETIF_RSP_NULL,
  NETIF_RSP_OKAY,
  NETIF_RX_REQUEST_BYTES,
  NETIF_RX_RESPONSE_BYTES,
  NETIF_TX_REQUEST_BYTES,
  NETIF_TX_RESPONSE_BYTES,
  NETRXF_csum_blank,
  NETRXF_data_validated,
  NETRXF_extra_info,
  NETRXF_gso_prefix,
  NETRXF_more_data,
  NETTXF_csum_blank,
  NETTXF_data_validated,
  NETTXF_extra_info,
  NETTXF_more_data,
  NET_RX_RING_SIZE,
  NET_TX_RING_SIZE,
  XEN_NETIF_EXTRA_FLAG_MORE,
  XEN_NETIF_EXTRA_TYPE_GSO,
  XEN_NETIF_EXTRA_TYPE_HASH,
  XEN_NETIF_EXTRA_TYPE_MCAST_ADD,
  XEN_NETIF_GSO_TYPE_TCPV4,
  XEN_NETIF_MAX_TX_SIZE,
  XEN_NETIF_NR_SLOTS_MIN,
  readNetifExtraInfo,
  readNetifRxRequest,
  readNetifRxResponse,
  readNetifTxRequest,
  readNetifTxResponse,
  writeNetifExtraInfo,
  writeNetifRxRequest,
  writeNetifRxResponse,
  writeNetifTxRequest,
  writeNetifTxResponse,
} from '../../hypercalls/io/netif.js';
import { asGrantRef } from '../../hypercalls/types.js';
import { hex, page } from './hex.js';

describe('netif constants (netif.h)', () => {
  it('has the tx and rx flag bits', () => {
    expect([NETTXF_csum_blank, NETTXF_data_validated, NETTXF_more_data, NETTXF_extra_info]).toEqual(
      [1, 2, 4, 8],
    );
    expect([
      NETRXF_data_validated,
      NETRXF_csum_blank,
      NETRXF_more_data,
      NETRXF_extra_info,
      NETRXF_gso_prefix,
    ]).toEqual([1, 2, 4, 8, 16]);
  });

  it('has the status codes, limits, sizes and 256 slots per page for both rings', () => {
    expect([NETIF_RSP_DROPPED, NETIF_RSP_ERROR, NETIF_RSP_OKAY, NETIF_RSP_NULL]).toEqual([
      -2, -1, 0, 1,
    ]);
    expect(XEN_NETIF_MAX_TX_SIZE).toBe(0xffff);
    expect(XEN_NETIF_NR_SLOTS_MIN).toBe(18);
    expect([
      NETIF_TX_REQUEST_BYTES,
      NETIF_TX_RESPONSE_BYTES,
      NETIF_RX_REQUEST_BYTES,
      NETIF_RX_RESPONSE_BYTES,
      NETIF_EXTRA_INFO_BYTES,
    ]).toEqual([12, 4, 8, 8, 8]);
    expect([NET_TX_RING_SIZE, NET_RX_RING_SIZE]).toEqual([256, 256]);
  });
});

describe('netif slot layouts (golden bytes)', () => {
  it('tx request: gref@0 offset@4 flags@6 id@8 size@10', () => {
    const { mem, view } = page(12);
    const req = {
      gref: asGrantRef(0x0102),
      offset: 0x10,
      flags: NETTXF_csum_blank | NETTXF_more_data,
      id: 7,
      size: 1514,
    };
    expect(writeNetifTxRequest(view, 0, req).ok).toBe(true);
    expect(mem).toEqual(hex('02010000 1000 0500 0700 ea05'));
    expect(readNetifTxRequest(view, 0)).toEqual({ ok: true, value: req });
    expect(writeNetifTxRequest(view, 0, { ...req, size: 0x10000 }).ok).toBe(false);
  });

  it('tx response: id@0 status@2 (int16)', () => {
    const { mem, view } = page(4);
    expect(writeNetifTxResponse(view, 0, { id: 7, status: NETIF_RSP_ERROR }).ok).toBe(true);
    expect(mem).toEqual(hex('0700 ffff'));
    expect(readNetifTxResponse(view, 0)).toEqual({ ok: true, value: { id: 7, status: -1 } });
  });

  it('rx request: id@0 pad@2 gref@4', () => {
    const { mem, view } = page(8);
    mem.fill(0xaa);
    expect(writeNetifRxRequest(view, 0, { id: 0x1234, gref: asGrantRef(0xdeadbeef) }).ok).toBe(
      true,
    );
    expect(mem).toEqual(hex('3412 0000 efbeadde'));
    expect(readNetifRxRequest(view, 0)).toEqual({
      ok: true,
      value: { id: 0x1234, gref: 0xdeadbeef },
    });
  });

  it('rx response: id@0 offset@2 flags@4 status@6 (bytes received when positive)', () => {
    const { mem, view } = page(8);
    const rsp = { id: 0x1234, offset: 0, flags: NETRXF_data_validated, status: 1514 };
    expect(writeNetifRxResponse(view, 0, rsp).ok).toBe(true);
    expect(mem).toEqual(hex('3412 0000 0100 ea05'));
    expect(readNetifRxResponse(view, 0)).toEqual({ ok: true, value: rsp });
    expect(writeNetifRxResponse(view, 0, { ...rsp, status: 40000 }).ok).toBe(false);
  });

  it('extra info GSO: type@0 flags@1 size@2 gso type@4 pad@5 features@6', () => {
    const { mem, view } = page(8);
    mem.fill(0xaa);
    const gso = {
      type: XEN_NETIF_EXTRA_TYPE_GSO,
      flags: XEN_NETIF_EXTRA_FLAG_MORE,
      gso: { size: 1448, type: XEN_NETIF_GSO_TYPE_TCPV4, features: 0 },
    } as const;
    expect(writeNetifExtraInfo(view, 0, gso).ok).toBe(true);
    expect(mem).toEqual(hex('01 01 a805 01 00 0000'));
    expect(readNetifExtraInfo(view, 0)).toEqual({ ok: true, value: gso });
  });

  it('extra info MCAST_ADD carries a 6-byte address at 2; HASH carries htype@2 alg@3 value@4', () => {
    const { mem, view } = page(8);
    const addr = hex('01005e000001');
    expect(
      writeNetifExtraInfo(view, 0, {
        type: XEN_NETIF_EXTRA_TYPE_MCAST_ADD,
        flags: 0,
        mcast: { addr },
      }).ok,
    ).toBe(true);
    expect(mem).toEqual(hex('02 00 01005e000001'));
    expect(readNetifExtraInfo(view, 0)).toEqual({
      ok: true,
      value: { type: 2, flags: 0, mcast: { addr } },
    });
    const hash = {
      type: XEN_NETIF_EXTRA_TYPE_HASH,
      flags: 0,
      hash: { type: 3, algorithm: 1, value: 0x11223344 },
    } as const;
    expect(writeNetifExtraInfo(view, 0, hash).ok).toBe(true);
    expect(mem).toEqual(hex('04 00 03 01 44332211'));
    expect(readNetifExtraInfo(view, 0)).toEqual({ ok: true, value: hash });
  });

  it('extra info of type NONE or >= XEN_NETIF_EXTRA_TYPE_MAX is an error', () => {
    const { mem, view } = page(8);
    for (const t of [0, 5, 255]) {
      mem[0] = t;
      expect(readNetifExtraInfo(view, 0).ok).toBe(false);
    }
  });
});
