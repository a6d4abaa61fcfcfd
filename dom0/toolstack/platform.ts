// Everything dom0's toolstack (tools/libs/light + tools/libs/ctrl) reaches the host through: the
// privileged hypercall page, privcmd foreign mapping, a local xenstored connection, the engine's
// clock, dom0's filesystem and the guest-program store. The composition root builds one per host.

import type { GuestProgram, HypercallInterface } from '../../hypercalls/guest-interface.js';
import type { ForeignMemory } from '../../hypercalls/memory.js';
import type { XsMessage } from '../../hypercalls/io/xs-wire.js';
import type { ConsoleStream } from './api.js';

/** A timer handle from Dom0Clock.at. */
export type TimerId = number;

/**
 * dom0's view of virtual time (the engine's queue). Toolstack waits (10 s InitWait, 60 s shutdown
 * ack, 60 s domid reuse) are events here, never wall-clock timers.
 */
export interface Dom0Clock {
  /** Virtual ns since the host booted. */
  now(): number;
  /** Runs `fn` at absolute virtual time `timeNs` (>= now). */
  at(timeNs: number, fn: () => void): TimerId;
  cancel(id: TimerId): void;
  /** Wall-clock seconds since the epoch at virtual time 0 (for /vm/<uuid>/start_time). */
  readonly epochS: number;
}

/**
 * A privileged local connection to dom0's xenstored (as libxenstore's socket connection): one
 * request in, its reply out, synchronously; watch events for this connection arrive on the listener.
 */
export interface XenstoreConnection {
  request(msg: XsMessage): XsMessage;
  onWatchEvent(listener: (msg: XsMessage) => void): void;
}

/** One entry of a dom0 directory. */
export interface Dom0FileStat {
  readonly kind: 'file' | 'dir' | 'other';
  readonly sizeBytes: number;
}

/**
 * dom0's filesystem: absolute dom0 paths ("/boot/vmlinuz") map into the host's root directory.
 * Relative paths are resolved by the caller against a dom0 cwd first.
 */
export interface Dom0Filesystem {
  /** The host path standing for a dom0 absolute path (what blkback opens). */
  hostPath(dom0Path: string): string;
  stat(dom0Path: string): Dom0FileStat | undefined;
  readFile(dom0Path: string): Uint8Array | undefined;
  writeFile(dom0Path: string, bytes: Uint8Array): void;
  /** Removes a file; false if it was not there. */
  unlink(dom0Path: string): boolean;
}

/**
 * The store of guest code the domain builder hands to the hypervisor. DEVIATION(xen): Xen's builder
 * copies kernel bytes into guest memory; here the code is a GuestProgram registered under a
 * KernelRef (`builtin:<name>` or `module:<host path>#<export>`), and XEN_DOMCTL_setvcpucontext
 * names the ref. The hypervisor resolves it through the same registry object.
 */
export interface GuestProgramRegistry {
  /**
   * The program registered under `ref`. A handoff ref (`handoff:<instance>.<n>`) is one-shot: it
   * is taken out of the handoff table, and what comes back is a wrapper that calls the parked
   * program only when the new domain first runs (after its unpause).
   */
  get(ref: string): GuestProgram | undefined;
  register(ref: string, program: GuestProgram): void;
  /**
   * Migration, or a save, in process: parks the guest program now running domain `domid` under a
   * fresh `handoff:<instance>.<n>` ref (unique across the hosts of a pool, and never found by
   * another process), the ref a VcpuState carries to the target or the save file. undefined when
   * there is no such guest. Optional: a registry without it cannot hand off.
   */
  handOff?(domid: number): string | undefined;
  /** A migration failed before the target ran the program: the ref is dropped. False if it ran. */
  revokeHandoff?(ref: string): boolean;
}

/** A seeded random stream (UUIDs, MACs): the engine's PRNG sub-stream for this toolstack. */
export interface Dom0Random {
  nextU32(): number;
}

/**
 * dom0's network plumbing the toolstack runs as hotplug scripts (tools/hotplug/Linux/vif-bridge):
 * the composition root implements it over its bridges and netback.
 */
export interface Dom0Network {
  /** `vif-bridge online` for backend vif `<domid>/<devid>`: null, or the script's error. */
  vifOnline(domid: number, devid: number): string | null;
  /** `vif-bridge offline`: takes the vif off its bridge (nothing if it is not on one). */
  vifOffline(domid: number, devid: number): void;
  /** brctl for `xensim bridge …`: add, del, list, macs, ports. */
  bridgeCommand(argv: readonly string[]): { exitCode: number; stdout: string; stderr: string };
}

/** Everything the toolstack needs; nothing else crosses from the hypervisor into dom0. */
export interface Dom0Platform {
  /** dom0's hypercall page; dom0 is privileged, so domctl and sysctl are allowed. */
  readonly hypercalls: HypercallInterface;
  /** privcmd: maps other domains' frames (build, save, restore). */
  readonly foreign: ForeignMemory;
  /** A privileged connection to this host's xenstored. */
  readonly xenstore: XenstoreConnection;
  readonly clock: Dom0Clock;
  readonly fs: Dom0Filesystem;
  readonly programs: GuestProgramRegistry;
  readonly random: Dom0Random;
  /**
   * Subscribes to VIRQ_DOM_EXC as dom0's kernel delivers it (a domain shut down or died); the
   * toolstack then reads getdomaininfo, as xl's domain-death watch on @releaseDomain does.
   * Optional: without it the toolstack watches @releaseDomain in xenstore.
   */
  onDomainException?(listener: () => void): void;
  /** xenconsoled's side of `xl console`; optional (the console daemon is not the toolstack's). */
  readonly consoles?: { attach(domid: number): ConsoleStream | undefined };
  /** vif hotplug; optional: without it a vif's hotplug fails (no bridges on this host). */
  readonly network?: Dom0Network;
  /** Host name for `xl info` (uname nodename). */
  readonly hostname: string;
}
