// Reading a PV kernel from dom0's filesystem and making its code known to the hypervisor
// (tools/libs/guest/xg_dom_core.c xc_dom_kernel_file + the ELF loader's probe): a missing file or
// an image that names unknown code is an error naming the path.

import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GuestProgram } from '../../hypercalls/guest-interface.js';
import { resolveDom0Path } from './dom0-fs.js';
import {
  builtinRef,
  moduleRef,
  parseKernelImage,
  type KernelImage,
  type KernelRef,
} from './kernel-image.js';
import type { Dom0Filesystem, GuestProgramRegistry } from './platform.js';

export interface LoadedKernel {
  /** dom0 path of the image. */
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly image: KernelImage;
  readonly ref: KernelRef;
}

export type KernelLoad = { ok: true; kernel: LoadedKernel } | { ok: false; message: string };

/** What stands before the module import: everything that can be checked synchronously. */
export function readKernel(
  fs: Dom0Filesystem,
  programs: GuestProgramRegistry,
  kernelPath: string | undefined,
  cwd: string,
):
  | KernelLoad
  | { ok: 'import'; path: string; bytes: Uint8Array; image: KernelImage; hostPath: string } {
  if (kernelPath === undefined || kernelPath === '')
    return { ok: false, message: 'no kernel specified: a PV guest needs kernel="<path>"' };
  const p = resolveDom0Path(kernelPath, cwd);
  const bytes = fs.readFile(p);
  if (!bytes) {
    const st = fs.stat(p);
    const why = st?.kind === 'dir' ? 'Is a directory' : 'No such file or directory';
    return {
      ok: false,
      message: `xc: error: panic: xg_dom_core.c:207: failed to open file '${p}': ${why}`,
    };
  }
  const parsed = parseKernelImage(bytes);
  if (!parsed.ok) return { ok: false, message: `xc_dom_kernel_file: ${p}: ${parsed.error}` };
  const image = parsed.image;
  if (image.kind === 'builtin') {
    const ref = builtinRef(image.name);
    if (!programs.get(ref))
      return { ok: false, message: `${p}: unknown built-in kernel '${image.name}'` };
    return { ok: true, kernel: { path: p, bytes, image, ref } };
  }
  const modPath = resolveDom0Path(image.module, path.posix.dirname(p));
  const hostPath = fs.hostPath(modPath);
  const ref = moduleRef(hostPath, image.exportName);
  if (programs.get(ref)) return { ok: true, kernel: { path: p, bytes, image, ref } };
  if (!fs.stat(modPath))
    return { ok: false, message: `${p}: guest program module ${modPath} not found` };
  return { ok: 'import', path: p, bytes, image, hostPath };
}

/** Loads a kernel, importing a guest-program module the first time it is named. */
export async function loadKernel(
  fs: Dom0Filesystem,
  programs: GuestProgramRegistry,
  kernelPath: string | undefined,
  cwd: string,
): Promise<KernelLoad> {
  const r = readKernel(fs, programs, kernelPath, cwd);
  if (r.ok !== 'import') return r;
  const image = r.image;
  if (image.kind !== 'module') return { ok: false, message: 'unreachable' };
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(r.hostPath).href)) as Record<string, unknown>;
  } catch (e) {
    return {
      ok: false,
      message: `${r.path}: cannot load guest program module: ${(e as Error).message}`,
    };
  }
  const fn = mod[image.exportName];
  if (typeof fn !== 'function')
    return {
      ok: false,
      message: `${r.path}: module does not export a guest program '${image.exportName}'`,
    };
  const ref = moduleRef(r.hostPath, image.exportName);
  programs.register(ref, fn as GuestProgram);
  return { ok: true, kernel: { path: r.path, bytes: r.bytes, image, ref } };
}
