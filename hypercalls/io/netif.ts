// The network-device ring protocol, following xen/include/public/io/netif.h: tx and rx
// requests and responses, extra-info slots, NETTXF_*/NETRXF_* flags and NETIF_RSP_* codes.
//
// tx requests and rx requests are written by the frontend and read by netback; responses the
// other way. Readers fail only when the bytes lie outside the view, except for extra-info slots,
// whose type selects the layout (an unknown type is a fatal frontend error in netback).

import { asGrantRef, type GrantRef } from '../types.js';
import { checkSpan, ioErr, ioOk, isUint, ringSize, type IoResult } from './ring.js';

// netif_tx_request.flags
export const NETTXF_csum_blank = 1 << 0;
export const NETTXF_data_validated = 1 << 1;
export const NETTXF_more_data = 1 << 2;
export const NETTXF_extra_info = 1 << 3;

// netif_rx_response.flags
export const NETRXF_data_validated = 1 << 0;
export const NETRXF_csum_blank = 1 << 1;
export const NETRXF_more_data = 1 << 2;
export const NETRXF_extra_info = 1 << 3;
export const NETRXF_gso_prefix = 1 << 4;

export const NETIF_RSP_DROPPED = -2;
export const NETIF_RSP_ERROR = -1;
export const NETIF_RSP_OKAY = 0;
/** No response: the status of a slot that carried an extra-info descriptor. */
export const NETIF_RSP_NULL = 1;

/** Largest packet a tx request's first-slot `size` can describe. */
export const XEN_NETIF_MAX_TX_SIZE = 0xffff;
/** Slots per packet every backend must accept. */
export const XEN_NETIF_NR_SLOTS_MIN = 18;

export const XEN_NETIF_EXTRA_TYPE_NONE = 0;
export const XEN_NETIF_EXTRA_TYPE_GSO = 1;
export const XEN_NETIF_EXTRA_TYPE_MCAST_ADD = 2;
export const XEN_NETIF_EXTRA_TYPE_MCAST_DEL = 3;
export const XEN_NETIF_EXTRA_TYPE_HASH = 4;
export const XEN_NETIF_EXTRA_TYPE_MAX = 5;
export const XEN_NETIF_EXTRA_FLAG_MORE = 1 << 0;
export const XEN_NETIF_GSO_TYPE_NONE = 0;
export const XEN_NETIF_GSO_TYPE_TCPV4 = 1;
export const XEN_NETIF_GSO_TYPE_TCPV6 = 2;

// Layouts (little endian):
// netif_tx_request (12): gref u32 @0, offset u16 @4, flags u16 @6, id u16 @8, size u16 @10.
// netif_tx_response (4): id u16 @0, status i16 @2.
// netif_rx_request (8):  id u16 @0, pad u16 @2, gref u32 @4.
// netif_rx_response (8): id u16 @0, offset u16 @2, flags u16 @4, status i16 @6.
// netif_extra_info (8):  type u8 @0, flags u8 @1, union @2 (gso: size u16 @2, type u8 @4,
//                        pad @5, features u16 @6; mcast: addr[6] @2; hash: type @2,
//                        algorithm @3, value u32 @4).
export const NETIF_TX_REQUEST_BYTES = 12;
export const NETIF_TX_RESPONSE_BYTES = 4;
export const NETIF_RX_REQUEST_BYTES = 8;
export const NETIF_RX_RESPONSE_BYTES = 8;
export const NETIF_EXTRA_INFO_BYTES = 8;

/** sizeof(union netif_tx_sring_entry) and sizeof(union netif_rx_sring_entry). */
export const NETIF_TX_RING_ENTRY_BYTES = NETIF_TX_REQUEST_BYTES;
export const NETIF_RX_RING_ENTRY_BYTES = NETIF_RX_REQUEST_BYTES;
/** __CONST_RING_SIZE(netif_tx, 4096) = 256 (336 entries fit, rounded down). */
export const NET_TX_RING_SIZE = ringSize(4096, NETIF_TX_RING_ENTRY_BYTES);
/** __CONST_RING_SIZE(netif_rx, 4096) = 256 (504 entries fit, rounded down). */
export const NET_RX_RING_SIZE = ringSize(4096, NETIF_RX_RING_ENTRY_BYTES);

export interface NetifTxRequest {
  gref: GrantRef;
  /** Offset of the data in the granted frame. */
  offset: number;
  flags: number;
  id: number;
  /** First slot: the whole packet's size; later slots: this fragment's size. */
  size: number;
}

export interface NetifTxResponse {
  id: number;
  status: number;
}

