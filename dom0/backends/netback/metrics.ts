// Per-vif counters of netback (what `ip -s link show vifX.Y` and xenvif's ethtool stats show).

export interface NetbackMetrics {
  /** Packets the guest sent that reached the bridge. */
  txPackets: number;
  txBytes: number;
  /** Guest packets dropped (bad size, MTU, bogus grant). */
  txDropped: number;
  /** Packets that went to the bridge with their data still in the guest's grants (NetFrames). */
  txZeroCopy: number;
  /** Zero-copy frames copied into dom0 for a consumer that needed the bytes (or the hold bound). */
  txLinearized: number;
  /** Times the rate limit held transmission back. */
  txThrottled: number;
  /** Frames delivered into the guest. */
  rxPackets: number;
  rxBytes: number;
  /** Frames for the guest dropped (queue full, no room, vif not connected). */
  rxDropped: number;
  /** rx copies that failed (the guest posted a bad grant). */
  rxErrors: number;
  /** rx copies straight from a sending guest's grant that failed (the sender revoked it). */
  rxFragErrors: number;
  notifications: number;
  /** Why the last packet was dropped. */
  lastDrop: string;
}

export const newNetbackMetrics = (): NetbackMetrics => ({
  txPackets: 0,
  txBytes: 0,
  txDropped: 0,
  txZeroCopy: 0,
  txLinearized: 0,
  txThrottled: 0,
  rxPackets: 0,
  rxBytes: 0,
  rxDropped: 0,
  rxErrors: 0,
  rxFragErrors: 0,
  notifications: 0,
  lastDrop: '',
});
