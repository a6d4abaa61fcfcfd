// The PV console page, following xen/include/public/io/console.h (struct xencons_interface):
// two byte rings with free-running uint32 indices, `in` (backend to guest) and `out` (guest to
// backend), plus the `connection` flag Xen 4.21 added after the indices.
//
// Each side owns one index of each ring and reads the other's, which another domain may have
// scribbled on: when producer minus consumer exceeds the ring size the ring is corrupt and the
// helpers return an error instead of reading or writing anything.

import { checkSpan, ioErr, ioOk, type IoResult } from './ring.js';

export const XENCONS_IN_OFF = 0;
export const XENCONS_IN_BYTES = 1024;
export const XENCONS_OUT_OFF = 1024;
export const XENCONS_OUT_BYTES = 2048;
/** in_cons: written by the guest (it consumes input). */
export const XENCONS_IN_CONS_OFF = 3072;
/** in_prod: written by the backend. */
export const XENCONS_IN_PROD_OFF = 3076;
/** out_cons: written by the backend (it consumes output). */
export const XENCONS_OUT_CONS_OFF = 3080;
/** out_prod: written by the guest. */
export const XENCONS_OUT_PROD_OFF = 3084;
/** connection (uint8, Xen >= 4.21): XENCONSOLE_DISCONNECTED at build, CONNECTED once served. */
export const XENCONS_CONNECTION_OFF = 3088;
/** Bytes the interface spans: the uint8 flag ends at 3089 (sizeof pads to 3092). */
export const XENCONS_INTERFACE_BYTES = 3089;

export const XENCONSOLE_CONNECTED = 0;
export const XENCONSOLE_DISCONNECTED = 1;

/** MASK_XENCONS_IDX: position of a free-running index in a ring of `ringBytes` (a power of two). */
export const MASK_XENCONS_IDX = (idx: number, ringBytes: number): number => idx & (ringBytes - 1);

interface ByteRing {
  name: string;
  dataOff: number;
  bytes: number;
  consOff: number;
  prodOff: number;
}

const IN_RING: ByteRing = {
  name: 'in',
  dataOff: XENCONS_IN_OFF,
  bytes: XENCONS_IN_BYTES,
  consOff: XENCONS_IN_CONS_OFF,
  prodOff: XENCONS_IN_PROD_OFF,
};
const OUT_RING: ByteRing = {
  name: 'out',
  dataOff: XENCONS_OUT_OFF,
  bytes: XENCONS_OUT_BYTES,
  consOff: XENCONS_OUT_CONS_OFF,
  prodOff: XENCONS_OUT_PROD_OFF,
};

/** Bytes queued in a ring, or an error when the indices are more than a ring apart. */
function queued(
  view: DataView,
  ring: ByteRing,
): IoResult<{ cons: number; prod: number; n: number }> {
  const span = checkSpan(view, 0, XENCONS_INTERFACE_BYTES, 'xencons_interface');
  if (!span.ok) return span;
  const cons = view.getUint32(ring.consOff, true);
  const prod = view.getUint32(ring.prodOff, true);
  const n = (prod - cons) >>> 0;
  if (n > ring.bytes) {
    return ioErr(
      `xencons ${ring.name}: ${ring.name}_prod ${prod} - ${ring.name}_cons ${cons} > ${ring.bytes}`,
    );
  }
  return ioOk({ cons, prod, n });
}

/** Producer side: copies as much of `data` as fits, then publishes prod; returns bytes written. */
function ringWrite(view: DataView, ring: ByteRing, data: Uint8Array): IoResult<number> {
  const q = queued(view, ring);
  if (!q.ok) return q;
  const n = Math.min(data.length, ring.bytes - q.value.n);
  let prod = q.value.prod;
  for (let i = 0; i < n; i++) {
    view.setUint8(ring.dataOff + MASK_XENCONS_IDX(prod, ring.bytes), data[i] ?? 0);
    prod = (prod + 1) >>> 0;
  }
  // The data is in place before the index that publishes it (the wmb in Xen's writers).
  view.setUint32(ring.prodOff, prod, true);
  return ioOk(n);
}

/** Consumer side: takes up to `max` queued bytes, then publishes cons. */
function ringRead(view: DataView, ring: ByteRing, max: number): IoResult<Uint8Array> {
  const q = queued(view, ring);
  if (!q.ok) return q;
  const n = Math.max(0, Math.min(q.value.n, Math.floor(max)));
  const out = new Uint8Array(n);
  let cons = q.value.cons;
  for (let i = 0; i < n; i++) {
    out[i] = view.getUint8(ring.dataOff + MASK_XENCONS_IDX(cons, ring.bytes));
    cons = (cons + 1) >>> 0;
  }
  view.setUint32(ring.consOff, cons, true);
  return ioOk(out);
}

/** Guest: writes console output into `out`; returns how many bytes fit. */
export const xenconsWriteOut = (view: DataView, data: Uint8Array): IoResult<number> =>
  ringWrite(view, OUT_RING, data);

/** Backend (xenconsoled): drains up to `max` bytes of guest output from `out`. */
export const xenconsReadOut = (view: DataView, max = XENCONS_OUT_BYTES): IoResult<Uint8Array> =>
  ringRead(view, OUT_RING, max);

/** Backend: writes keyboard input into `in`; returns how many bytes fit. */
export const xenconsWriteIn = (view: DataView, data: Uint8Array): IoResult<number> =>
  ringWrite(view, IN_RING, data);

/** Guest: drains up to `max` bytes of input from `in`. */
export const xenconsReadIn = (view: DataView, max = XENCONS_IN_BYTES): IoResult<Uint8Array> =>
  ringRead(view, IN_RING, max);

/** Reads the connection flag (any byte value is returned as is). */
export function readXenconsConnection(view: DataView): IoResult<number> {
  const span = checkSpan(view, 0, XENCONS_INTERFACE_BYTES, 'xencons_interface');
  if (!span.ok) return span;
  return ioOk(view.getUint8(XENCONS_CONNECTION_OFF));
}

/** Sets the connection flag (the toolstack writes DISCONNECTED, the backend CONNECTED). */
export function writeXenconsConnection(view: DataView, connection: number): IoResult<undefined> {
  const span = checkSpan(view, 0, XENCONS_INTERFACE_BYTES, 'xencons_interface');
  if (!span.ok) return span;
  if (connection !== XENCONSOLE_CONNECTED && connection !== XENCONSOLE_DISCONNECTED) {
    return ioErr(`xencons_interface: connection ${connection} is not CONNECTED or DISCONNECTED`);
  }
  view.setUint8(XENCONS_CONNECTION_OFF, connection);
  return ioOk(undefined);
}
