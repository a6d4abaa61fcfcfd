// The domain a migration sends, as the sender's toolstack reaches it (xg_sr_save.c's view of the
// guest: its populated pfns, the log-dirty bitmap, PAGE_DATA batches read through privcmd, the
// static records and the state a stop-and-copy adds).

import { PAGE_SIZE } from '../../hypercalls/types.js';
import {
  XEN_DOMCTL_SHADOW_OP_CLEAN,
  XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY,
  XEN_DOMCTL_SHADOW_OP_OFF,
  XENMEM_maximum_gpfn,
} from '../../hypercalls/memory.js';
import { retrieveDomainConfig, streamConfigJson } from '../toolstack/retrieve-config.js';
import type { DomainRecord } from '../toolstack/domain-registry.js';
import type { LifecycleDeps } from '../toolstack/lifecycle.js';
import { xcError } from '../toolstack/xc-errors.js';
import { encodePageData, encodePageDataBatch, encodeStreamHeader } from './stream-writer.js';

export class SourceDomain {
  private readonly deps: LifecycleDeps;
  private readonly rec: DomainRecord;
  /** The populated pfns (ascending) and a membership table, from `scan`. */
  pfns: number[] = [];
  private populated = new Uint8Array(0);
  private logDirty = false;
  /** Per record buffer: 1 for each page slot known to hold zeros (see pageRecord). */
  private readonly zeroPages = new WeakMap<ArrayBufferLike, Uint8Array>();

  constructor(deps: LifecycleDeps, rec: DomainRecord) {
    this.deps = deps;
    this.rec = rec;
  }

  /** XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY. */
  enableLogDirty(): void {
    const domid = this.rec.domid;
    const on = this.deps.xc.shadowControl(domid, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY);
    if (!on.ok) throw xcError(`enabling log-dirty mode on domain ${domid}`, on.errno);
    this.logDirty = true;
  }

  /** One PAGE_DATA of `batch` read through privcmd, into a fresh buffer or one `recycled` hands back. */
  pageRecord(
    batch: readonly number[],
    recycled?: (bytes: number) => Uint8Array | null,
  ): Uint8Array {
    const { foreign } = this.deps.platform;
    const domid = this.rec.domid;
    if (foreign.copyFromPfns) {
      let rc = 0;
      const rec = encodePageDataBatch(
        batch,
        (data, zeroed) => {
          // Which pages of a reused record still hold the zeros an earlier batch left there: a
          // never-written frame then costs nothing (the same bytes go out either way).
          let known = this.zeroPages.get(data.buffer);
          if (known === undefined) {
            known = new Uint8Array(batch.length);
            this.zeroPages.set(data.buffer, known);
          }
          if (zeroed) known.fill(1);
          rc = foreign.copyFromPfns?.(domid, batch, data, known) ?? 0;
        },
        (bytes) => recycled?.(bytes) ?? null,
      );
      if (rc !== 0) throw xcError(`reading the memory of domain ${domid}`, rc);
      return rec;
    }
    const m = foreign.mapForeignPfns(domid, batch, false);
    if (!m.ok) throw xcError(`mapping the memory of domain ${domid}`, m.errno);
    try {
      return encodePageData(batch, (i, dst) => void m.value.read(i, dst, true));
    } finally {
      foreign.unmapForeign(m.value);
    }
  }

  /** SHADOW_OP_CLEAN: the populated pfns dirtied since the last call, ascending. */
  clean(): number[] {
    const { xc } = this.deps;
    const domid = this.rec.domid;
    const n = this.populated.length;
    const bitmap = new Uint8Array((n + 7) >>> 3);
    const r = xc.shadowControl(domid, XEN_DOMCTL_SHADOW_OP_CLEAN, bitmap, n);
    if (!r.ok) throw xcError(`reading the dirty log of domain ${domid}`, r.errno);
    const out: number[] = [];
    for (let byte = 0; byte < bitmap.length; byte++) {
      let b = bitmap[byte] as number;
      while (b !== 0) {
        const bit = 31 - Math.clz32(b & -b);
        b &= b - 1;
        const pfn = byte * 8 + bit;
        if (this.populated[pfn] === 1) out.push(pfn);
      }
    }
    return out;
  }

  logDirtyOff(): void {
    if (!this.logDirty) return;
    this.logDirty = false;
    this.deps.xc.shadowControl(this.rec.domid, XEN_DOMCTL_SHADOW_OP_OFF);
  }

  /** The pfns with memory behind them (holes are ballooned out), and a membership table. */
  /** Reads the populated set (once, before the stream header). */
  scan(): number[] {
    const { platform } = this.deps;
    const domid = this.rec.domid;
    const max = platform.hypercalls.memory_op(XENMEM_maximum_gpfn, domid);
    if (max < 0) throw xcError(`xc_domain_maximum_gpfn for domain ${domid}`, -max);
    const out: number[] = [];
    this.populated = new Uint8Array(max + 1);
    for (let base = 0; base <= max; base += 65536) {
      const n = Math.min(65536, max + 1 - base);
      const all = new Array<number>(n);
      for (let i = 0; i < n; i++) all[i] = base + i;
      const m = platform.foreign.mapForeignPfns(domid, all, false);
      if (!m.ok) throw xcError(`mapping the memory of domain ${domid}`, m.errno);
      for (let i = 0; i < n; i++)
        if (m.value.pages[i]?.errno === 0) {
          out.push(base + i);
          this.populated[base + i] = 1;
        }
      platform.foreign.unmapForeign(m.value);
    }
    this.pfns = out;
    return out;
  }

  headerChunks(): Uint8Array[] {
    const v = this.deps.platform.hypercalls.xen_version(0);
    // The domain as it is now: an xl rename or an earlier migration's <name>--incoming changed its
    // name, xl mem-set its memory target.
    return encodeStreamHeader(
      {
        configJson: streamConfigJson(retrieveDomainConfig(this.rec)),
        xenMajor: v >>> 16,
        xenMinor: v & 0xffff,
        layout: this.rec.layout,
        pfns: this.pfns,
      },
      { checksums: false },
    );
  }

  /** The boot region a new domain's kernel and toolstack touch before any guest code runs. */
  bootPfns(): Set<number> {
    const l = this.rec.layout;
    const s = new Set<number>([l.startInfoPfn, l.storePfn, l.consolePfn]);
    for (let i = 0; i < l.p2mPages; i++) s.add(l.p2mPfn + i);
    for (let i = 0; i < l.kernelPages; i++) s.add(l.kernelPfn + i);
    return s;
  }

  /** The shared_info page's bytes (SHARED_INFO record). */
  sharedInfo(): Uint8Array {
    const { xc, platform } = this.deps;
    const out = new Uint8Array(PAGE_SIZE);
    const info = xc.getInfo(this.rec.domid);
    if (!info.ok) throw xcError(`xc_domain_getinfo for domain ${this.rec.domid}`, info.errno);
    const m = platform.foreign.mapForeignMfns(
      this.rec.domid,
      [info.value.shared_info_frame],
      false,
    );
    if (m.ok) {
      m.value.read(0, out);
      platform.foreign.unmapForeign(m.value);
    }
    return out;
  }

  onlineVcpus(): number {
    const info = this.deps.xc.getInfo(this.rec.domid);
    return info.ok ? Math.max(1, info.value.nr_online_vcpus) : 1;
  }
}

/** The union of two ascending pfn lists. */
export function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? (a[i] as number) : Infinity;
    const y = j < b.length ? (b[j] as number) : Infinity;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) out.push(a[i++] as number);
    else out.push(b[j++] as number);
  }
  return out;
}
