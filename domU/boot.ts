// The kernel's entry point as the hypervisor sees it (Linux's startup_xen / xen_start_kernel on
// vCPU 0 and cpu_bringup_and_idle on the others): the GuestProgram that boots a PvKernel on vCPU 0,
// runs each other vCPU's threads, and, called again on vCPU 0 while the kernel is suspended, is the
// restore of the kernel's memory image into a new domain.

import type { GuestCoroutine, GuestEnv, GuestProgram } from '../hypercalls/guest-interface.js';
import { PvKernel, type KernelConfig } from './kernel.js';

export type PvKernelProgram = GuestProgram & {
  /** The kernel booted by this program, once vCPU 0 has started. */
  kernel(): PvKernel | null;
};

/** One program per domain: it holds that domain's kernel. */
export function pvKernelProgram(config: KernelConfig): PvKernelProgram {
  let kernel: PvKernel | null = null;
  const program = (env: GuestEnv, vcpu: number): GuestCoroutine => {
    if (vcpu === 0) {
      if (kernel?.suspending === true) {
        // A restore: the new domain's env; the suspended thread's SCHEDOP_shutdown returns 0.
        kernel.adopt(env);
      } else {
        kernel = new PvKernel(config, env);
        kernel.boot();
      }
    }
    if (!kernel) return (function* () {})();
    return kernel.runner(vcpu).run();
  };
  return Object.assign(program, { kernel: () => kernel });
}