export interface NetifRxRequest {
  id: number;
  gref: GrantRef;
}

export interface NetifRxResponse {
  id: number;
  offset: number;
  flags: number;
  /** < 0: NETIF_RSP_*; > 0: bytes received. */
  status: number;
}

export type NetifExtraInfo =
  | {
      type: typeof XEN_NETIF_EXTRA_TYPE_GSO;
      flags: number;
      gso: { size: number; type: number; features: number };
    }
  | {
      type: typeof XEN_NETIF_EXTRA_TYPE_MCAST_ADD | typeof XEN_NETIF_EXTRA_TYPE_MCAST_DEL;
      flags: number;
      mcast: { addr: Uint8Array };
    }
  | {
      type: typeof XEN_NETIF_EXTRA_TYPE_HASH;
      flags: number;
      hash: { type: number; algorithm: number; value: number };
    };

const isInt16 = (v: number): boolean => Number.isInteger(v) && v >= -0x8000 && v <= 0x7fff;

function fieldsAreUint16(what: string, fields: Record<string, number>): IoResult<undefined> {
  for (const [name, v] of Object.entries(fields)) {
    if (!isUint(v, 16)) return ioErr(`${what}: ${name} ${v} not uint16`);
  }
  return ioOk(undefined);
}

export function readNetifTxRequest(view: DataView, off: number): IoResult<NetifTxRequest> {
  const span = checkSpan(view, off, NETIF_TX_REQUEST_BYTES, 'netif_tx_request');
  if (!span.ok) return span;
  return ioOk({
    gref: asGrantRef(view.getUint32(off, true)),
    offset: view.getUint16(off + 4, true),
    flags: view.getUint16(off + 6, true),
    id: view.getUint16(off + 8, true),
    size: view.getUint16(off + 10, true),
  });
}

export function writeNetifTxRequest(
  view: DataView,
  off: number,
  req: NetifTxRequest,
): IoResult<undefined> {
  const span = checkSpan(view, off, NETIF_TX_REQUEST_BYTES, 'netif_tx_request');
  if (!span.ok) return span;
  if (!isUint(req.gref, 32)) return ioErr(`netif_tx_request: gref ${req.gref} not uint32`);
  const { offset, flags, id, size } = req;
  const u16 = fieldsAreUint16('netif_tx_request', { offset, flags, id, size });
  if (!u16.ok) return u16;
  view.setUint32(off, req.gref, true);
  view.setUint16(off + 4, offset, true);
  view.setUint16(off + 6, flags, true);
  view.setUint16(off + 8, id, true);
  view.setUint16(off + 10, size, true);
  return ioOk(undefined);
}

export function readNetifTxResponse(view: DataView, off: number): IoResult<NetifTxResponse> {
  const span = checkSpan(view, off, NETIF_TX_RESPONSE_BYTES, 'netif_tx_response');
  if (!span.ok) return span;
  return ioOk({ id: view.getUint16(off, true), status: view.getInt16(off + 2, true) });
}

export function writeNetifTxResponse(
  view: DataView,
  off: number,
  rsp: NetifTxResponse,
): IoResult<undefined> {
  const span = checkSpan(view, off, NETIF_TX_RESPONSE_BYTES, 'netif_tx_response');
  if (!span.ok) return span;
  if (!isUint(rsp.id, 16)) return ioErr(`netif_tx_response: id ${rsp.id} not uint16`);
  if (!isInt16(rsp.status)) return ioErr(`netif_tx_response: status ${rsp.status} not int16`);
  view.setUint16(off, rsp.id, true);
  view.setInt16(off + 2, rsp.status, true);
  return ioOk(undefined);
}

export function readNetifRxRequest(view: DataView, off: number): IoResult<NetifRxRequest> {
  const span = checkSpan(view, off, NETIF_RX_REQUEST_BYTES, 'netif_rx_request');
  if (!span.ok) return span;
  return ioOk({ id: view.getUint16(off, true), gref: asGrantRef(view.getUint32(off + 4, true)) });
}

export function writeNetifRxRequest(
  view: DataView,
  off: number,
  req: NetifRxRequest,
): IoResult<undefined> {
  const span = checkSpan(view, off, NETIF_RX_REQUEST_BYTES, 'netif_rx_request');
  if (!span.ok) return span;
  if (!isUint(req.id, 16)) return ioErr(`netif_rx_request: id ${req.id} not uint16`);
  if (!isUint(req.gref, 32)) return ioErr(`netif_rx_request: gref ${req.gref} not uint32`);
  view.setUint16(off, req.id, true);
  view.setUint16(off + 2, 0, true);
  view.setUint32(off + 4, req.gref, true);
  return ioOk(undefined);
}

