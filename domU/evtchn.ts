// The guest's event-channel layer for the 2-level ABI (Linux drivers/xen/events/events_base.c and
// events_2l.c): the upcall that demultiplexes pending ports from the real shared_info bytes, handlers
// per port, local mask/unmask, and the EVTCHNOP calls a kernel makes to bind and notify.

import type { GuestEnv } from '../hypercalls/guest-interface.js';
import {
  EVTCHNOP_bind_virq,
  EVTCHNOP_close,
  EVTCHNOP_send,
  EVTCHNOP_unmask,
  type EvtchnBindVirq,
} from '../hypercalls/event-channel.js';
import {
  SHARED_INFO_evtchn_mask,
  SHARED_INFO_evtchn_pending,
  VCPU_INFO_evtchn_pending_sel,
  VCPU_INFO_evtchn_upcall_pending,
  clearBit,
  setBit,
  testAndSetBit,
  testBit,
  vcpuInfoOffset,
} from '../hypercalls/shared-info.js';

export type PortHandler = (port: number, vcpu: number) => void;

/** Ports in the 2-level ABI on x86-64: 64 words of 64 bits. */
const NR_WORDS = 64;

export class EventChannels {
  private env: GuestEnv;
  private readonly handlers = new Map<number, PortHandler>();
  /** Events delivered per port (for tests and `xl`-like introspection). */
  readonly delivered = new Map<number, number>();
  /** Pending ports that had no handler (Linux: "spurious" / unbound irq). */
  spurious = 0;

  constructor(env: GuestEnv) {
    this.env = env;
  }

  /** Registers this layer as the domain's event callback (CALLBACKOP_register CALLBACKTYPE_event). */
  register(): void {
    this.env.setUpcallHandler((_env, vcpu) => {
      this.upcall(vcpu);
    });
  }

  on(port: number, handler: PortHandler): void {
    this.handlers.set(port, handler);
  }

  off(port: number): void {
    this.handlers.delete(port);
  }

  /** A new domain's env (restore): handlers are forgotten, the upcall is registered there. */
  attach(env: GuestEnv): void {
    this.env = env;
    this.handlers.clear();
    this.register();
  }

  /** Forgets every handler (a resume in a new domain, whose ports are all new). */
  reset(): void {
    this.handlers.clear();
  }

  /**
   * xen_evtchn_do_upcall + evtchn_2l_handle_events: clear evtchn_upcall_pending, exchange
   * evtchn_pending_sel with 0, scan pending & ~mask of each selected word, clear each pending bit
   * before dispatching its port; repeat while Xen raised upcall_pending again meanwhile.
   * DEVIATION(xen): Linux resumes the scan after the last port it served (fairness under load);
   * this scan starts at word 0 every time, so low ports win ties. Same set delivered either way.
   * Returns how many ports were dispatched.
   */
  upcall(vcpu: number): number {
    const page = this.env.sharedInfo;
    const vi = vcpuInfoOffset(vcpu);
    const dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
    let n = 0;
    do {
      page[vi + VCPU_INFO_evtchn_upcall_pending] = 0;
      // xchg(&vcpu_info->evtchn_pending_sel, 0), as two 32-bit halves (x86 is little endian).
      const selLo = dv.getUint32(vi + VCPU_INFO_evtchn_pending_sel, true);
      const selHi = dv.getUint32(vi + VCPU_INFO_evtchn_pending_sel + 4, true);
      dv.setUint32(vi + VCPU_INFO_evtchn_pending_sel, 0, true);
      dv.setUint32(vi + VCPU_INFO_evtchn_pending_sel + 4, 0, true);
      for (let w = 0; w < NR_WORDS; w++) {
        const sel = w < 32 ? selLo : selHi;
        if ((sel & (1 << (w & 31))) === 0) continue;
        n += this.scanWord(page, dv, w, vcpu);
      }
    } while (page[vi + VCPU_INFO_evtchn_upcall_pending] !== 0);
    return n;
  }

  /** Dispatches every pending, unmasked port of word `w`, lowest first. */
  private scanWord(page: Uint8Array, dv: DataView, w: number, vcpu: number): number {
    let n = 0;
    for (let half = 0; half < 2; half++) {
      const off = w * 8 + half * 4;
      const ready =
        dv.getUint32(SHARED_INFO_evtchn_pending + off, true) &
        ~dv.getUint32(SHARED_INFO_evtchn_mask + off, true);
      for (let bits = ready >>> 0; bits !== 0; bits &= bits - 1) {
        const port = w * 64 + half * 32 + (31 - Math.clz32(bits & -bits));
        // clear_evtchn before the handler: an event raised while it runs is seen on the next pass.
        clearBit(page, SHARED_INFO_evtchn_pending, port);
        this.dispatch(port, vcpu);
        n++;
      }
    }
    return n;
  }

  private dispatch(port: number, vcpu: number): void {
    const h = this.handlers.get(port);
    if (!h) {
      this.spurious++;
      return;
    }
    this.delivered.set(port, (this.delivered.get(port) ?? 0) + 1);
    h(port, vcpu);
  }

  /** mask_evtchn: the guest sets the mask bit itself. */
  mask(port: number): void {
    setBit(this.env.sharedInfo, SHARED_INFO_evtchn_mask, port);
  }

  /**
   * unmask_evtchn for a port bound to `vcpu` (the one running): clear the mask bit, then re-check
   * pending, since an edge that arrived while masked set no selector bit; if so, set the selector
   * bit and upcall_pending so the upcall runs at the next delivery point.
   */
  unmask(port: number, vcpu = 0): void {
    const page = this.env.sharedInfo;
    clearBit(page, SHARED_INFO_evtchn_mask, port);
    if (!testBit(page, SHARED_INFO_evtchn_pending, port)) return;
    const vi = vcpuInfoOffset(vcpu);
    if (!testAndSetBit(page, vi + VCPU_INFO_evtchn_pending_sel, port >>> 6)) {
      page[vi + VCPU_INFO_evtchn_upcall_pending] = 1;
    }
  }

  /** EVTCHNOP_unmask: the hypercall form, for a port bound to another vCPU. */
  unmaskRemote(port: number): number {
    return this.env.hypercalls.event_channel_op(EVTCHNOP_unmask, { port });
  }

  isPending(port: number): boolean {
    return testBit(this.env.sharedInfo, SHARED_INFO_evtchn_pending, port);
  }

  isMasked(port: number): boolean {
    return testBit(this.env.sharedInfo, SHARED_INFO_evtchn_mask, port);
  }

  /** notify_remote_via_evtchn: EVTCHNOP_send; 0 or a negative errno. */
  notify(port: number): number {
    return this.env.hypercalls.event_channel_op(EVTCHNOP_send, { port });
  }

  /** bind_virq_to_irq: the port, or a negative errno. */
  bindVirq(virq: number, vcpu: number, handler: PortHandler): number {
    const arg: EvtchnBindVirq = { virq, vcpu, port: 0 };
    const rc = this.env.hypercalls.event_channel_op(EVTCHNOP_bind_virq, arg);
    if (rc < 0) return rc;
    this.on(arg.port, handler);
    return arg.port;
  }

  /** unbind_from_irq: EVTCHNOP_close and drop the handler. */
  close(port: number): number {
    this.off(port);
    return this.env.hypercalls.event_channel_op(EVTCHNOP_close, { port });
  }
}
