// One domain's event channel table (struct evtchn buckets in xen/common/event_channel.c), kept as
// struct-of-arrays that grow on demand up to the domain's max_evtchn_port.

import { EVTCHN_2L_NR_CHANNELS } from '../../hypercalls/event-channel.js';

/** Internal channel states (ECS_* in event_channel.h's private header). */
export const ECS = {
  FREE: 0,
  RESERVED: 1,
  UNBOUND: 2,
  INTERDOMAIN: 3,
  PIRQ: 4,
  VIRQ: 5,
  IPI: 6,
} as const;

export class EvtchnTable {
  /** Highest port this domain may use (max_evtchn_port), capped by the 2-level ABI. */
  maxPort: number;
  state: Uint8Array;
  notifyVcpu: Uint16Array;
  /** UNBOUND: domain allowed to bind; INTERDOMAIN: peer domain. */
  remoteDom: Int32Array;
  /** INTERDOMAIN: peer port. */
  remotePort: Int32Array;
  /** VIRQ number or PIRQ number. */
  irq: Int32Array;
  /** Lowest port that may be free. */
  private freeHint = 1;
  /** Bound (non-free) ports, port 0 included. */
  inUse = 1;

  constructor(maxPort: number) {
    this.maxPort = Math.min(maxPort, EVTCHN_2L_NR_CHANNELS - 1);
    const cap = Math.min(64, this.maxPort + 1);
    this.state = new Uint8Array(cap);
    this.notifyVcpu = new Uint16Array(cap);
    this.remoteDom = new Int32Array(cap);
    this.remotePort = new Int32Array(cap);
    this.irq = new Int32Array(cap);
    this.state[0] = ECS.RESERVED; // port 0 is never handed out
  }

  /** port_is_valid(): inside the domain's limit. DEVIATION(xen): Xen also requires the port's bucket to exist; here every port up to max_evtchn_port is valid. */
  valid(port: number): boolean {
    return Number.isInteger(port) && port >= 0 && port <= this.maxPort;
  }

  /** The state of a valid port (FREE past the allocated arrays). */
  stateOf(port: number): number {
    return port < this.state.length ? (this.state[port] as number) : ECS.FREE;
  }

  /** get_free_port(): the lowest free port, or -1 when the limit is reached (-ENOSPC). */
  allocate(): number {
    for (let p = this.freeHint; p <= this.maxPort; p++) {
      if (p >= this.state.length) this.grow(p);
      if (this.state[p] === ECS.FREE) {
        this.freeHint = p + 1;
        this.inUse++;
        return p;
      }
    }
    return -1;
  }

  /** evtchn_free(): back to FREE, notify vCPU reset to 0 (pending is cleared by the caller). */
  free(port: number): void {
    this.state[port] = ECS.FREE;
    this.notifyVcpu[port] = 0;
    this.remoteDom[port] = 0;
    this.remotePort[port] = 0;
    this.irq[port] = 0;
    this.inUse--;
    if (port < this.freeHint) this.freeHint = port;
  }

  /** Changes the limit (max_evtchn_port); ports already bound above it stay. */
  setMaxPort(maxPort: number): void {
    this.maxPort = Math.min(maxPort, EVTCHN_2L_NR_CHANNELS - 1);
  }

  private grow(port: number): void {
    let cap = this.state.length;
    while (cap <= port) cap *= 2;
    cap = Math.min(cap, EVTCHN_2L_NR_CHANNELS);
    const g8 = (a: Uint8Array): Uint8Array => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    const g16 = (a: Uint16Array): Uint16Array => {
      const b = new Uint16Array(cap);
      b.set(a);
      return b;
    };
    const g32 = (a: Int32Array): Int32Array => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.state = g8(this.state);
    this.notifyVcpu = g16(this.notifyVcpu);
    this.remoteDom = g32(this.remoteDom);
    this.remotePort = g32(this.remotePort);
    this.irq = g32(this.irq);
  }
}
