// A guest kernel's access to its own memory by pfn, standing in for its page tables: every write
// goes through here so log-dirty mode sees it (the write faults of xen/arch/x86/mm/paging.c), and
// foreign pages reach it only where a grant map installed them.

import { PAGE_SIZE } from '../../hypercalls/types.js';
import { XEN_EFAULT, XEN_EINVAL, XEN_ESRCH } from '../../hypercalls/errno.js';
import type { GuestMemory } from '../../hypercalls/memory.js';
import type { DomainMemory } from './domain-memory.js';
import type { MachineMemory } from './machine-memory.js';

const inPage = (offset: number, len: number): boolean =>
  Number.isInteger(offset) && offset >= 0 && offset + len <= PAGE_SIZE;

export class GuestMemoryAccess implements GuestMemory {
  readonly domid: number;
  private readonly mm: MachineMemory;
  private readonly d: DomainMemory;

  constructor(mm: MachineMemory, d: DomainMemory) {
    this.mm = mm;
    this.d = d;
    this.domid = d.domid;
  }

  pfnToMfn(pfn: number): number {
    if (!Number.isInteger(pfn)) return -1;
    // A page still on the migration source faults in first (the guest's access waits for it).
    const po = this.d.pagedOut;
    if (po !== null && po[pfn] === 1) this.mm.pageIn(this.d, pfn);
    return this.d.mfnOf(pfn);
  }

  mfnToPfn(mfn: number): number {
    const t = this.mm.table;
    return t.valid(mfn) && t.owner(mfn) === this.domid ? t.m2p(mfn) : -1;
  }

  read(pfn: number, offset: number, dst: Uint8Array): number {
    if (this.d.dying) return XEN_ESRCH;
    const mfn = this.pfnToMfn(pfn);
    if (mfn < 0) return XEN_EFAULT;
    if (!inPage(offset, dst.length)) return XEN_EINVAL;
    this.mm.frames.read(mfn, offset, dst);
    return 0;
  }

  write(pfn: number, offset: number, src: Uint8Array): number {
    if (this.d.dying) return XEN_ESRCH;
    const mfn = this.pfnToMfn(pfn);
    if (mfn < 0) return XEN_EFAULT;
    if (!inPage(offset, src.length)) return XEN_EINVAL;
    this.mm.frames.view(mfn).set(src, offset);
    if (this.d.logDirty) this.d.markDirty(pfn);
    return 0;
  }

  view(pfn: number): Uint8Array | undefined {
    const mfn = this.d.dying ? -1 : this.pfnToMfn(pfn);
    return mfn < 0 ? undefined : this.mm.frames.view(mfn);
  }

  writableView(pfn: number): Uint8Array | undefined {
    const mfn = this.d.dying ? -1 : this.pfnToMfn(pfn);
    if (mfn < 0) return undefined;
    if (this.d.logDirty) this.d.markDirty(pfn);
    return this.mm.frames.view(mfn);
  }

  ownFrame(mfn: number): Uint8Array | undefined {
    const t = this.mm.table;
    if (this.d.dying || !t.valid(mfn) || t.owner(mfn) !== this.domid) return undefined;
    this.mm.markDirtyMfn(mfn);
    return this.mm.frames.view(mfn);
  }

  mappedView(hostAddr: number): Uint8Array | undefined {
    const m = this.d.hostMapping(hostAddr);
    if (m < 0 || m % 2 === 0) return undefined;
    this.mm.markDirtyMfn(Math.floor(m / 2));
    return this.mm.frames.view(Math.floor(m / 2));
  }

  readMapped(hostAddr: number, offset: number, dst: Uint8Array): number {
    const m = this.d.hostMapping(hostAddr);
    if (m < 0) return XEN_EFAULT;
    if (!inPage(offset, dst.length)) return XEN_EINVAL;
    this.mm.frames.read(Math.floor(m / 2), offset, dst);
    return 0;
  }

  writeMapped(hostAddr: number, offset: number, src: Uint8Array): number {
    const m = this.d.hostMapping(hostAddr);
    if (m < 0 || m % 2 === 0) return XEN_EFAULT;
    if (!inPage(offset, src.length)) return XEN_EINVAL;
    this.mm.frames.view(Math.floor(m / 2)).set(src, offset);
    this.mm.markDirtyMfn(Math.floor(m / 2));
    return 0;
  }
}
