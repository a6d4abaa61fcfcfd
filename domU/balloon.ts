// The balloon driver (Linux drivers/xen/balloon.c and xen-balloon.c): follows `memory/target` (KiB)
// by handing pages back with XENMEM_decrease_reservation or taking ballooned pfns back with
// XENMEM_populate_physmap, in batches, retrying with a growing delay when Xen refuses (max_pages).

import type { HypercallInterface } from '../hypercalls/guest-interface.js';
import {
  XENMEM_decrease_reservation,
  XENMEM_populate_physmap,
  type xen_memory_reservation,
} from '../hypercalls/memory.js';
import type { GuestMemory } from '../hypercalls/memory.js';
import { DOMID_SELF } from '../hypercalls/xen.js';
import { waitUntil, type KThread } from './kthread.js';
import type { PageAllocator } from './page-allocator.js';

/** frame_list holds one page of unsigned longs. */
export const BALLOON_BATCH_PAGES = 512;
/** balloon_stats.max_schedule_delay, seconds. */
export const BALLOON_MAX_DELAY_S = 32;
const NS_PER_S = 1_000_000_000;
/** Guest CPU per ballooned page (a modelling choice, not a measured figure). */
export const BALLOON_NS_PER_PAGE = 1000;

export interface BalloonDeps {
  hypercalls(): HypercallInterface;
  memory(): GuestMemory;
  readonly pages: PageAllocator;
  now(): number;
}

export class Balloon {
  private readonly d: BalloonDeps;
  /** Pages the guest holds (start_info.nr_pages at boot). */
  currentPages: number;
  targetPages: number;
  private delayS = 1;
  private retryAtNs = 0;
  /** Why the last step stopped short (Xen refused, no free pages, nothing left to populate). */
  lastError: string | null = null;
  /** memory_op calls made (for tests and traces). */
  hypercallCount = 0;

  constructor(deps: BalloonDeps, currentPages: number) {
    this.d = deps;
    this.currentPages = currentPages;
    this.targetPages = currentPages;
  }

  get currentKb(): number {
    return this.currentPages * 4;
  }

  /** balloon_set_new_target from `memory/target` (KiB; PV has no static-max offset). */
  setTargetKb(kb: number): void {
    if (!Number.isFinite(kb) || kb < 0) return;
    this.targetPages = Math.floor(kb / 4);
    this.delayS = 1;
    this.retryAtNs = 0;
  }

  /** The balloon worker thread: moves one batch at a time toward the target. */
  *worker(): KThread<never> {
    for (;;) {
      if (this.targetPages === this.currentPages) {
        yield* waitUntil(() => this.targetPages !== this.currentPages);
        continue;
      }
      if (this.d.now() < this.retryAtNs) {
        // A new target resets the delay (retryAtNs = 0), which also ends this wait.
        yield* waitUntil(() => this.d.now() >= this.retryAtNs, this.retryAtNs);
        continue;
      }
      const pagesBefore = this.currentPages;
      const ok = this.step();
      if (ok) {
        this.delayS = 1;
        this.lastError = null;
      } else {
        this.retryAtNs = this.d.now() + this.delayS * NS_PER_S;
        this.delayS = Math.min(this.delayS * 2, BALLOON_MAX_DELAY_S);
      }
      // Work per page moved (scrub, P2M update): BALLOON_NS_PER_PAGE each.
      yield BALLOON_NS_PER_PAGE * (1 + Math.abs(this.currentPages - pagesBefore));
    }
  }

  /** One batch; false when it could not do the whole batch. */
  step(): boolean {
    const credit = this.targetPages - this.currentPages;
    if (credit > 0) return this.increase(Math.min(credit, BALLOON_BATCH_PAGES));
    if (credit < 0) return this.decrease(Math.min(-credit, BALLOON_BATCH_PAGES));
    return true;
  }

  /** increase_reservation: populate ballooned pfns (the GPFNs go in, the MFNs come back). */
  private increase(nr: number): boolean {
    const pfns = this.d.pages.balloonedPfns(nr);
    if (pfns.length === 0) {
      this.lastError = 'no ballooned pages left to populate';
      return false;
    }
    const r: xen_memory_reservation = {
      extent_start: [...pfns],
      nr_extents: pfns.length,
      extent_order: 0,
      mem_flags: 0,
      domid: DOMID_SELF,
    };
    this.hypercallCount++;
    const rc = this.d.hypercalls().memory_op(XENMEM_populate_physmap, r);
    const done = rc > 0 ? Math.min(rc, pfns.length) : 0;
    for (let i = 0; i < done; i++) this.d.pages.markPopulated(pfns[i] as number);
    this.currentPages += done;
    if (done < nr) {
      this.lastError =
        rc < 0 ? `populate_physmap: ${rc}` : `populate_physmap: ${done} of ${nr} pages`;
      return false;
    }
    return true;
  }

  /** decrease_reservation: take free pages, give their frames (GMFN = MFN for PV) back to Xen. */
  private decrease(nr: number): boolean {
    const pfns: number[] = [];
    for (let i = 0; i < nr; i++) {
      const pfn = this.d.pages.alloc();
      if (pfn < 0) break;
      pfns.push(pfn);
    }
    const mfns = pfns.map((pfn) => this.d.memory().pfnToMfn(pfn));
    const r: xen_memory_reservation = {
      extent_start: mfns,
      nr_extents: mfns.length,
      extent_order: 0,
      mem_flags: 0,
      domid: DOMID_SELF,
    };
    let done = 0;
    if (pfns.length > 0) {
      this.hypercallCount++;
      const rc = this.d.hypercalls().memory_op(XENMEM_decrease_reservation, r);
      done = rc > 0 ? Math.min(rc, pfns.length) : 0;
    }
    for (let i = 0; i < pfns.length; i++) {
      const pfn = pfns[i] as number;
      if (i < done) this.d.pages.markBallooned(pfn);
      else this.d.pages.release(pfn);
    }
    this.currentPages -= done;
    if (done < nr) {
      this.lastError =
        pfns.length < nr
          ? 'not enough free pages to balloon out'
          : `decrease_reservation: ${done} of ${pfns.length}`;
      return false;
    }
    return true;
  }
}
