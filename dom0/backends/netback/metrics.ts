// Per-vif counters of netback (what `ip -s link show vifX.Y` and xenvif's ethtool stats show).

export interface NetbackMetrics {
  /** Packets the guest sent that reached the bridge. */
  txPackets: number;
  txBytes: number;
  /** Guest packets dropped (bad size, MTU, bogus grant). */
  txDropped: number;
  /** Times the rate limit held transmission back. */
  txThrottled: number;
  /** Frames delivered into the guest. */
  rxPackets: number;
  rxBytes: number;
  /** Frames for the guest dropped (queue full, no room, vif not connected). */
  rxDropped: number;
  /** rx copies that failed (the guest posted a bad grant). */
  rxErrors: number;
  notifications: number;
  /** Why the last packet was dropped. */
  lastDrop: string;
}

export const newNetbackMetrics = (): NetbackMetrics => ({
  txPackets: 0,
  txBytes: 0,
  txDropped: 0,
  txThrottled: 0,
  rxPackets: 0,
  rxBytes: 0,
  rxDropped: 0,
  rxErrors: 0,
  notifications: 0,
  lastDrop: '',
});
