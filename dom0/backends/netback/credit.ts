// The transmit rate limit of a vif (Linux drivers/net/xen-netback/netback.c tx_credit_exceeded,
// tx_add_credit, tx_credit_callback; xenbus.c xen_net_read_rate): `credit_bytes` may leave the
// guest per `credit_usec` window; a packet larger than the credit left waits for the next window.

/** tx_add_credit's floor on the burst, so a 64 KiB packet always fits eventually. */
const MIN_BURST_BYTES = 131072;

export class CreditLimiter {
  readonly creditBytes: number;
  readonly intervalNs: number;
  remainingBytes: number;
  windowStartNs: number;
  /** A replenish timer is pending (the guest is throttled until it fires). */
  timerPending = false;

  constructor(creditBytes: number, intervalUs: number, nowNs: number) {
    this.creditBytes = creditBytes;
    this.intervalNs = intervalUs * 1000;
    this.remainingBytes = creditBytes;
    this.windowStartNs = nowNs;
  }

  /** tx_add_credit: one window's worth more, capped at max(131072, credit_bytes). */
  addCredit(): void {
    const maxBurst = Math.max(MIN_BURST_BYTES, this.creditBytes);
    this.remainingBytes = Math.min(this.remainingBytes + this.creditBytes, maxBurst);
  }

  /**
   * tx_credit_exceeded: true when `size` must wait. The caller then arms a timer at
   * `nextCreditNs()` whose callback calls `timerFired()` and resumes transmission.
   */
  exceeded(size: number, nowNs: number): boolean {
    if (this.timerPending) return true;
    const next = this.windowStartNs + this.intervalNs;
    if (nowNs >= next) {
      this.windowStartNs = nowNs;
      this.addCredit();
    }
    if (size > this.remainingBytes) {
      this.windowStartNs = next;
      this.timerPending = true;
      return true;
    }
    return false;
  }

  /** When the pending replenish is due (the window start `exceeded` moved to). */
  nextCreditNs(): number {
    return this.windowStartNs;
  }

  /** tx_credit_callback. */
  timerFired(): void {
    this.timerPending = false;
    this.addCredit();
  }

  consume(size: number): void {
    this.remainingBytes -= size;
  }
}

/** The backend `rate` node libxl writes: `<bytes per interval>,<interval µs>`. */
export function parseRateNode(
  text: string | undefined,
): { bytes: number; intervalUs: number } | undefined {
  const m = text === undefined ? null : /^([0-9]{1,15}),([0-9]{1,10})$/.exec(text);
  if (!m) return undefined;
  const bytes = Number(m[1]);
  const intervalUs = Number(m[2]);
  if (bytes === 0 || intervalUs === 0) return undefined;
  return { bytes, intervalUs };
}
