// Packet capture in the classic libpcap file format (pcap-savefile(5), LINKTYPE_ETHERNET = 1):
// a 24-byte global header, then a 16-byte record header per frame with the virtual timestamp.
// Files are written synchronously so a capture is complete whenever the simulation pauses.

import { closeSync, openSync, writeSync } from 'node:fs';
import type { BridgePort, PortTap, TapDirection } from './bridge-port.js';

export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const DLT_EN10MB = 1;
export const PCAP_SNAPLEN = 65535;
export const PCAP_GLOBAL_HEADER_BYTES = 24;
export const PCAP_RECORD_HEADER_BYTES = 16;

/** The global header: magic, version 2.4, thiszone 0, sigfigs 0, snaplen, link type (little endian). */
export function pcapGlobalHeader(snaplen = PCAP_SNAPLEN): Uint8Array {
  const b = new Uint8Array(PCAP_GLOBAL_HEADER_BYTES);
  const v = new DataView(b.buffer);
  v.setUint32(0, PCAP_MAGIC_USEC, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true);
  v.setUint32(12, 0, true);
  v.setUint32(16, snaplen, true);
  v.setUint32(20, DLT_EN10MB, true);
  return b;
}

/** One record (header + captured bytes, cut at `snaplen`) at virtual time `timeNs`. */
export function pcapRecord(frame: Uint8Array, timeNs: number, snaplen = PCAP_SNAPLEN): Uint8Array {
  const caplen = Math.min(frame.length, snaplen);
  const b = new Uint8Array(PCAP_RECORD_HEADER_BYTES + caplen);
  const v = new DataView(b.buffer);
  const usec = Math.floor(timeNs / 1000);
  v.setUint32(0, Math.floor(usec / 1_000_000), true);
  v.setUint32(4, usec % 1_000_000, true);
  v.setUint32(8, caplen, true);
  v.setUint32(12, frame.length, true);
  b.set(frame.subarray(0, caplen), PCAP_RECORD_HEADER_BYTES);
  return b;
}

export interface CaptureOptions {
  /** Which directions to record (default both, as tcpdump -i vifX.Y shows). */
  readonly direction?: TapDirection | 'both';
  readonly snaplen?: number;
}

/** A running capture of one port into a pcap file. */
export class PortCapture {
  readonly path: string;
  readonly port: BridgePort;
  frames = 0;
  private fd: number | null;
  private readonly tap: PortTap;

  private constructor(path: string, port: BridgePort, fd: number, opts: CaptureOptions) {
    this.path = path;
    this.port = port;
    this.fd = fd;
    const want = opts.direction ?? 'both';
    const snaplen = opts.snaplen ?? PCAP_SNAPLEN;
    this.tap = (frame, timeNs, dir) => {
      if (this.fd === null || (want !== 'both' && want !== dir)) return;
      writeSync(this.fd, pcapRecord(frame, timeNs, snaplen));
      this.frames++;
    };
    port.taps.push(this.tap);
  }

  /** Opens (truncating) `path`, writes the global header and taps `port`. */
  static start(
    port: BridgePort,
    path: string,
    opts: CaptureOptions = {},
  ): { ok: true; capture: PortCapture } | { ok: false; error: string } {
    let fd: number;
    try {
      fd = openSync(path, 'w', 0o644);
      writeSync(fd, pcapGlobalHeader(opts.snaplen ?? PCAP_SNAPLEN));
    } catch (e) {
      return { ok: false, error: `cannot write capture ${path}: ${(e as Error).message}` };
    }
    return { ok: true, capture: new PortCapture(path, port, fd, opts) };
  }

  stop(): void {
    const i = this.port.taps.indexOf(this.tap);
    if (i >= 0) this.port.taps.splice(i, 1);
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
