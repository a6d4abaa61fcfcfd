// Network workloads for guests (what ping(8), an inetd echo service and a bulk copy do on a real
// guest), as kernel threads over the guest's NetStack: ping with RTTs in virtual time, a UDP echo
// server, and a bulk sender/receiver over UDP with go-back-N acknowledgements and a CRC-32 of the
// whole transfer, so a transfer either arrives byte-exact or says it did not. Given pages of its
// own, the bulk sender loads the data into them once (a file in the page cache) and sends every
// datagram from them without copying (sendfile / MSG_ZEROCOPY: NetStack.sendUdpFrags), freeing
// the pages only once the device gave every one back.

import { PAGE_SIZE } from '../../hypercalls/types.js';
import { waitUntil, type KThread } from '../kthread.js';
import { crc32, put32, u32 } from './inet.js';
import type { NetStack } from './net-stack.js';
import type { PageFrag } from './page-frag.js';

export interface PingOptions {
  readonly count: number;
  readonly intervalNs?: number;
  readonly timeoutNs?: number;
  readonly payloadBytes?: number;
  readonly id?: number;
}

export interface PingReport {
  readonly sent: number;
  readonly received: number;
  /** RTT of each reply, -1 for a lost one, by sequence number from 1. */
  readonly rttsNs: readonly number[];
}

/** ping -c count: one echo request per interval, each waiting up to timeoutNs for its reply. */
export function* ping(stack: NetStack, dst: number, o: PingOptions): KThread<PingReport> {
  const id = o.id ?? 0x5853;
  const interval = o.intervalNs ?? 1_000_000_000;
  const timeout = o.timeoutNs ?? 1_000_000_000;
  const payload = new Uint8Array(o.payloadBytes ?? 56);
  for (let i = 0; i < payload.length; i++) payload[i] = (0x10 + i) & 0xff;
  const rtts: number[] = [];
  let got = -1;
  let gotSeq = -1;
  const prev = stack.onEchoReply;
  stack.onEchoReply = (_src, rid, seq, rtt) => {
    if (rid === id) {
      gotSeq = seq;
      got = rtt;
    }
    prev?.(_src, rid, seq, rtt);
  };
  let sent = 0;
  let received = 0;
  try {
    for (let seq = 1; seq <= o.count; seq++) {
      const start = stack.now();
      got = -1;
      gotSeq = -1;
      if (stack.ping(dst, id, seq, payload)) sent++;
      const s = seq;
      // Retry ARP while waiting, as the neighbour timer would.
      const deadline = start + timeout;
      while (gotSeq !== s && stack.now() < deadline) {
        yield* waitUntil(() => gotSeq === s, Math.min(deadline, stack.now() + 1_000_000_000));
        stack.tick();
      }
      if (gotSeq === s) {
        received++;
        rtts.push(got);
      } else rtts.push(-1);
      if (seq < o.count) yield* waitUntil(() => false, start + interval);
    }
  } finally {
    stack.onEchoReply = prev;
  }
  return { sent, received, rttsNs: rtts };
}

/** A UDP echo service (RFC 862) on `port`: every datagram goes back to its sender. */
export function startEchoServer(
  stack: NetStack,
  port: number,
): { served: () => number; stop(): void } {
  let served = 0;
  stack.bindUdp(port, (payload, src, sport) => {
    if (stack.sendUdp(src, port, sport, payload)) served++;
  });
  return { served: () => served, stop: () => stack.unbindUdp(port) };
}

const BULK_DATA = 1;
const BULK_ACK = 2;
const BULK_DONE = 3;
/** type u8, seq u32, total u32 (DONE: crc u32 instead of data). */
const BULK_HDR = 9;

export interface BulkReport {
  readonly bytes: number;
  readonly datagrams: number;
  readonly retransmits: number;
  readonly crc: number;
  /** The receiver confirmed the CRC of what it got. */
  readonly ok: boolean;
  readonly elapsedNs: number;
}

