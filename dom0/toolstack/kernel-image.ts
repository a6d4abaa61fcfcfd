// The PV kernel image the domain builder loads (tools/libs/guest/xg_dom_core.c xc_dom_kernel_file,
// xg_dom_elfloader.c) and the vCPU context it hands Xen (XEN_DOMCTL_setvcpucontext,
// public/domctl.h). DEVIATION(xen): an image is a small JSON file naming guest code, not an ELF.
//
// Format (a file in dom0's filesystem, UTF-8 JSON, at most 64 KiB):
//   {"xensim-kernel": 1, "builtin": "<name>"}                    a kernel built into xensim
//   {"xensim-kernel": 1, "module": "<path>", "export": "<name>"} a GuestProgram exported by a JS
//                                                                module (path relative to the image)
// Optional: "release": "<uname -r of the guest>", "cmdline": "<default command line>".
//
// Contract with the hypervisor: the builder registers the program in the GuestProgramRegistry
// under a KernelRef, then issues XEN_DOMCTL_setvcpucontext with `u` = KernelVcpuContext for
// vCPU 0. Xen resolves `ctxt.kernel` in the registry and starts that program on the vCPUs
// (vCPU 0 and the next `nr_online_vcpus - 1`) once the domain is unpaused, filling the guest's
// StartInfo from the start_info page at `ctxt.start_info_pfn` (hypercalls/start-info.ts layout);
// an unknown ref is -EINVAL, a second setvcpucontext on an initialised vCPU 0 is -EEXIST.

import type { VcpuGuestContext } from '../../hypercalls/vcpu.js';

export const KERNEL_IMAGE_FORMAT_VERSION = 1;
export const KERNEL_IMAGE_MAX_BYTES = 64 * 1024;

/** The xensim PV guest kernel (domU/) as the registry knows it. */
export const BUILTIN_PV_KERNEL = 'xensim-pv';
/** Where the seeded dom0 filesystem keeps its image. */
export const SEEDED_PV_KERNEL_PATH = '/boot/vmlinuz-xensim-pv';

export type KernelImage =
  | {
      readonly kind: 'builtin';
      readonly name: string;
      readonly release?: string;
      readonly cmdline?: string;
    }
  | {
      readonly kind: 'module';
      /** As written in the image: relative to the image's directory unless absolute. */
      readonly module: string;
      readonly exportName: string;
      readonly release?: string;
      readonly cmdline?: string;
    };

export type KernelImageResult = { ok: true; image: KernelImage } | { ok: false; error: string };

/** Registry key: `builtin:<name>` or `module:<host path>#<export>`. */
export type KernelRef = string;

export const builtinRef = (name: string): KernelRef => `builtin:${name}`;
export const moduleRef = (hostPath: string, exportName: string): KernelRef =>
  `module:${hostPath}#${exportName}`;

/** XEN_DOMCTL_setvcpucontext's payload as the builder sends it. */
export interface KernelVcpuContext {
  vcpu: number;
  ctxt: VcpuGuestContext & {
    user_regs: { rip: number };
    /** The registry key of the code to run. */
    kernel: KernelRef;
    /** vCPUs brought online at boot (avail_vcpus); the rest stay offline for vcpu-set. */
    nr_online_vcpus: number;
    /** The pfn of the start_info page the builder wrote (what rsi points at on x86-64 PV entry). */
    start_info_pfn: number;
    /** 1 on restore: the kernel resumes from its memory image (SCHEDOP_shutdown(suspend) returns 0). */
    resumed: number;
  };
}

/** The JSON text of an image (what the seeded filesystem writes). */
export function formatKernelImage(img: KernelImage): string {
  const o: Record<string, unknown> = { 'xensim-kernel': KERNEL_IMAGE_FORMAT_VERSION };
  if (img.kind === 'builtin') o.builtin = img.name;
  else {
    o.module = img.module;
    o.export = img.exportName;
  }
  if (img.release !== undefined) o.release = img.release;
  if (img.cmdline !== undefined) o.cmdline = img.cmdline;
  return `${JSON.stringify(o)}\n`;
}

const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length < 4096;

/** Parses a kernel image; any other content (a real ELF, junk) is an error, never a throw. */
export function parseKernelImage(bytes: Uint8Array): KernelImageResult {
  if (bytes.length > KERNEL_IMAGE_MAX_BYTES)
    return { ok: false, error: 'not a xensim kernel image (too large)' };
  if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46)
    return {
      ok: false,
      error: 'ELF kernels are not supported by xensim; use a xensim kernel image',
    };
  let o: unknown;
  try {
    o = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, error: 'not a xensim kernel image' };
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    return { ok: false, error: 'not a xensim kernel image' };
  const r = o as Record<string, unknown>;
  if (r['xensim-kernel'] !== KERNEL_IMAGE_FORMAT_VERSION)
    return {
      ok: false,
      error: `unsupported xensim kernel image version ${String(r['xensim-kernel'])}`,
    };
  const extra = {
    ...(str(r.release) ? { release: r.release } : {}),
    ...(typeof r.cmdline === 'string' ? { cmdline: r.cmdline } : {}),
  };
  if (str(r.builtin) && r.module === undefined)
    return { ok: true, image: { kind: 'builtin', name: r.builtin, ...extra } };
  if (str(r.module) && r.builtin === undefined) {
    const exportName = r.export === undefined ? 'default' : r.export;
    if (!str(exportName)) return { ok: false, error: 'kernel image: "export" must be a name' };
    return { ok: true, image: { kind: 'module', module: r.module, exportName, ...extra } };
  }
  return { ok: false, error: 'kernel image must name exactly one of "builtin" or "module"' };
}
