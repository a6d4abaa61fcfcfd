// Wire helpers of the guest's network stack (Linux include/uapi/linux/if_ether.h, ip.h, icmp.h,
// udp.h; RFC 1071 for the Internet checksum): header offsets, address text forms, checksums.

export const ETH_HLEN = 14;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const IPV4_HLEN = 20;
export const IPPROTO_ICMP = 1;
export const IPPROTO_UDP = 17;
export const UDP_HLEN = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO = 8;
export const BROADCAST_MAC = 0xffffffffffff;
export const DEFAULT_TTL = 64;

export const u16 = (b: Uint8Array, off: number): number =>
  ((b[off] as number) << 8) | (b[off + 1] as number);
export const u32 = (b: Uint8Array, off: number): number =>
  (((b[off] as number) << 24) |
    ((b[off + 1] as number) << 16) |
    ((b[off + 2] as number) << 8) |
    (b[off + 3] as number)) >>>
  0;
export function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}
export function put32(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

/** The 48-bit MAC at `off` as a number. */
export function macAt(b: Uint8Array, off: number): number {
  return u16(b, off) * 0x100000000 + u32(b, off + 2);
}
export function putMac(b: Uint8Array, off: number, mac: number): void {
  put16(b, off, Math.floor(mac / 0x100000000));
  put32(b, off + 2, mac >>> 0);
}

export function parseMac(text: string): number | undefined {
  const parts = text.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + parseInt(p, 16), 0);
}

export function formatMac(mac: number): string {
  const hi = Math.floor(mac / 0x100000000);
  const lo = mac >>> 0;
  const bytes = [hi >>> 8, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff];
  return bytes.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Dotted quad -> uint32, or undefined. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) < 256)) {
    return undefined;
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0) >>> 0;
}

export function formatIpv4(ip: number): string {
  return [ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff].join('.');
}

/** RFC 1071 one's-complement sum of `len` bytes at `off`, added to `initial`, not yet folded. */
export function sum16(b: Uint8Array, off: number, len: number, initial = 0): number {
  let s = initial;
  const end = off + len - 1;
  let i = off;
  for (; i < end; i += 2) s += ((b[i] as number) << 8) | (b[i + 1] as number);
  if (i === end) s += (b[i] as number) << 8;
  return s;
}

/** Folds a sum to 16 bits and complements it (the checksum to write). */
export function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

export const checksum = (b: Uint8Array, off: number, len: number): number =>
  fold(sum16(b, off, len));

/** The IPv4 pseudo-header sum for a UDP/TCP checksum. */
export function pseudoSum(src: number, dst: number, proto: number, len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3), continuing from `crc` (start with 0). */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) {
    c = (CRC_TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return ~c >>> 0;
}
