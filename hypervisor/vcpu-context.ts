// XEN_DOMCTL_setvcpucontext for a PV domain being built (xen/common/domctl.c, arch_set_info_guest):
// the domain builder hands Xen vCPU 0's initial context. DEVIATION(xen): a PV context here names the
// guest code to start (a kernel reference the composition root's registry resolves) instead of
// register values, and Xen fills the guest's start_info view from the start_info page the builder
// wrote (dom0/toolstack/kernel-image.ts states the builder's half of the contract).

import {
  err,
  ok,
  XEN_EEXIST,
  XEN_EFAULT,
  XEN_EINVAL,
  XEN_ENOSYS,
  XEN_ESRCH,
  type XenResult,
} from '../hypercalls/errno.js';
import type { GuestProgram } from '../hypercalls/guest-interface.js';
import { readStartInfo } from '../hypercalls/start-info.js';
import { asDomId, PAGE_SIZE } from '../hypercalls/types.js';
import { intField, struct } from './args.js';
import type { Domain } from './domain.js';
import type { Hypervisor } from './hypervisor.js';

/** Resolves a kernel reference (`builtin:<name>`, `module:<path>#<export>`) to fresh guest code. */
export type KernelResolver = (ref: string) => GuestProgram | undefined;

export function setVcpuContext(
  hv: Hypervisor,
  caller: Domain,
  d: Domain,
  u: unknown,
): XenResult<number> {
  const o = struct(u);
  const ctxt = o ? struct(o.ctxt) : null;
  if (!o || !ctxt) return err(XEN_EFAULT);
  // Xen refuses to set the context of a vCPU of the calling domain, or of a running domain.
  if (d === caller) return err(XEN_EINVAL);
  const vcpu = intField(o, 'vcpu', 0, 0xffff);
  if (Number.isNaN(vcpu) || vcpu >= d.vcpus.length) return err(XEN_EINVAL);
  // DEVIATION(xen): only vCPU 0 carries the kernel; secondary vCPUs start with VCPUOP_initialise.
  if (vcpu !== 0) return err(XEN_EINVAL);
  if (d.controllerPauseCount === 0 || d.dying) return err(XEN_EINVAL);
  const v0 = d.vcpus[0];
  if (!v0 || v0.initialised) return err(XEN_EEXIST);
  const ref = ctxt.kernel;
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > 4096) return err(XEN_EINVAL);
  if (!hv.kernels) return err(XEN_ENOSYS);
  const program = hv.kernels(ref);
  if (!program) return err(XEN_EINVAL);
  const siPfn = intField(ctxt, 'start_info_pfn', 0, 0x7fffffff);
  const nrOnline = intField(ctxt, 'nr_online_vcpus', 1, d.vcpus.length);
  if (Number.isNaN(siPfn) || Number.isNaN(nrOnline)) return err(XEN_EINVAL);
  const memory = hv.memory;
  if (!memory) return err(XEN_ENOSYS);
  const g = memory.guest(asDomId(d.domid));
  if (!g.ok) return err(XEN_ESRCH);
  const page = new Uint8Array(PAGE_SIZE);
  if (g.value.read(siPfn, 0, page) !== 0) return err(XEN_EFAULT);
  const si = readStartInfo(new DataView(page.buffer));
  if (!si.ok) return err(XEN_EINVAL);
  const s = si.value;
  const env = d.env;
  if (!env) return err(XEN_EINVAL);
  const console = 'domU' in s.console ? s.console.domU : { mfn: 0, evtchn: 0 };
  Object.assign(env.startInfo, {
    magic: s.magic,
    flags: s.flags,
    nr_pages: s.nr_pages,
    store_mfn: s.store_mfn,
    store_evtchn: s.store_evtchn,
    console_mfn: console.mfn,
    console_evtchn: console.evtchn,
    cmd_line: s.cmd_line,
  });
  hv.boot(d, program, nrOnline);
  return ok(0);
}
