// Wires a FakeXen, a FakeXenstored and the domU xenbus client on one vCPU, for tests that drive
// guest threads and look at the ring and the store.

import { EventChannels } from '../../domU/evtchn.js';
import { CpuRunner, type KThread } from '../../domU/kthread.js';
import { guestPage } from '../../domU/platform.js';
import { XenbusClient } from '../../domU/xenbus/xs-client.js';
import { FakeXen, STORE_PFN, STORE_PORT, type FakeXenOptions } from './fake-xen.js';
import { FakeXenstored } from './fake-xenstored.js';

export function xsHarness(opts: FakeXenOptions & { startIndex?: number } = {}) {
  const xen = new FakeXen(opts);
  const xsd = new FakeXenstored(xen, opts.startIndex ?? 0);
  const events = new EventChannels(xen.env);
  events.register();
  const xs = new XenbusClient({
    page: guestPage(xen.memory, STORE_PFN),
    notify: () => {
      events.notify(STORE_PORT);
    },
  });
  events.on(STORE_PORT, () => {
    xs.onEvent();
  });
  const runner = new CpuRunner(
    0,
    () => xen.h,
    () => xen.nowNs,
  );
  runner.spawn('xenwatch', xs.xenwatch());
  const co = runner.run();
  /** Runs `thread` to completion and returns its value. */
  function run<T>(thread: KThread<T>, maxNs = 10e9): T {
    let out: { v: T } | null = null;
    runner.spawn('test', thread, (r) => {
      if (!r.ok) throw new Error(r.error);
      out = { v: r.value as T };
    });
    // Spawning from outside is a kick (like an IPI): the vCPU looks at its threads again.
    xen.blocked = false;
    const ok = xen.run(co, () => out !== null, maxNs);
    if (!ok || out === null) throw new Error('thread did not finish');
    return (out as { v: T }).v;
  }
  return { xen, xsd, events, xs, runner, co, run };
}
