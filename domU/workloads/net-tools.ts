// Network programs for a guest's init= (what ping(8), an inetd UDP echo service and a bulk copy
// do on a Linux guest), over the first interface netfront brought up: `ping <ip> [count]`,
// `echo-server [port] [seconds]`, `bulk-send <ip> <bytes> [seed] [port]`, `bulk-recv [port] [seconds]`.

import type { GuestMain, Kernel } from '../kernel-api.js';
import { waitUntil } from '../kthread.js';
import type { XenNetDevice } from '../net/netfront-driver.js';
import { formatIpv4, parseIpv4 } from '../net/inet.js';
import { BulkReceiver, bulkSend, patternBytes, ping, startEchoServer } from '../net/workloads.js';

const NS_PER_SEC = 1_000_000_000;
const DEFAULT_BULK_PORT = 5001;

function iface(k: Kernel, prog: string): XenNetDevice | undefined {
  const dev = k.netDevices[0];
  if (!dev) k.print(`${prog}: no network interface\n`);
  return dev;
}

function num(text: string | undefined, fallback: number): number {
  const n = text === undefined ? NaN : Number(text);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

const ms = (ns: number): string => (ns / 1e6).toFixed(3);

/** `ping <ip> [count]`: ping(8)'s per-reply lines and summary, RTTs in virtual time. */
export const pingTool: GuestMain = function* pingTool(k, args) {
  const dst = args[0] === undefined ? undefined : parseIpv4(args[0]);
  if (dst === undefined) {
    k.print(`ping: ${args[0] ?? ''}: Name or service not known\n`);
    return 2;
  }
  const dev = iface(k, 'ping');
  if (!dev) return 2;
  const count = Math.max(1, Math.floor(num(args[1], 4)));
  const payloadBytes = 56;
  k.print(
    `PING ${formatIpv4(dst)} (${formatIpv4(dst)}) ${payloadBytes}(${payloadBytes + 28}) bytes of data.\n`,
  );
  const rep = yield* ping(dev.stack, dst, { count, payloadBytes });
  rep.rttsNs.forEach((rtt, i) => {
    if (rtt >= 0)
      k.print(
        `${payloadBytes + 8} bytes from ${formatIpv4(dst)}: icmp_seq=${i + 1} ttl=64 time=${ms(rtt)} ms\n`,
      );
  });
  const got = rep.rttsNs.filter((r) => r >= 0);
  const loss = rep.sent === 0 ? 100 : Math.round(((rep.sent - rep.received) / rep.sent) * 100);
  k.print(`\n--- ${formatIpv4(dst)} ping statistics ---\n`);
  k.print(`${rep.sent} packets transmitted, ${rep.received} received, ${loss}% packet loss\n`);
  if (got.length > 0) {
    const avg = got.reduce((a, b) => a + b, 0) / got.length;
    k.print(`rtt min/avg/max = ${ms(Math.min(...got))}/${ms(avg)}/${ms(Math.max(...got))} ms\n`);
  }
  return rep.received > 0 ? 0 : 1;
};

/** `echo-server [port] [seconds]`: a UDP echo service (RFC 862) for a while (default 60 s). */
export const echoServerTool: GuestMain = function* echoServerTool(k, args) {
  const dev = iface(k, 'echo-server');
  if (!dev) return 2;
  const port = Math.floor(num(args[0], 7));
  const srv = startEchoServer(dev.stack, port);
  k.print(`echo-server: listening on ${formatIpv4(dev.stack.ip)}:${port}\n`);
  yield* k.sleep(num(args[1], 60) * NS_PER_SEC);
  srv.stop();
  k.print(`echo-server: served ${srv.served()} datagrams\n`);
  return 0;
};

/** `bulk-recv [port] [seconds]`: receives one bulk transfer and checks its CRC-32. */
export const bulkRecvTool: GuestMain = function* bulkRecvTool(k, args) {
  const dev = iface(k, 'bulk-recv');
  if (!dev) return 2;
  const port = Math.floor(num(args[0], DEFAULT_BULK_PORT));
  const rx = new BulkReceiver(dev.stack, port);
  k.print(`bulk-recv: listening on ${formatIpv4(dev.stack.ip)}:${port}\n`);
  const done = yield* waitUntil(() => rx.result !== null, k.now() + num(args[1], 60) * NS_PER_SEC);
  rx.stop();
  if (!done || !rx.result) {
    k.print(`bulk-recv: timed out after ${rx.bytes} bytes\n`);
    return 1;
  }
  const crc = rx.result.crc.toString(16).padStart(8, '0');
  k.print(`bulk-recv: ${rx.bytes} bytes, crc32 ${crc}, ${rx.result.ok ? 'ok' : 'MISMATCH'}\n`);
  return rx.result.ok ? 0 : 1;
};

/** `bulk-send <ip> <bytes> [seed] [port]`: sends seeded pattern bytes to a bulk-recv. */
export const bulkSendTool: GuestMain = function* bulkSendTool(k, args) {
  const dst = args[0] === undefined ? undefined : parseIpv4(args[0]);
  if (dst === undefined) {
    k.print(`bulk-send: bad address ${args[0] ?? ''}\n`);
    return 2;
  }
  const dev = iface(k, 'bulk-send');
  if (!dev) return 2;
  const bytes = Math.floor(num(args[1], 1 << 20));
  const seed = Math.floor(num(args[2], 1));
  const port = Math.floor(num(args[3], DEFAULT_BULK_PORT));
  // The data is loaded into pages of the program's own once and sent from them without copying.
  const rep = yield* bulkSend(dev.stack, dst, patternBytes(seed, bytes), {
    srcPort: port + 1,
    dstPort: port,
    pages: {
      alloc: () => k.pages.alloc(),
      free: (pfn) => void k.pages.release(pfn),
      write: (pfn, offset, b) => k.writePage(pfn, offset, b) === 0,
    },
  });
  const crc = rep.crc.toString(16).padStart(8, '0');
  k.print(
    `bulk-send: ${rep.bytes} bytes in ${rep.datagrams} datagrams, ${rep.retransmits} retransmits, ` +
      `${ms(rep.elapsedNs)} ms, crc32 ${crc}, ${rep.ok ? 'confirmed' : 'NOT CONFIRMED'}\n`,
  );
  return rep.ok ? 0 : 1;
};
