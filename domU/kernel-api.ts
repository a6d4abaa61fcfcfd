// The kernel as guest programs see it (the system-call surface of a Linux PV guest, reduced to what
// labs and workloads need): time, sleeping and CPU use, threads, the guest's own pages, xenstore,
// the console, block devices and shutdown. Guest code reads sequentially: `yield*` these calls.

import type { BlockDevice } from './block-device.js';
import type { ConsoleFrontend } from './console.js';
import type { KThread } from './kthread.js';
import type { XenNetDevice } from './net/netfront-driver.js';
import type { PageAllocator } from './page-allocator.js';
import type { XenbusClient } from './xenbus/xs-client.js';

export interface Kernel {
  readonly domid: number;
  readonly vcpus: number;
  /** start_info.cmd_line. */
  readonly cmdline: string;
  readonly xs: XenbusClient;
  readonly console: ConsoleFrontend;
  readonly pages: PageAllocator;
  /** Disks the block frontend has connected (empty until a blkfront driver is loaded). */
  readonly blockDevices: readonly BlockDevice[];
  /** Network interfaces netfront has connected, in order (eth0 first); empty without netfront. */
  readonly netDevices: readonly XenNetDevice[];
  /** Xen system time, ns. */
  now(): number;
  /** Sleeps `ns` of virtual time (set_timer_op + SCHEDOP_block when nothing else runs). */
  sleep(ns: number): KThread;
  /** Uses `ns` of CPU. */
  burn(ns: number): KThread;
  /** Starts another thread, on `vcpu` (default 0). */
  spawn(name: string, thread: KThread<unknown>, vcpu?: number): void;
  /** Writes to the console (never blocks). */
  print(text: string): void;
  /** Copies `src` into the guest's own page `pfn` (marks it dirty for log-dirty); 0 or a positive errno. */
  writePage(pfn: number, offset: number, src: Uint8Array): number;
  /** Copies from page `pfn` into `dst`; 0 or a positive errno. */
  readPage(pfn: number, offset: number, dst: Uint8Array): number;
  /** A deterministic 32-bit pseudo-random number (seeded per domain), for workloads. */
  random(): number;
  /** Orderly shutdown with a SHUTDOWN_* reason; never returns while the domain runs. */
  shutdown(reason: number): KThread;
}

/** A guest program: `export default function* main(k, args) { ... }`; returns an exit code. */
export type GuestMain = (k: Kernel, args: readonly string[]) => KThread<number | void>;
