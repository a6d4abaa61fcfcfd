// Ethernet II and 802.1Q framing as a Linux bridge sees it (include/uapi/linux/if_ether.h,
// if_vlan.h): MACs as 48-bit numbers, the group bit, and tagging/untagging that copy once.

export const ETH_ALEN = 6;
export const ETH_HLEN = 14;
export const VLAN_HLEN = 4;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
/** Default MTU of a vif and a bridge (reference 4.4). */
export const ETH_DATA_LEN = 1500;
export const VLAN_VID_MASK = 0x0fff;

/**
 * The MAC at `off` as two 24-bit halves (OUI, then the rest): small integers, so the per-frame
 * path compares MACs without making a heap number per MAC (a 48-bit number is a double in V8).
 */
export function macHiAt(frame: Uint8Array, off: number): number {
  return (
    ((frame[off] as number) << 16) | ((frame[off + 1] as number) << 8) | (frame[off + 2] as number)
  );
}

export function macLoAt(frame: Uint8Array, off: number): number {
  return (
    ((frame[off + 3] as number) << 16) |
    ((frame[off + 4] as number) << 8) |
    (frame[off + 5] as number)
  );
}

/** The MAC of its two 24-bit halves (macHiAt, macLoAt) as one number. */
export const macOf = (hi: number, lo: number): number => hi * 0x1000000 + lo;

/** The group (multicast/broadcast) bit of a MAC's upper half (macHiAt): first octet's lowest bit. */
export const isGroupMacHi = (hi: number): boolean => (hi & 0x10000) !== 0;

export function writeMac(frame: Uint8Array, off: number, mac: number): void {
  let m = mac;
  for (let i = 5; i >= 0; i--) {
    frame[off + i] = m % 256;
    m = Math.floor(m / 256);
  }
}

export const BROADCAST_MAC = 0xffffffffffff;

/** `xx:xx:xx:xx:xx:xx` -> number, or undefined. */
export function parseMacString(text: string): number | undefined {
  const parts = text.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + parseInt(p, 16), 0);
}

export function formatMac(mac: number): string {
  const out: string[] = [];
  let m = mac;
  for (let i = 0; i < 6; i++) {
    out.unshift((m % 256).toString(16).padStart(2, '0'));
    m = Math.floor(m / 256);
  }
  return out.join(':');
}

/** The 802.1Q VID of a tagged frame, or -1 when untagged (or too short to carry a tag). */
export function frameVid(frame: Uint8Array): number {
  if (frame.length < ETH_HLEN + VLAN_HLEN) return -1;
  if ((((frame[12] as number) << 8) | (frame[13] as number)) !== ETH_P_8021Q) return -1;
  return (((frame[14] as number) << 8) | (frame[15] as number)) & VLAN_VID_MASK;
}

/** Inserts a tag (PCP 0) after the MACs: a new frame 4 bytes longer. */
export function tagFrame(frame: Uint8Array, vid: number): Uint8Array {
  const out = new Uint8Array(frame.length + VLAN_HLEN);
  out.set(frame.subarray(0, 12), 0);
  out[12] = ETH_P_8021Q >> 8;
  out[13] = ETH_P_8021Q & 0xff;
  out[14] = (vid >> 8) & 0x0f;
  out[15] = vid & 0xff;
  out.set(frame.subarray(12), 16);
  return out;
}

/** Removes the tag: a new frame 4 bytes shorter. */
export function untagFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame.length - VLAN_HLEN);
  out.set(frame.subarray(0, 12), 0);
  out.set(frame.subarray(16), 12);
  return out;
}
