// dom0's filesystem: a host directory standing for dom0's `/`, where config paths (kernel, ramdisk,
// disk targets) resolve, seeded with what the shipped examples need (as a Xen host's /boot and
// /var/lib/xen/images would hold them).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Dom0FileStat, Dom0Filesystem } from './platform.js';
import { BUILTIN_PV_KERNEL, SEEDED_PV_KERNEL_PATH, formatKernelImage } from './kernel-image.js';

/** Resolves a config path against dom0's cwd into a normalized absolute dom0 path. */
export function resolveDom0Path(p: string, cwd = '/'): string {
  const base = cwd.startsWith('/') ? cwd : `/${cwd}`;
  return path.posix.resolve(base, p);
}

/** A Dom0Filesystem over a host directory; `..` cannot climb above the root. */
export class HostDirFilesystem implements Dom0Filesystem {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    fs.mkdirSync(this.root, { recursive: true });
  }

  hostPath(dom0Path: string): string {
    const norm = path.posix.resolve('/', dom0Path);
    return path.join(this.root, ...norm.split('/').filter((s) => s !== ''));
  }

  stat(dom0Path: string): Dom0FileStat | undefined {
    try {
      const st = fs.statSync(this.hostPath(dom0Path));
      return {
        kind: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other',
        sizeBytes: st.size,
      };
    } catch {
      return undefined;
    }
  }

  readFile(dom0Path: string): Uint8Array | undefined {
    try {
      return fs.readFileSync(this.hostPath(dom0Path));
    } catch {
      return undefined;
    }
  }

  writeFile(dom0Path: string, bytes: Uint8Array): void {
    const hp = this.hostPath(dom0Path);
    fs.mkdirSync(path.dirname(hp), { recursive: true });
    fs.writeFileSync(hp, bytes);
  }

  unlink(dom0Path: string): boolean {
    try {
      fs.unlinkSync(this.hostPath(dom0Path));
      return true;
    } catch {
      return false;
    }
  }

  /** Creates a sparse file of `sizeBytes` (a disk image) unless one exists. */
  ensureSparseFile(dom0Path: string, sizeBytes: number): void {
    if (this.stat(dom0Path)) return;
    const hp = this.hostPath(dom0Path);
    fs.mkdirSync(path.dirname(hp), { recursive: true });
    const fd = fs.openSync(hp, 'w');
    try {
      fs.ftruncateSync(fd, sizeBytes);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** What a fresh host's dom0 filesystem holds. */
export const SEEDED_KERNELS: readonly string[] = [SEEDED_PV_KERNEL_PATH, '/boot/vmlinuz'];
export const SEEDED_IMAGES_DIR = '/var/lib/xen/images';
export const SEEDED_DISK_BYTES = 256 * 1024 * 1024;

export interface SeedOptions {
  /** Extra disk images to create (sparse), e.g. the targets the example configs name. */
  readonly diskImages?: readonly string[];
  /** Extra kernel image paths that boot the built-in PV kernel. */
  readonly kernels?: readonly string[];
}

/** Seeds the built-in PV kernel image(s) and disk images; existing files are left alone. */
export function seedDom0Filesystem(f: HostDirFilesystem, o: SeedOptions = {}): void {
  const img = new TextEncoder().encode(
    formatKernelImage({ kind: 'builtin', name: BUILTIN_PV_KERNEL }),
  );
  for (const k of [...SEEDED_KERNELS, ...(o.kernels ?? [])]) if (!f.stat(k)) f.writeFile(k, img);
  for (const d of [`${SEEDED_IMAGES_DIR}/guest.img`, ...(o.diskImages ?? [])])
    f.ensureSparseFile(d, SEEDED_DISK_BYTES);
  for (const dir of ['/var/lib/xen/dump', '/var/lib/xen/save'])
    fs.mkdirSync(f.hostPath(dir), { recursive: true });
}
