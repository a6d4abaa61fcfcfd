// XEN_DOMCTL_shadow_op's log-dirty sub-ops: enable, clean (fetch and reset), peek, off
// (xen/arch/x86/mm/paging.c: paging_log_dirty_enable/disable, paging_log_dirty_op).

import { err, ok, XEN_EFAULT, XEN_EINVAL, type XenResult } from '../../hypercalls/errno.js';
import {
  XEN_DOMCTL_SHADOW_OP_CLEAN,
  XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY,
  XEN_DOMCTL_SHADOW_OP_OFF,
  XEN_DOMCTL_SHADOW_OP_PEEK,
} from '../../hypercalls/memory.js';
import type { DomainMemory } from './domain-memory.js';

export function doShadowOp(d: DomainMemory, arg: unknown): XenResult<number> {
  if (typeof arg !== 'object' || arg === null) return err(XEN_EFAULT);
  const sc = arg as Record<string, unknown>;
  switch (sc.op) {
    case XEN_DOMCTL_SHADOW_OP_OFF:
      d.logDirty = false;
      d.dirty = new Uint8Array(0);
      d.dirtyCount = 0;
      d.faultCount = 0;
      return ok(0);
    case XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY:
      if (d.logDirty) return err(XEN_EINVAL);
      d.logDirty = true;
      d.dirty = new Uint8Array(((d.maxGpfn + 1) >>> 3) + 1);
      d.dirtyCount = 0;
      d.faultCount = 0;
      return ok(0);
    case XEN_DOMCTL_SHADOW_OP_CLEAN:
    case XEN_DOMCTL_SHADOW_OP_PEEK:
      return logDirtyOp(d, sc, sc.op === XEN_DOMCTL_SHADOW_OP_CLEAN);
    default:
      return err(XEN_EINVAL);
  }
}

/** Copies the bitmap for pfns [0, min(pages, p2m size)) out; CLEAN then resets the log. */
function logDirtyOp(
  d: DomainMemory,
  sc: Record<string, unknown>,
  clean: boolean,
): XenResult<number> {
  if (!d.logDirty) return err(XEN_EINVAL);
  const bitmap = sc.dirty_bitmap;
  const pagesIn = sc.pages;
  if (bitmap !== null && bitmap !== undefined && !(bitmap instanceof Uint8Array)) {
    return err(XEN_EFAULT);
  }
  if (typeof pagesIn !== 'number' || !Number.isInteger(pagesIn) || pagesIn < 0) {
    return err(XEN_EINVAL);
  }
  const pages = Math.min(pagesIn, d.maxGpfn + 1);
  if (bitmap) {
    const bytes = (pages + 7) >>> 3;
    if (bitmap.length < bytes) return err(XEN_EFAULT);
    const src = d.dirty;
    for (let i = 0; i < bytes; i++) bitmap[i] = src[i] ?? 0;
    // Bits past `pages` in the last byte are not the caller's.
    if (pages & 7 && bytes > 0)
      bitmap[bytes - 1] = (bitmap[bytes - 1] as number) & ((1 << (pages & 7)) - 1);
  }
  sc.pages = pages;
  sc.stats = { fault_count: d.faultCount, dirty_count: d.dirtyCount };
  if (clean) {
    d.dirty.fill(0);
    d.dirtyCount = 0;
    d.faultCount = 0;
  }
  return ok(0);
}
