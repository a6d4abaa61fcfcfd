// The interface a PV guest (dom0 or domU) gets at boot: its hypercall entry points (the hypercall
// page, xen/include/public/xen.h + arch-x86/xen-x86_64.h), its shared_info page, its start_info and
// its event upcall hook (CALLBACKOP_register / set_callbacks). The same for dom0 and domU: privilege
// is a flag the hypervisor checks, never a different interface.

import type { XenDomctl } from './domctl.js';
import type { XenSysctl } from './sysctl.js';
import { SCHEDOP_block, SCHEDOP_poll, SCHEDOP_yield } from './sched.js';

/**
 * Guest code on one vCPU. It yields how many nanoseconds of CPU it uses next (`yield 50_000`), makes
 * synchronous hypercalls through `env.hypercalls`, and blocks only through SCHEDOP_block / SCHEDOP_poll
 * / SCHEDOP_yield: such a sched_op takes effect at the coroutine's next `yield` (the helpers below do
 * both), and the coroutine resumes once the vCPU runs again. The value sent back into the coroutine is 0.
 * When the generator returns, the vCPU goes down as with VCPUOP_down.
 */
export type GuestCoroutine = Generator<number, void, number>;
export type GuestProgram = (env: GuestEnv, vcpu: number) => GuestCoroutine;

/**
 * The event callback (CALLBACKTYPE_event). Xen enters it with evtchn_upcall_mask set on the vCPU, before
 * the coroutine resumes; it may make non-blocking hypercalls and returns the CPU it used in ns (or nothing).
 */
export type UpcallHandler = (env: GuestEnv, vcpu: number) => number | void;

/** One multicall_entry: `op` and up to 6 `args` IN, `result` OUT (written by Xen). */
export interface MulticallEntry {
  op: number;
  args: unknown[];
  result: number;
}

/** The hypercall page: every entry returns a number (>= 0 success, negative -XEN_Exxx). */
export interface HypercallInterface {
  sched_op(cmd: number, arg?: unknown): number;
  vcpu_op(cmd: number, vcpuid: number, arg?: unknown): number;
  /** Absolute system time in ns; 0 cancels. */
  set_timer_op(timeoutNs: number): number;
  event_channel_op(cmd: number, arg: unknown): number;
  xen_version(cmd: number, arg?: unknown): number;
  console_io(cmd: number, count: number, buffer: Uint8Array): number;
  memory_op(cmd: number, arg: unknown): number;
  grant_table_op(cmd: number, uops: unknown, count: number): number;
  multicall(calls: MulticallEntry[], nr: number): number;
  domctl(op: XenDomctl): number;
  sysctl(op: XenSysctl): number;
  /** Any hypercall by number with raw arguments (what a guest's hypercall page jump does). */
  hypercall(nr: number, a1?: unknown, a2?: unknown, a3?: unknown): number;
}

/** start_info (xen.h), the parts known at boot. */
export interface StartInfo {
  /** "xen-<version>-x86_64". */
  magic: string;
  flags: number;
  nr_pages: number;
  store_mfn: number;
  store_evtchn: number;
  console_mfn: number;
  console_evtchn: number;
  cmd_line: string;
}

/** What a guest kernel sees at boot. */
export interface GuestEnv {
  readonly domid: number;
  readonly maxVcpus: number;
  readonly hypercalls: HypercallInterface;
  /** The domain's shared_info page (4 KiB, layout in shared-info.ts). */
  readonly sharedInfo: Uint8Array;
  readonly startInfo: StartInfo;
  /** Xen system time in ns (what vcpu_time_info lets a guest compute). */
  now(): number;
  /** Registers the event callback (CALLBACKOP_register CALLBACKTYPE_event); null unregisters. */
  setUpcallHandler(handler: UpcallHandler | null): void;
}

/** SCHEDOP_block and suspend: returns the hypercall's result once the vCPU runs again. */
export function* block(h: HypercallInterface): Generator<number, number, number> {
  const rc = h.sched_op(SCHEDOP_block);
  yield 0;
  return rc;
}

/** SCHEDOP_yield and suspend. */
export function* yieldCpu(h: HypercallInterface): Generator<number, number, number> {
  const rc = h.sched_op(SCHEDOP_yield);
  yield 0;
  return rc;
}

/** SCHEDOP_poll on `ports` until one is pending or `timeoutAbsNs` (0 = none) passes. */
export function* poll(
  h: HypercallInterface,
  ports: readonly number[],
  timeoutAbsNs: number,
): Generator<number, number, number> {
  const rc = h.sched_op(SCHEDOP_poll, { ports, timeout: timeoutAbsNs });
  if (rc < 0) return rc;
  yield 0;
  return rc;
}
