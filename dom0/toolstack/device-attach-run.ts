// Drives the device-attach machine for one device of any kind (libxl_device.c
// libxl__wait_device_connection, device_hotplug, libxl__initiate_device_generic_remove): timers on
// the dom0 clock, the backend's `state` node through a watch, the kind's hotplug script inline.

import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import { parseXenbusState, XenbusState } from '../../hypercalls/io/xenbus.js';
import { deviceAttachMachine, type DeviceAttachEvent } from './device-attach-machine.js';
import type { Dom0Clock, TimerId } from './platform.js';
import { Signal, type Wait } from './task.js';
import type { XsClient } from './xs-client.js';

const MS = 1_000_000;

export type DeviceOutcome = { ok: true } | { ok: false; message: string };

/** What differs between device kinds: where the backend is, its hotplug script, its paths. */
export interface DeviceKindOps {
  readonly backendPath: string;
  /** The hotplug script's `add`/`online`: null on success, else its error. */
  hotplug(): string | null;
  /** The hotplug script's `remove`/`offline`. */
  hotplugRemove(): void;
  /** Deletes the frontend, backend and libxl directories of the device. */
  removePaths(): void;
}

export interface DeviceRunContext {
  readonly xs: XsClient;
  readonly clock: Dom0Clock;
}

/** One attach or detach of one device; settles `done` when the machine reaches a final state. */
class AttachRun {
  private snap: AnyMachineSnapshot;
  private timer: TimerId | null = null;
  private watchToken: string | null = null;
  private failure: string | null = null;
  readonly done = new Signal<DeviceOutcome>();
  private finished = false;
  private replaying = false;
  private mode: 'attach' | 'detach' | 'replay' = 'replay';
  private readonly ctx: DeviceRunContext;
  private readonly ops: DeviceKindOps;
  private readonly forceDetach: boolean;

  constructor(
    ctx: DeviceRunContext,
    ops: DeviceKindOps,
    start: 'attach' | 'detach',
    force: boolean,
  ) {
    this.ctx = ctx;
    this.ops = ops;
    this.forceDetach = force;
    const [snap, actions] = initialTransition(deviceAttachMachine);
    this.snap = snap;
    this.apply(actions);
    if (start === 'detach') {
      // Replay to Attached without side effects: a listed device has completed its attach.
      this.replaying = true;
      this.send({ type: 'WRITTEN' });
      this.send({ type: 'BACKEND_STATE', state: XenbusState.InitWait });
      this.send({ type: 'HOTPLUG_DONE' });
      this.replaying = false;
    }
  }

  begin(kind: 'attach' | 'detach'): void {
    this.mode = kind;
    const w = this.ctx.xs.watch(`${this.ops.backendPath}/state`, () => this.backendChanged());
    if (w.ok) this.watchToken = w.value;
    this.send(
      kind === 'attach' ? { type: 'WRITTEN' } : { type: 'DETACH', force: this.forceDetach },
    );
    // A backend that moved before the watch was set is seen here.
    this.backendChanged();
  }

  private backendChanged(): void {
    const s = this.ctx.xs.read(`${this.ops.backendPath}/state`);
    if (s === undefined) return;
    const st = parseXenbusState(s);
    if (st.ok) this.send({ type: 'BACKEND_STATE', state: st.value });
  }

  private send(ev: DeviceAttachEvent): void {
    if (this.finished) return;
    const [snap, actions] = transition(deviceAttachMachine, this.snap, ev);
    this.snap = snap;
    this.apply(actions);
    // Attached ends an attach (the machine stays there, ready for a later DETACH).
    const attached = this.mode === 'attach' && String(this.snap.value) === 'Attached';
    if (this.snap.status === 'done' || attached) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.watchToken !== null)
      this.ctx.xs.unwatch(`${this.ops.backendPath}/state`, this.watchToken);
    if (this.timer !== null) this.ctx.clock.cancel(this.timer);
    const value = String(this.snap.value);
    this.done.fire(
      value === 'Failed' ? { ok: false, message: this.failure ?? 'device failed' } : { ok: true },
    );
  }

  private apply(actions: readonly { type: string; params?: unknown }[]): void {
    const { clock } = this.ctx;
    if (this.replaying) return;
    for (const a of actions) {
      switch (a.type) {
        case 'startTimer': {
          const ms = (a.params as { ms: number }).ms;
          if (this.timer !== null) clock.cancel(this.timer);
          this.timer = clock.at(clock.now() + ms * MS, () => {
            this.timer = null;
            // libxl's detach -f: a backend that never closes is removed anyway.
            if (this.forceDetach && String(this.snap.value) === 'WaitClosed') {
              this.ops.hotplugRemove();
              this.ops.removePaths();
              this.finished = true;
              this.done.fire({ ok: true });
              return;
            }
            this.send({ type: 'TIMEOUT' });
          });
          break;
        }
        case 'cancelTimer':
          if (this.timer !== null) clock.cancel(this.timer);
          this.timer = null;
          break;
        case 'runHotplug':
          clock.at(clock.now(), () => {
            const e = this.ops.hotplug();
            this.send(
              e === null ? { type: 'HOTPLUG_DONE' } : { type: 'HOTPLUG_FAILED', message: e },
            );
          });
          break;
        case 'runHotplugRemove':
          this.ops.hotplugRemove();
          break;
        case 'writeDetach':
          this.ctx.xs.transact((tx) => {
            this.ctx.xs.write(`${this.ops.backendPath}/online`, '0', tx);
            return this.ctx.xs.write(
              `${this.ops.backendPath}/state`,
              String(XenbusState.Closing),
              tx,
            );
          });
          break;
        case 'removePaths':
          this.ops.removePaths();
          break;
        case 'fail':
          this.failure = (a.params as { message: string }).message;
          break;
        default:
          break;
      }
    }
  }
}

/** Waits for the backend's InitWait and runs hotplug (reference 6.1 steps 2-3). */
export function waitDeviceAttached(ctx: DeviceRunContext, ops: DeviceKindOps): Wait<DeviceOutcome> {
  const run = new AttachRun(ctx, ops, 'attach', false);
  const w = run.done.wait(ctx.clock);
  return (resume) => {
    const cancel = w(resume);
    run.begin('attach');
    return cancel;
  };
}

/** Closes the device (online=0, state=5) and waits for backend Closed; `force` removes it anyway. */
export function waitDeviceDetached(
  ctx: DeviceRunContext,
  ops: DeviceKindOps,
  force: boolean,
): Wait<DeviceOutcome> {
  const run = new AttachRun(ctx, ops, 'detach', force);
  const w = run.done.wait(ctx.clock);
  return (resume) => {
    const cancel = w(resume);
    run.begin('detach');
    return cancel;
  };
}
