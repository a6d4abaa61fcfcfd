// struct xenstore_domain_interface (xen/include/public/io/xs_wire.h): the one shared page between
// a guest and xenstored, two 1024-byte byte rings with free-running uint32 indices.

/** XENSTORE_RING_SIZE: bytes in each ring; index `x` addresses byte `x % 1024`. */
export const XENSTORE_RING_SIZE = 1024;
/** MASK_XENSTORE_IDX(idx) = idx & (XENSTORE_RING_SIZE - 1). */
export const MASK_XENSTORE_IDX = (idx: number): number => idx & (XENSTORE_RING_SIZE - 1);

/** Byte offsets inside the page. */
export const XS_RING_REQ_OFFSET = 0; // guest writes requests here
export const XS_RING_RSP_OFFSET = 1024; // xenstored writes replies and watch events here
export const XS_RING_REQ_CONS_OFFSET = 2048; // written by xenstored
export const XS_RING_REQ_PROD_OFFSET = 2052; // written by the guest
export const XS_RING_RSP_CONS_OFFSET = 2056; // written by the guest
export const XS_RING_RSP_PROD_OFFSET = 2060; // written by xenstored
export const XS_RING_SERVER_FEATURES_OFFSET = 2064; // written by xenstored
export const XS_RING_CONNECTION_OFFSET = 2068; // written by guest (reconnect) and xenstored
export const XS_RING_ERROR_OFFSET = 2072; // written by xenstored
export const XS_RING_EVTCHN_PORT_OFFSET = 2076; // dom0less only
/** Size of the meaningful part of the page (the rest of the 4 KiB page is unused). */
export const XS_RING_INTERFACE_SIZE = 2080;

/** Field accessors over a DataView of the page (little endian, as on x86). */
export const xsRing = {
  reqCons: (dv: DataView): number => dv.getUint32(XS_RING_REQ_CONS_OFFSET, true),
  reqProd: (dv: DataView): number => dv.getUint32(XS_RING_REQ_PROD_OFFSET, true),
  rspCons: (dv: DataView): number => dv.getUint32(XS_RING_RSP_CONS_OFFSET, true),
  rspProd: (dv: DataView): number => dv.getUint32(XS_RING_RSP_PROD_OFFSET, true),
  serverFeatures: (dv: DataView): number => dv.getUint32(XS_RING_SERVER_FEATURES_OFFSET, true),
  connection: (dv: DataView): number => dv.getUint32(XS_RING_CONNECTION_OFFSET, true),
  error: (dv: DataView): number => dv.getUint32(XS_RING_ERROR_OFFSET, true),
  evtchnPort: (dv: DataView): number => dv.getUint32(XS_RING_EVTCHN_PORT_OFFSET, true),
  setReqCons: (dv: DataView, v: number): void =>
    dv.setUint32(XS_RING_REQ_CONS_OFFSET, v >>> 0, true),
  setReqProd: (dv: DataView, v: number): void =>
    dv.setUint32(XS_RING_REQ_PROD_OFFSET, v >>> 0, true),
  setRspCons: (dv: DataView, v: number): void =>
    dv.setUint32(XS_RING_RSP_CONS_OFFSET, v >>> 0, true),
  setRspProd: (dv: DataView, v: number): void =>
    dv.setUint32(XS_RING_RSP_PROD_OFFSET, v >>> 0, true),
  setServerFeatures: (dv: DataView, v: number): void =>
    dv.setUint32(XS_RING_SERVER_FEATURES_OFFSET, v >>> 0, true),
  setConnection: (dv: DataView, v: number): void =>
    dv.setUint32(XS_RING_CONNECTION_OFFSET, v >>> 0, true),
  setError: (dv: DataView, v: number): void => dv.setUint32(XS_RING_ERROR_OFFSET, v >>> 0, true),
  setEvtchnPort: (dv: DataView, v: number): void =>
    dv.setUint32(XS_RING_EVTCHN_PORT_OFFSET, v >>> 0, true),
} as const;
