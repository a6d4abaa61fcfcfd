// Domain lifecycle after the build (libxl_domain.c libxl_domain_destroy/libxl__domain_pvcontrol_write,
// libxl_domain_rename, tools/xl/xl_vmcontrol.c handle_domain_death/preserve_domain; reference 12):
// destroy with full clean-up, control/shutdown requests with the 60 s acknowledgement timeout, and
// the on_poweroff/on_reboot/on_crash/on_watchdog actions when a domain shuts down.

import {
  XEN_DOMINF_dying,
  XEN_DOMINF_shutdown,
  XEN_DOMINF_shutdownmask,
  XEN_DOMINF_shutdownshift,
} from '../../hypercalls/domctl.js';
import { SHUTDOWN_suspend } from '../../hypercalls/sched.js';
import { ToolstackError, type DeathEvent, type ShutdownKind } from './api.js';
import type { ShutdownAction } from './config/domain-config-types.js';
import type { DomainRecord, DomainRegistry } from './domain-registry.js';
import type { Dom0Platform } from './platform.js';
import { Signal, type Op } from './task.js';
import type { Xc } from './xc.js';
import { xcError } from './xc-errors.js';
import type { XsClient } from './xs-client.js';
import { domPath, removeDomainNodes, vmPath } from './xs-layout.js';

/** libxl's wait for the guest to acknowledge control/shutdown (and to suspend). */
export const SHUTDOWN_ACK_TIMEOUT_NS = 60_000_000_000;

export interface LifecycleDeps {
  readonly platform: Dom0Platform;
  readonly xc: Xc;
  readonly xs: XsClient;
  readonly registry: DomainRegistry;
}

/** A domain event for scripting subscribers and `xl shutdown -w`. */
export type DomainEvent =
  | { readonly type: 'created'; readonly domid: number; readonly name: string }
  | {
      readonly type: 'shutdown';
      readonly domid: number;
      readonly reason: number;
      readonly action: ShutdownAction | 'none';
    }
  | { readonly type: 'destroyed'; readonly domid: number }
  | { readonly type: 'renamed'; readonly domid: number; readonly name: string }
  | { readonly type: 'restarted'; readonly domid: number; readonly newDomid: number }
  /** An on_* action failed (xl's monitor logs it and exits). */
  | { readonly type: 'action-failed'; readonly domid: number; readonly message: string };

export interface ShutdownState {
  readonly exists: boolean;
  readonly shutdown: boolean;
  readonly reason: number;
  readonly dying: boolean;
}

