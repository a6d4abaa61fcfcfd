// The guest's reaction to `control/shutdown` (Linux drivers/xen/manage.c shutdown_handler and
// setup_shutdown_watcher): advertise feature-poweroff/reboot/suspend, and on a request read it in a
// transaction, acknowledge a known command by writing "" back, commit (retrying on EAGAIN), then act.

import { SHUTDOWN_poweroff, SHUTDOWN_reboot } from '../hypercalls/sched.js';
import type { KThread } from './kthread.js';
import type { XenbusClient } from './xenbus/xs-client.js';

/** What the kernel does for each command. */
export interface ShutdownActions {
  /** Orderly shutdown, ending in SCHEDOP_shutdown(reason); does not return while the domain lives. */
  shutdown(reason: number): KThread;
  /** do_suspend: returns 1 if the suspend was cancelled (same domain), 0 when resumed in a new domain. */
  suspend(): KThread<number>;
}

/** shutdown_handlers[]: command, whether Linux advertises `feature-<command>`, and what it does. */
const COMMANDS = ['poweroff', 'halt', 'reboot', 'suspend'] as const;
type Command = (typeof COMMANDS)[number];
const FEATURES: readonly Command[] = ['poweroff', 'reboot', 'suspend'];

export class ShutdownWatcher {
  private readonly xs: XenbusClient;
  private readonly actions: ShutdownActions;
  /** A request is being carried out: further ones are ignored (Linux's shutting_down). */
  private shuttingDown = false;
  /** Commands acknowledged, in order (what tests and labs check). */
  readonly handled: string[] = [];
  /** Values read that were not commands (Linux: "Ignoring shutdown request"). */
  readonly ignored: string[] = [];
  /** Results of suspends: 1 cancelled, 0 resumed in a new domain. */
  readonly suspendResults: number[] = [];

  constructor(xs: XenbusClient, actions: ShutdownActions) {
    this.xs = xs;
    this.actions = actions;
  }

  /** Writes control/feature-{poweroff,reboot,suspend} = 1. */
  *advertise(): KThread {
    for (const f of FEATURES) yield* this.xs.write(`control/feature-${f}`, '1');
  }

  /** setup_shutdown_watcher: advertise, then watch control/shutdown. */
  *setup(): KThread<boolean> {
    yield* this.advertise();
    const w = yield* this.xs.watch('control/shutdown', () => this.onWatch());
    return w.ok;
  }

  private *onWatch(): KThread {
    if (this.shuttingDown) return;
    let command: Command | null = null;
    let value = '';
    const r = yield* this.xs.transaction(function* (tx) {
      const v = yield* tx.read('control/shutdown');
      // XENBUS_IS_ERR_READ: a failed or empty read is not a request; abort.
      if (!v.ok || v.value === '') return { ok: false as const, error: 'ENOENT' as const };
      value = v.value;
      command = (COMMANDS as readonly string[]).includes(v.value) ? (v.value as Command) : null;
      // Only acknowledge commands we are prepared to handle.
      if (command !== null) {
        const w = yield* tx.write('control/shutdown', '');
        if (!w.ok) return w;
      }
      return { ok: true as const, value: undefined };
    });
    if (!r.ok) return;
    if (command === null) {
      this.ignored.push(value);
      return;
    }
    yield* this.act(command);
  }

  private *act(command: Command): KThread {
    this.handled.push(command);
    this.shuttingDown = true;
    if (command === 'suspend') {
      const result = yield* this.actions.suspend();
      this.suspendResults.push(result);
      this.shuttingDown = false;
      return;
    }
    yield* this.actions.shutdown(command === 'reboot' ? SHUTDOWN_reboot : SHUTDOWN_poweroff);
  }
}
