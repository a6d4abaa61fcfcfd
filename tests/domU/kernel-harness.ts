// Boots the domU kernel model on a FakeXen with a FakeXenstored, for kernel-level tests.

import { pvKernelProgram } from '../../domU/boot.js';
import type { KernelConfig, PvKernel } from '../../domU/kernel.js';
import { FakeXen, type FakeXenOptions } from './fake-xen.js';
import { FakeXenstored } from './fake-xenstored.js';

export function bootKernel(
  config: Partial<KernelConfig> = {},
  opts: FakeXenOptions & { setup?: (xsd: FakeXenstored) => void } = {},
) {
  const xen = new FakeXen(opts);
  const xsd = new FakeXenstored(xen);
  xsd.set('memory/target', String((opts.nrPages ?? 1024) * 4));
  opts.setup?.(xsd);
  const program = pvKernelProgram({
    platform: (env) => ({ env, memory: xen.memory }),
    banner: false,
    ...config,
  });
  const co = program(xen.env, 0);
  const kernel = (): PvKernel => {
    const k = program.kernel();
    if (!k) throw new Error('kernel not booted');
    return k;
  };
  /** Runs until `pred` holds (or `maxNs` of virtual time); returns whether it held. */
  const runUntil = (pred: () => boolean, maxNs = 10e9): boolean => xen.run(co, pred, maxNs);
  return { xen, xsd, co, kernel, runUntil, program };
}
