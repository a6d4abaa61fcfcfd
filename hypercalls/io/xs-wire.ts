// The xenstore wire protocol (xen/include/public/io/xs_wire.h, Xen 4.17): message types,
// the 16-byte header, error names in xsd_errors[] order, limits, and a header codec.

export const XS_CONTROL = 0;
/** Old name of XS_CONTROL. */
export const XS_DEBUG = 0;
export const XS_DIRECTORY = 1;
export const XS_READ = 2;
export const XS_GET_PERMS = 3;
export const XS_WATCH = 4;
export const XS_UNWATCH = 5;
export const XS_TRANSACTION_START = 6;
export const XS_TRANSACTION_END = 7;
export const XS_INTRODUCE = 8;
export const XS_RELEASE = 9;
export const XS_GET_DOMAIN_PATH = 10;
export const XS_WRITE = 11;
export const XS_MKDIR = 12;
export const XS_RM = 13;
export const XS_SET_PERMS = 14;
export const XS_WATCH_EVENT = 15;
export const XS_ERROR = 16;
export const XS_IS_DOMAIN_INTRODUCED = 17;
export const XS_RESUME = 18;
export const XS_SET_TARGET = 19;
/** Removed in Xen 4.7; the number stays reserved. */
export const XS_RESTRICT = 20;
export const XS_RESET_WATCHES = 21;
export const XS_DIRECTORY_PART = 22;
/** Number of message types Xen 4.17 knows (0..22). */
export const XS_TYPE_COUNT = 23;
export const XS_INVALID = 0xffff;

/** Names of the message types, indexed by number (for traces and errors). */
export const XS_TYPE_NAMES: readonly string[] = [
  'CONTROL',
  'DIRECTORY',
  'READ',
  'GET_PERMS',
  'WATCH',
  'UNWATCH',
  'TRANSACTION_START',
  'TRANSACTION_END',
  'INTRODUCE',
  'RELEASE',
  'GET_DOMAIN_PATH',
  'WRITE',
  'MKDIR',
  'RM',
  'SET_PERMS',
  'WATCH_EVENT',
  'ERROR',
  'IS_DOMAIN_INTRODUCED',
  'RESUME',
  'SET_TARGET',
  'RESTRICT',
  'RESET_WATCHES',
  'DIRECTORY_PART',
];

/** xsd_errors[] in xs_wire.h order: the string an XS_ERROR reply carries (NUL-terminated). */
export const XSD_ERRORS = [
  'EINVAL',
  'EACCES',
  'EEXIST',
  'EISDIR',
  'ENOENT',
  'ENOMEM',
  'ENOSPC',
  'EIO',
  'ENOTEMPTY',
  'ENOSYS',
  'EROFS',
  'EBUSY',
  'EAGAIN',
  'EISCONN',
  'E2BIG',
  'EPERM',
] as const;
export type XsdError = (typeof XSD_ERRORS)[number];

/** Size of struct xsd_sockmsg: type, req_id, tx_id, len (uint32 each, host endian). */
export const XSD_SOCKMSG_SIZE = 16;
/** XENSTORE_PAYLOAD_MAX: longest payload either side may send. */
export const XENSTORE_PAYLOAD_MAX = 4096;
/** XENSTORE_ABS_PATH_MAX and XENSTORE_REL_PATH_MAX. */
export const XENSTORE_ABS_PATH_MAX = 3072;
export const XENSTORE_REL_PATH_MAX = 2048;

/** Feature bits in xenstore_domain_interface.server_features. */
export const XENSTORE_SERVER_FEATURE_RECONNECTION = 1;
export const XENSTORE_SERVER_FEATURE_ERROR = 2;
/** Valid values of xenstore_domain_interface.connection. */
export const XENSTORE_CONNECTED = 0;
export const XENSTORE_RECONNECT = 1;
/** Valid values of xenstore_domain_interface.error. */
export const XENSTORE_ERROR_NONE = 0;
export const XENSTORE_ERROR_COMM = 1;
export const XENSTORE_ERROR_RINGIDX = 2;
export const XENSTORE_ERROR_PROTO = 3;

/** struct xsd_sockmsg. */
export interface XsdSockmsg {
  type: number;
  reqId: number;
  txId: number;
  len: number;
}

/** Decodes the header at `off` (host endian: little, as on x86). Needs 16 bytes. */
export function decodeXsHeader(bytes: Uint8Array, off = 0): XsdSockmsg | null {
  if (bytes.length - off < XSD_SOCKMSG_SIZE) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset + off, XSD_SOCKMSG_SIZE);
  return {
    type: dv.getUint32(0, true),
    reqId: dv.getUint32(4, true),
    txId: dv.getUint32(8, true),
    len: dv.getUint32(12, true),
  };
}

/** Writes a header into `out` at `off`. */
export function encodeXsHeader(out: Uint8Array, off: number, h: XsdSockmsg): void {
  const dv = new DataView(out.buffer, out.byteOffset + off, XSD_SOCKMSG_SIZE);
  dv.setUint32(0, h.type >>> 0, true);
  dv.setUint32(4, h.reqId >>> 0, true);
  dv.setUint32(8, h.txId >>> 0, true);
  dv.setUint32(12, h.len >>> 0, true);
}

/** A whole message: header fields and payload. */
export interface XsMessage {
  type: number;
  reqId: number;
  txId: number;
  payload: Uint8Array;
}

/** Encodes a whole message (header then payload) into a fresh array. */
export function encodeXsMessage(m: XsMessage): Uint8Array {
  const out = new Uint8Array(XSD_SOCKMSG_SIZE + m.payload.length);
  encodeXsHeader(out, 0, { type: m.type, reqId: m.reqId, txId: m.txId, len: m.payload.length });
  out.set(m.payload, XSD_SOCKMSG_SIZE);
  return out;
}

export type XsDecodeResult =
  { ok: true; message: XsMessage; size: number } | { ok: false; error: 'short' | 'too-long' };

/**
 * Decodes one message at `off`. `short` means more bytes are needed; `too-long` means the header
 * announces a payload over XENSTORE_PAYLOAD_MAX (C xenstored drops such a connection).
 */
export function decodeXsMessage(bytes: Uint8Array, off = 0): XsDecodeResult {
  const h = decodeXsHeader(bytes, off);
  if (!h) return { ok: false, error: 'short' };
  if (h.len > XENSTORE_PAYLOAD_MAX) return { ok: false, error: 'too-long' };
  const end = off + XSD_SOCKMSG_SIZE + h.len;
  if (bytes.length < end) return { ok: false, error: 'short' };
  return {
    ok: true,
    message: {
      type: h.type,
      reqId: h.reqId,
      txId: h.txId,
      payload: bytes.subarray(off + XSD_SOCKMSG_SIZE, end),
    },
    size: XSD_SOCKMSG_SIZE + h.len,
  };
}

/** Latin-1 bytes of a string (xenstore paths and tokens are ASCII). */
export function xsBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** Payload of NUL-terminated strings (`a\0b\0`). */
export function xsStrings(...parts: string[]): Uint8Array {
  return xsBytes(parts.map((p) => p + '\0').join(''));
}

/** Splits a payload at NULs; a trailing piece without NUL is returned as the last element. */
export function splitXsStrings(payload: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < payload.length; i++) {
    if (payload[i] === 0) {
      out.push(String.fromCharCode(...payload.subarray(start, i)));
      start = i + 1;
    }
  }
  if (start < payload.length) out.push(String.fromCharCode(...payload.subarray(start)));
  return out;
}
