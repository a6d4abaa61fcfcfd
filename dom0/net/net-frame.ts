// A frame whose bytes are partly still in the sending guest's granted pages (Linux netback's skb
// with foreign frags: drivers/net/xen-netback/netback.c xenvif_tx_build_gops keeps the first
// XEN_NETBACK_TX_COPY_LEN bytes in dom0 and the rest as fragments of the guest's tx grants, and
// rx.c xenvif_gop_frag_copy copies such a fragment with GNTCOPY_source_gref straight from the
// sender's grant). The sender's tx slots are answered once the frame is consumed: every holder
// released it, or it was linearized (copied once into dom0, as skb_linearize / the zerocopy
// callback's fallback do) for a consumer that needs the bytes. Every such consumer calls
// frameBytes(); nothing else reads a NetFrame's fragments.
// DEVIATION(linux): Linux grant-maps the fragments (xenvif_tx_create_map_op), so the guest cannot
// end access while netback holds them; here they are kept as (domid, gref, offset, length) and
// only ever copied by GNTTABOP_copy, so a guest that revokes a grant early makes that copy fail:
// the frame is dropped with a counted reason (netback's rxFragErrors) and everything carries on.

import type { PageFrame } from './frame-pool.js';
import { releaseFrame, retainFrame } from './frame-pool.js';

/** Bytes of a guest frame netback copies into dom0 at tx (XEN_NETBACK_TX_COPY_LEN). */
export const NETBACK_TX_COPY_LEN = 128;
/** Fragments a NetFrame carries at most (one per tx slot: XEN_NETBK_LEGACY_SLOTS_MAX). */
export const NET_FRAME_MAX_FRAGS = 18;

/** What owns a NetFrame's fragments: the netback processor of the sending vif. */
export interface NetFrameOwner {
  /** Copies the fragments once into dom0 (grant copies); the frame's bytes, or null with f.error. */
  linearize(f: NetFrame): Uint8Array | null;
  /** The frame no longer needs the sender's grants: answer its tx slots (called once per use). */
  complete(f: NetFrame): void;
  /** No holder is left: the object may be reused. */
  recycle(f: NetFrame): void;
}

export class NetFrame {
  readonly owner: NetFrameOwner;
  /** The first bytes of the frame, in a dom0 pool page (whole frame's Ethernet/IP headers). */
  head: PageFrame | null = null;
  /** The whole frame's length. */
  length = 0;
  /** The domain whose grants the fragments are. */
  fragDomid = 0;
  fragCount = 0;
  readonly fragRef = new Uint32Array(NET_FRAME_MAX_FRAGS);
  readonly fragOff = new Uint16Array(NET_FRAME_MAX_FRAGS);
  readonly fragLen = new Uint16Array(NET_FRAME_MAX_FRAGS);
  /** Set once linearized: the frame's bytes in dom0; the fragments are no longer used. */
  linear: Uint8Array | null = null;
  /** Why linearizing failed (the sender's grant went away). */
  error: string | null = null;
  /** The sender's tx slots were answered. */
  completed = false;
  /** Live holders. */
  refs = 0;
  /** Virtual time the frame was built (for the hold bound). */
  bornNs = 0;
  /** The owner's bookkeeping: the tx slots to answer and the frame's place in its list. */
  slots = 0;
  readonly slotId = new Uint16Array(NET_FRAME_MAX_FRAGS + 4);
  readonly slotExtra = new Uint8Array(NET_FRAME_MAX_FRAGS + 4);
  listIndex = -1;

  constructor(owner: NetFrameOwner) {
    this.owner = owner;
  }
}

/** A frame as it crosses the bridge: bytes in dom0, or a NetFrame. */
export type Frame = Uint8Array | NetFrame;

/**
 * Whether a Frame is a NetFrame (every other Frame is a typed array). ArrayBuffer.isView is a type
 * check where `instanceof NetFrame` walks a typed array's whole prototype chain (~1 ns against
 * ~5, several times per frame on the data path).
 */
export function isNetFrame(f: Frame): f is NetFrame {
  return !ArrayBuffer.isView(f);
}

/**
 * The frame's bytes in dom0: a NetFrame is linearized once (its sender's tx slots are answered
 * then); null when a fragment could not be copied (reason in `error`).
 */
export function frameBytes(f: Frame): Uint8Array | null {
  if (!isNetFrame(f)) return f;
  if (f.linear !== null) return f.linear;
  if (f.error !== null) return null;
  return f.owner.linearize(f);
}

/** Takes a reference to a frame (pool frames and NetFrames; no-op for heap bytes). */
export function retainAny(f: Frame): void {
  if (isNetFrame(f)) f.refs++;
  else retainFrame(f);
}

/** Drops a reference; the last one of a NetFrame completes its tx slots and recycles it. */
export function releaseAny(f: Frame): void {
  if (!isNetFrame(f)) return releaseFrame(f);
  if (--f.refs > 0) return;
  if (!f.completed) f.owner.complete(f);
  f.owner.recycle(f);
}