export function shutdownState(xc: Xc, domid: number): ShutdownState {
  const i = xc.getInfo(domid);
  if (!i.ok) return { exists: false, shutdown: false, reason: 0, dying: false };
  const f = i.value.flags;
  return {
    exists: true,
    shutdown: (f & XEN_DOMINF_shutdown) !== 0,
    reason: (f >>> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask,
    dying: (f & XEN_DOMINF_dying) !== 0,
  };
}

/** libxl_domain_destroy: pause, tear down devices and xenstore, destroydomain, forget the domid. */
export function destroyDomain(deps: LifecycleDeps, rec: DomainRecord): void {
  const { xc, xs, registry, platform } = deps;
  rec.destroying = true;
  xc.pause(rec.domid);
  // Backends see their directories go and release the rings; xenstored drops the connection.
  removeDomainNodes(xs, rec.domid, rec.uuid);
  xs.release(rec.domid);
  const r = xc.destroy(rec.domid);
  registry.remove(rec.domid, platform.clock.now());
  if (!r.ok && r.errno !== 3) throw xcError(`xc_domain_destroy failed for ${rec.domid}`, r.errno);
}

/** The wait behind `xl shutdown -w`: fires with the domain's DeathEvent. */
export class DeathWaiters {
  private readonly byDomid = new Map<number, Signal<DeathEvent>>();

  signal(domid: number): Signal<DeathEvent> {
    let s = this.byDomid.get(domid);
    if (!s) this.byDomid.set(domid, (s = new Signal<DeathEvent>()));
    return s;
  }

  fire(ev: DeathEvent): void {
    const s = this.byDomid.get(ev.domid);
    if (!s) return;
    this.byDomid.delete(ev.domid);
    s.fire(ev);
  }
}

/**
 * libxl__domain_pvcontrol_write + the guest's acknowledgement: writes poweroff/reboot to
 * control/shutdown and waits up to 60 s for the guest to clear it (or to shut down).
 */
export function* requestShutdown(
  deps: LifecycleDeps,
  rec: DomainRecord,
  kind: ShutdownKind | 'suspend',
): Op<void> {
  const { xs, platform } = deps;
  const node = `${domPath(rec.domid)}/control/shutdown`;
  const acked = new Signal<boolean>();
  const check = (): void => {
    const v = xs.read(node);
    const st = shutdownState(deps.xc, rec.domid);
    if (v === '' || v === undefined || !st.exists || st.shutdown) acked.fire(true);
  };
  const w = xs.write(node, kind);
  if (!w.ok) throw new ToolstackError('FAIL', `cannot write ${node}: ${w.error}`);
  const watchWait = acked.wait(platform.clock, SHUTDOWN_ACK_TIMEOUT_NS, false);
  const token = xs.watch(node, () => check());
  const release = xs.watch('@releaseDomain', () => check());
  try {
    const ok = (yield watchWait) as boolean;
    if (!ok) {
      // Withdraw the request a guest never took, as libxl does on timeout.
      if (xs.read(node) === kind) xs.write(node, '');
      throw new ToolstackError(
        'GUEST_TIMEDOUT',
        `guest did not respond to ${kind} request within ${SHUTDOWN_ACK_TIMEOUT_NS / 1e9} s (domain ${rec.domid})`,
      );
    }
  } finally {
    if (token.ok) xs.unwatch(node, token.value);
    if (release.ok) xs.unwatch('@releaseDomain', release.value);
  }
}

/** `-%Y%m%dT%H%MZ` of a virtual wall time, as xl's preserve_domain names the suffix. */
export function preserveSuffix(epochS: number): string {
  const d = new Date(Math.floor(epochS) * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `-${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}${p(d.getUTCMinutes())}Z`;
}

/** libxl_domain_rename: name must be free; updates the name nodes. */
export function renameDomain(deps: LifecycleDeps, rec: DomainRecord, newName: string): void {
  const { xs, registry } = deps;
  const other = registry.domidOf(newName);
  if (other !== undefined && other !== rec.domid)
    throw new ToolstackError('INVAL', `domain with name "${newName}" already exists.`);
  if (newName === '' || newName === 'Domain-0')
    throw new ToolstackError('INVAL', `invalid domain name "${newName}"`);
  const r = xs.transact((tx) => {
    const a = xs.write(`${domPath(rec.domid)}/name`, newName, tx);
    if (!a.ok) return a;
    return xs.write(`${vmPath(rec.uuid)}/name`, newName, tx);
  });
  if (!r.ok) throw new ToolstackError('FAIL', `rename: xenstore write failed: ${r.error}`);
  registry.rename(rec, newName);
}

/**
 * libxl__domain_suspend (PV, control/shutdown path): write `suspend`, wait for the acknowledgement,
 * then for the domain to be shut down with reason suspend, each within 60 s.
 */
export function* suspendDomain(deps: LifecycleDeps, rec: DomainRecord): Op<void> {
  const { xc, xs, platform } = deps;
  const domid = rec.domid;
  const suspended = new Signal<boolean>();
  const check = (): void => {
    const st = shutdownState(xc, domid);
    if (!st.exists || (st.shutdown && st.reason === SHUTDOWN_suspend)) suspended.fire(true);
  };
  const wait = suspended.wait(platform.clock, SHUTDOWN_ACK_TIMEOUT_NS, false);
  const token = xs.watch('@releaseDomain', check);
  try {
    yield* requestShutdown(deps, rec, 'suspend');
    check();
    if (!((yield wait) as boolean))
      throw new ToolstackError(
        'GUEST_TIMEDOUT',
        `guest did not suspend within 60 s (domain ${domid})`,
      );
  } finally {
    if (token.ok) xs.unwatch('@releaseDomain', token.value);
  }
  const st = shutdownState(xc, domid);
  if (!st.exists || st.dying)
    throw new ToolstackError('DOMAIN_DESTROYED', `domain ${domid} died while suspending`);
  if (!st.shutdown || st.reason !== SHUTDOWN_suspend)
    throw new ToolstackError(
      'FAIL',
      `domain ${domid} shut down (reason ${st.reason}) instead of suspending`,
    );
}

/** libxl_domain_resume (fast/cooperative): the guest's SCHEDOP_shutdown(suspend) returns 1. */
export function resumeSuspended(deps: LifecycleDeps, domid: number): void {
  deps.xc.resume(domid);
  deps.xs.resume(domid);
}