export function readNetifRxResponse(view: DataView, off: number): IoResult<NetifRxResponse> {
  const span = checkSpan(view, off, NETIF_RX_RESPONSE_BYTES, 'netif_rx_response');
  if (!span.ok) return span;
  return ioOk({
    id: view.getUint16(off, true),
    offset: view.getUint16(off + 2, true),
    flags: view.getUint16(off + 4, true),
    status: view.getInt16(off + 6, true),
  });
}

export function writeNetifRxResponse(
  view: DataView,
  off: number,
  rsp: NetifRxResponse,
): IoResult<undefined> {
  const span = checkSpan(view, off, NETIF_RX_RESPONSE_BYTES, 'netif_rx_response');
  if (!span.ok) return span;
  const { id, offset, flags } = rsp;
  const u16 = fieldsAreUint16('netif_rx_response', { id, offset, flags });
  if (!u16.ok) return u16;
  if (!isInt16(rsp.status)) return ioErr(`netif_rx_response: status ${rsp.status} not int16`);
  view.setUint16(off, id, true);
  view.setUint16(off + 2, offset, true);
  view.setUint16(off + 4, flags, true);
  view.setInt16(off + 6, rsp.status, true);
  return ioOk(undefined);
}

/** Reads an extra-info slot; type NONE or >= XEN_NETIF_EXTRA_TYPE_MAX is an error. */
export function readNetifExtraInfo(view: DataView, off: number): IoResult<NetifExtraInfo> {
  const span = checkSpan(view, off, NETIF_EXTRA_INFO_BYTES, 'netif_extra_info');
  if (!span.ok) return span;
  const type = view.getUint8(off);
  const flags = view.getUint8(off + 1);
  switch (type) {
    case XEN_NETIF_EXTRA_TYPE_GSO:
      return ioOk({
        type,
        flags,
        gso: {
          size: view.getUint16(off + 2, true),
          type: view.getUint8(off + 4),
          features: view.getUint16(off + 6, true),
        },
      });
    case XEN_NETIF_EXTRA_TYPE_MCAST_ADD:
    case XEN_NETIF_EXTRA_TYPE_MCAST_DEL: {
      const addr = new Uint8Array(6);
      for (let i = 0; i < 6; i++) addr[i] = view.getUint8(off + 2 + i);
      return ioOk({ type, flags, mcast: { addr } });
    }
    case XEN_NETIF_EXTRA_TYPE_HASH:
      return ioOk({
        type,
        flags,
        hash: {
          type: view.getUint8(off + 2),
          algorithm: view.getUint8(off + 3),
          value: view.getUint32(off + 4, true),
        },
      });
    default:
      return ioErr(`netif_extra_info: invalid type ${type}`);
  }
}

/** Writes an 8-byte extra-info slot (unused union bytes zeroed). */
export function writeNetifExtraInfo(
  view: DataView,
  off: number,
  extra: NetifExtraInfo,
): IoResult<undefined> {
  const span = checkSpan(view, off, NETIF_EXTRA_INFO_BYTES, 'netif_extra_info');
  if (!span.ok) return span;
  if (!isUint(extra.flags, 8)) return ioErr(`netif_extra_info: flags ${extra.flags} not uint8`);
  const body = new Uint8Array(6);
  const bodyView = new DataView(body.buffer);
  if ('gso' in extra) {
    const { size, type, features } = extra.gso;
    if (!isUint(size, 16) || !isUint(type, 8) || !isUint(features, 16)) {
      return ioErr('netif_extra_info: gso size/features must be uint16 and type uint8');
    }
    bodyView.setUint16(0, size, true);
    bodyView.setUint8(2, type);
    bodyView.setUint16(4, features, true);
  } else if ('mcast' in extra) {
    if (extra.mcast.addr.length !== 6) return ioErr('netif_extra_info: mcast addr must be 6 bytes');
    body.set(extra.mcast.addr);
  } else {
    const { type, algorithm, value } = extra.hash;
    if (!isUint(type, 8) || !isUint(algorithm, 8) || !isUint(value, 32)) {
      return ioErr('netif_extra_info: hash type/algorithm must be uint8 and value uint32');
    }
    bodyView.setUint8(0, type);
    bodyView.setUint8(1, algorithm);
    bodyView.setUint32(2, value, true);
  }
  view.setUint8(off, extra.type);
  view.setUint8(off + 1, extra.flags);
  for (let i = 0; i < 6; i++) view.setUint8(off + 2 + i, body[i] ?? 0);
  return ioOk(undefined);
}
