// A piece of a guest page that a frame's data lies in (Linux's skb_frag_t: page, offset, size),
// for transmitting without copying (xen-netfront.c xennet_make_txreqs grants such pages).

export interface PageFrag {
  readonly pfn: number;
  readonly offset: number;
  readonly length: number;
}

/** Called once the backend answered every slot of a frame sent from PageFrags and their grants
 *  were ended: the pages may be written again. `ok` is false when a slot was answered with an
 *  error or a grant could not be ended. */
export type FragsDone = (ok: boolean) => void;