/** Deterministic test data from a seed (xorshift32): guests have no ambient randomness. */
export function patternBytes(seed: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** The receiving end: appends in-order data, acknowledges cumulatively, checks the CRC at DONE. */
export class BulkReceiver {
  private readonly stack: NetStack;
  private readonly port: number;
  private chunks: Uint8Array[] = [];
  private nextSeq = 0;
  bytes = 0;
  outOfOrder = 0;
  /** Set at DONE: whether the CRC matched. */
  result: { ok: boolean; crc: number } | null = null;

  constructor(stack: NetStack, port: number, ackEvery = 16) {
    this.stack = stack;
    this.port = port;
    stack.bindUdp(port, (p, src, sport) => {
      if (p.length < BULK_HDR) return;
      const seq = u32(p, 1);
      if (p[0] === BULK_DATA) {
        if (seq === this.nextSeq) {
          this.chunks.push(p.slice(BULK_HDR));
          this.bytes += p.length - BULK_HDR;
          this.nextSeq++;
          if (this.nextSeq % ackEvery === 0) this.ack(src, sport, this.nextSeq, 0);
        } else {
          this.outOfOrder++;
          this.ack(src, sport, this.nextSeq, 0);
        }
      } else if (p[0] === BULK_DONE && seq === this.nextSeq) {
        const crc = this.crc();
        this.result = { ok: crc === u32(p, 5), crc };
        this.ack(src, sport, this.nextSeq, this.result.ok ? 1 : 2);
      } else if (p[0] === BULK_DONE) {
        this.ack(src, sport, this.nextSeq, 0);
      }
    });
  }

  private ack(dst: number, dport: number, seq: number, verdict: number): void {
    const a = new Uint8Array(BULK_HDR);
    a[0] = BULK_ACK;
    put32(a, 1, seq);
    put32(a, 5, verdict);
    this.stack.sendUdp(dst, this.port, dport, a);
  }

  /** Everything received, in order. */
  data(): Uint8Array {
    const out = new Uint8Array(this.bytes);
    let pos = 0;
    for (const c of this.chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    return out;
  }

  crc(): number {
    let c = 0;
    for (const chunk of this.chunks) c = crc32(chunk, c);
    return c;
  }

  stop(): void {
    this.stack.unbindUdp(this.port);
  }
}

export interface BulkOptions {
  readonly srcPort: number;
  readonly dstPort: number;
  /** Datagrams in flight before waiting for an acknowledgement. */
  readonly window?: number;
  readonly timeoutNs?: number;
  readonly maxRetransmits?: number;
  /** Pages of the sender's own: send from them without copying (when the device can). */
  readonly pages?: SenderPages | undefined;
}

/** The guest's pages as a program gets them (the kernel's page allocator). */
export interface SenderPages {
  /** A free page, or a negative number. */
  alloc(): number;
  free(pfn: number): void;
  /** Writes `bytes` into page `pfn` at `offset`; false on failure. */
  write(pfn: number, offset: number, bytes: Uint8Array): boolean;
}

/** `data` loaded into fresh pages, or null (pages freed) when there are not enough. */
function loadPages(pages: SenderPages, data: Uint8Array): number[] | null {
  const pfns: number[] = [];
  for (let off = 0; off < data.length; off += PAGE_SIZE) {
    const pfn = pages.alloc();
    const ok = pfn >= 0 && pages.write(pfn, 0, data.subarray(off, off + PAGE_SIZE));
    if (pfn >= 0) pfns.push(pfn);
    if (!ok) {
      for (const p of pfns) pages.free(p);
      return null;
    }
  }
  return pfns;
}

/** The pieces of pages `pfns` (holding data from offset 0) that bytes [start, end) lie in. */
export function fragsOf(pfns: readonly number[], start: number, end: number): PageFrag[] {
  const out: PageFrag[] = [];
  for (let pos = start; pos < end;) {
    const offset = pos % PAGE_SIZE;
    const length = Math.min(PAGE_SIZE - offset, end - pos);
    out.push({ pfn: pfns[Math.floor(pos / PAGE_SIZE)] as number, offset, length });
    pos += length;
  }
  return out;
}

/** Sends `data` to a BulkReceiver; go-back-N on timeout; ends with DONE carrying the CRC-32. */
export function* bulkSend(
  stack: NetStack,
  dst: number,
  data: Uint8Array,
  o: BulkOptions,
): KThread<BulkReport> {
  const window = o.window ?? 64;
  const timeout = o.timeoutNs ?? 50_000_000;
  const maxRetx = o.maxRetransmits ?? 1000;
  const chunk = stack.maxUdpPayload - BULK_HDR;
  const total = Math.ceil(data.length / chunk);
  const crc = crc32(data);
  let acked = 0;
  let verdict = 0;
  stack.bindUdp(o.srcPort, (p) => {
    if (p.length >= BULK_HDR && p[0] === BULK_ACK) {
      acked = Math.max(acked, u32(p, 1));
      if (u32(p, 5) !== 0) verdict = u32(p, 5);
    }
  });
  const start = stack.now();
  let next = 0;
  let datagrams = 0;
  let retransmits = 0;
  const buf = new Uint8Array(BULK_HDR + chunk);
  const pfns = o.pages !== undefined && stack.zeroCopy ? loadPages(o.pages, data) : null;
  /** Datagrams whose pages the device still holds. */
  let inFlight = 0;
  const given = (): void => void inFlight--;
  try {
    while (verdict === 0) {
      if (next < acked) next = acked;
      let busySince = -1;
      while (next < total && next < acked + window) {
        const start = next * chunk;
        const end = Math.min(data.length, (next + 1) * chunk);
        buf[0] = BULK_DATA;
        put32(buf, 1, next);
        put32(buf, 5, data.length);
        let sent: boolean;
        if (pfns !== null) {
          sent = stack.sendUdpFrags(
            dst,
            o.srcPort,
            o.dstPort,
            buf.subarray(0, BULK_HDR),
            fragsOf(pfns, start, end),
            given,
          );
          if (sent) inFlight++;
        } else {
          buf.set(data.subarray(start, end), BULK_HDR);
          sent = stack.sendUdp(dst, o.srcPort, o.dstPort, buf.subarray(0, BULK_HDR + end - start));
        }
        if (!sent) {
          // The device is busy (or the next hop not resolved yet): let the rings drain.
          if (busySince < 0) busySince = stack.now();
          else if (stack.now() - busySince > timeout) break;
          yield* waitUntil(() => false, stack.now() + 20_000);
          continue;
        }
        datagrams++;
        next++;
      }
      if (next >= total) {
        const done = new Uint8Array(BULK_HDR);
        done[0] = BULK_DONE;
        put32(done, 1, total);
        put32(done, 5, crc);
        stack.sendUdp(dst, o.srcPort, o.dstPort, done);
      }
      const seen = acked;
      const progressed = yield* waitUntil(
        () => acked > seen || verdict !== 0,
        stack.now() + timeout,
      );
      if (!progressed) {
        stack.tick();
        if (++retransmits > maxRetx) break;
        next = acked; // go back N
      }
    }
    // The pages are the sender's again only once the device gave every datagram back.
    if (pfns !== null) yield* waitUntil(() => inFlight === 0, stack.now() + timeout * 100);
  } finally {
    stack.unbindUdp(o.srcPort);
    if (pfns !== null && inFlight === 0) for (const p of pfns) o.pages?.free(p);
  }
  return {
    bytes: data.length,
    datagrams,
    retransmits,
    crc,
    ok: verdict === 1,
    elapsedNs: stack.now() - start,
  };
}
