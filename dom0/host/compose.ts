// The composition root (architecture section 2): the one place that wires layers together. It builds
// a host's hypervisor and hands dom0 its interfaces; the CLI and the host daemon reach the layers
// below dom0 only through here.

import {
  runSchedulingDemo,
  type SchedulingDemoOptions,
  type SchedulingDemoRow,
} from '../../hypervisor/index.js';

export type { SchedulingDemoOptions, SchedulingDemoRow };

/** The scheduling demo of `xensim demo`: CPU-bound domains with different weights sharing pCPUs. */
export function schedulingDemo(opts: SchedulingDemoOptions): SchedulingDemoRow[] {
  return runSchedulingDemo(opts);
}
