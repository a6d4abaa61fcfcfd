// The idle workload: a guest that boots and then only reacts to events (xenstore watches, console
// input, shutdown requests), blocked in SCHEDOP_block like an idle Linux (xen_safe_halt).

import type { GuestMain } from '../kernel-api.js';
import { waitUntil } from '../kthread.js';

export const idle: GuestMain = function* idle() {
  yield* waitUntil(() => false);
};
