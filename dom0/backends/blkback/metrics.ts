// Per-device counters of the block backend (what Linux blkback exports under
// /sys/bus/xen-backend/devices/vbd-*/statistics: rd_req, wr_req, f_req, ds_req, oo_req, rd_sect, wr_sect).

export interface BlkbackMetrics {
  /** rd_req / wr_req / f_req (flush and barrier) / ds_req. */
  readReqs: number;
  writeReqs: number;
  flushReqs: number;
  discardReqs: number;
  /** rd_sect / wr_sect, 512-byte units. */
  sectorsRead: number;
  sectorsWritten: number;
  /** Responses with a status other than BLKIF_RSP_OKAY. */
  errorResponses: number;
  /** Events sent to the frontend. */
  notifications: number;
  /** Grant copy ops issued. */
  grantCopies: number;
}

export const newBlkbackMetrics = (): BlkbackMetrics => ({
  readReqs: 0,
  writeReqs: 0,
  flushReqs: 0,
  discardReqs: 0,
  sectorsRead: 0,
  sectorsWritten: 0,
  errorResponses: 0,
  notifications: 0,
  grantCopies: 0,
});
