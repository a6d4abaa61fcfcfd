// What C xenstored does on VIRQ_DOM_EXC (tools/xenstore/xenstored_domain.c domain_cleanup): for
// every introduced domain, getdomaininfo; a dead or dying one is released, a shut-down one fires
// @releaseDomain once. Wire it as a dom0-kernel VIRQ_DOM_EXC handler.

import { XEN_DOMINF_dying, XEN_DOMINF_shutdown } from '../../hypercalls/domctl.js';
import { deliverEvents } from '../xenstored/guest-ring-connection.js';
import type { Xenstored } from '../xenstored/xenstored.js';
import type { Xc } from '../toolstack/xc.js';

export function xenstoredDomainCleanup(store: Xenstored, xc: Xc): () => void {
  return () => {
    for (const domid of [...store.domains.keys()]) {
      if (domid === 0) continue;
      const i = xc.getInfo(domid);
      if (!i.ok || (i.value.flags & XEN_DOMINF_dying) !== 0) deliverEvents(store.domainDied(domid));
      else if ((i.value.flags & XEN_DOMINF_shutdown) !== 0)
        deliverEvents(store.domainShutdown(domid));
    }
  };
}
