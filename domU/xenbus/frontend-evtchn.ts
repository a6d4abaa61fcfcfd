// xenbus_alloc_evtchn + bind_evtchn_to_irqhandler for a frontend (Linux drivers/xen/xenbus/
// xenbus_client.c, events_base.c): an unbound port in this domain that the backend will bind to,
// its handler registered and the port unmasked.

import { EVTCHNOP_alloc_unbound, type EvtchnAllocUnbound } from '../../hypercalls/event-channel.js';
import type { HypercallInterface } from '../../hypercalls/guest-interface.js';
import { DOMID_SELF } from '../../hypercalls/xen.js';

export interface FrontendEvents {
  on(port: number, handler: () => void): void;
  unmask(port: number): void;
}

/** The new port, or the hypercall's negative errno (nothing is registered then). */
export function allocFrontendEvtchn(
  h: HypercallInterface,
  events: FrontendEvents,
  backendDomid: number,
  handler: () => void,
): number {
  const arg: EvtchnAllocUnbound = { dom: DOMID_SELF, remote_dom: backendDomid, port: 0 };
  const rc = h.event_channel_op(EVTCHNOP_alloc_unbound, arg);
  if (rc < 0) return rc;
  events.on(arg.port, handler);
  events.unmask(arg.port);
  return arg.port;
}
