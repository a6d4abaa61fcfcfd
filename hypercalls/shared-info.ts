// Byte layout of the shared_info page and vcpu_info for the 2-level event channel ABI on x86-64
// (xen/include/public/xen.h, arch-x86/xen.h), with a DataView encoder/decoder. Xen writes pending
// bits and upcall_pending; the guest writes mask bits, upcall_mask and clears what it consumes.

export const SHARED_INFO_SIZE = 4096;
export const XEN_LEGACY_MAX_VCPUS = 32;
export const VCPU_INFO_SIZE = 64;

// struct vcpu_info (64 bytes).
export const VCPU_INFO_evtchn_upcall_pending = 0;
export const VCPU_INFO_evtchn_upcall_mask = 1;
export const VCPU_INFO_evtchn_pending_sel = 8;
export const VCPU_INFO_arch_cr2 = 16;
export const VCPU_INFO_time = 32;
// struct vcpu_time_info (32 bytes) inside vcpu_info.
export const VCPU_TIME_version = 0;
export const VCPU_TIME_tsc_timestamp = 8;
export const VCPU_TIME_system_time = 16;
export const VCPU_TIME_tsc_to_system_mul = 24;
export const VCPU_TIME_tsc_shift = 28;
export const VCPU_TIME_flags = 29;

// struct shared_info.
export const SHARED_INFO_vcpu_info = 0;
export const SHARED_INFO_evtchn_pending = XEN_LEGACY_MAX_VCPUS * VCPU_INFO_SIZE; // 2048
export const SHARED_INFO_evtchn_mask = SHARED_INFO_evtchn_pending + 64 * 8; // 2560
export const SHARED_INFO_wc_version = SHARED_INFO_evtchn_mask + 64 * 8; // 3072
export const SHARED_INFO_wc_sec = 3076;
export const SHARED_INFO_wc_nsec = 3080;
export const SHARED_INFO_wc_sec_hi = 3084;
export const SHARED_INFO_arch = 3088;
export const ARCH_SHARED_INFO_max_pfn = 0;
export const ARCH_SHARED_INFO_pfn_to_mfn_frame_list_list = 8;
export const ARCH_SHARED_INFO_nmi_reason = 16;
export const ARCH_SHARED_INFO_p2m_cr3 = 24;
export const ARCH_SHARED_INFO_p2m_vaddr = 32;
export const ARCH_SHARED_INFO_p2m_generation = 40;

/** Byte offset of vcpu_info `vcpu` in the page. */
export const vcpuInfoOffset = (vcpu: number): number =>
  SHARED_INFO_vcpu_info + vcpu * VCPU_INFO_SIZE;

// Bit helpers: bit `n` of a little-endian array of 64-bit words starting at `base` is bit n&7 of byte n>>3.
export function testBit(page: Uint8Array, base: number, n: number): boolean {
  return ((page[base + (n >>> 3)] as number) & (1 << (n & 7))) !== 0;
}
export function setBit(page: Uint8Array, base: number, n: number): void {
  page[base + (n >>> 3)] = (page[base + (n >>> 3)] as number) | (1 << (n & 7));
}
export function clearBit(page: Uint8Array, base: number, n: number): void {
  page[base + (n >>> 3)] = (page[base + (n >>> 3)] as number) & ~(1 << (n & 7));
}
/** Test-and-set: returns the old value. */
export function testAndSetBit(page: Uint8Array, base: number, n: number): boolean {
  const i = base + (n >>> 3);
  const m = 1 << (n & 7);
  const old = page[i] as number;
  page[i] = old | m;
  return (old & m) !== 0;
}
/** Test-and-clear: returns the old value. */
export function testAndClearBit(page: Uint8Array, base: number, n: number): boolean {
  const i = base + (n >>> 3);
  const m = 1 << (n & 7);
  const old = page[i] as number;
  page[i] = old & ~m;
  return (old & m) !== 0;
}

/** A decoded vcpu_info (the event fields and the time record). */
export interface VcpuInfo {
  evtchn_upcall_pending: number;
  evtchn_upcall_mask: number;
  evtchn_pending_sel: bigint;
  time: {
    version: number;
    tsc_timestamp: bigint;
    system_time: bigint;
    tsc_to_system_mul: number;
    tsc_shift: number;
    flags: number;
  };
}

export function decodeVcpuInfo(view: DataView, vcpu: number): VcpuInfo {
  const o = vcpuInfoOffset(vcpu);
  const t = o + VCPU_INFO_time;
  return {
    evtchn_upcall_pending: view.getUint8(o + VCPU_INFO_evtchn_upcall_pending),
    evtchn_upcall_mask: view.getUint8(o + VCPU_INFO_evtchn_upcall_mask),
    evtchn_pending_sel: view.getBigUint64(o + VCPU_INFO_evtchn_pending_sel, true),
    time: {
      version: view.getUint32(t + VCPU_TIME_version, true),
      tsc_timestamp: view.getBigUint64(t + VCPU_TIME_tsc_timestamp, true),
      system_time: view.getBigUint64(t + VCPU_TIME_system_time, true),
      tsc_to_system_mul: view.getUint32(t + VCPU_TIME_tsc_to_system_mul, true),
      tsc_shift: view.getInt8(t + VCPU_TIME_tsc_shift),
      flags: view.getUint8(t + VCPU_TIME_flags),
    },
  };
}

export function encodeVcpuInfo(view: DataView, vcpu: number, info: VcpuInfo): void {
  const o = vcpuInfoOffset(vcpu);
  const t = o + VCPU_INFO_time;
  view.setUint8(o + VCPU_INFO_evtchn_upcall_pending, info.evtchn_upcall_pending);
  view.setUint8(o + VCPU_INFO_evtchn_upcall_mask, info.evtchn_upcall_mask);
  view.setBigUint64(o + VCPU_INFO_evtchn_pending_sel, info.evtchn_pending_sel, true);
  view.setUint32(t + VCPU_TIME_version, info.time.version, true);
  view.setBigUint64(t + VCPU_TIME_tsc_timestamp, info.time.tsc_timestamp, true);
  view.setBigUint64(t + VCPU_TIME_system_time, info.time.system_time, true);
  view.setUint32(t + VCPU_TIME_tsc_to_system_mul, info.time.tsc_to_system_mul, true);
  view.setInt8(t + VCPU_TIME_tsc_shift, info.time.tsc_shift);
  view.setUint8(t + VCPU_TIME_flags, info.time.flags);
}

/** The event-channel part of shared_info: pending and mask bitmaps as 64 64-bit words each. */
export interface SharedInfoEvtchn {
  evtchn_pending: bigint[];
  evtchn_mask: bigint[];
}

export function decodeEvtchnWords(view: DataView): SharedInfoEvtchn {
  const pending: bigint[] = [];
  const mask: bigint[] = [];
  for (let w = 0; w < 64; w++) {
    pending.push(view.getBigUint64(SHARED_INFO_evtchn_pending + w * 8, true));
    mask.push(view.getBigUint64(SHARED_INFO_evtchn_mask + w * 8, true));
  }
  return { evtchn_pending: pending, evtchn_mask: mask };
}

export function encodeEvtchnWords(view: DataView, s: SharedInfoEvtchn): void {
  for (let w = 0; w < 64; w++) {
    view.setBigUint64(SHARED_INFO_evtchn_pending + w * 8, s.evtchn_pending[w] ?? 0n, true);
    view.setBigUint64(SHARED_INFO_evtchn_mask + w * 8, s.evtchn_mask[w] ?? 0n, true);
  }
}

/**
 * The guest side of the 2-level upcall (Linux's xen_evtchn_do_upcall): clears upcall_pending, takes
 * pending_sel, and for each selected word returns pending & ~mask ports, clearing their pending bits.
 * Calls `fn(port)` for each port in ascending order; returns how many were dispatched.
 */
export function consumePendingEvents(
  page: Uint8Array,
  vcpu: number,
  fn: (port: number) => void,
): number {
  const o = vcpuInfoOffset(vcpu);
  page[o + VCPU_INFO_evtchn_upcall_pending] = 0;
  let n = 0;
  for (let b = 0; b < 8; b++) {
    let selByte = page[o + VCPU_INFO_evtchn_pending_sel + b] as number;
    if (selByte === 0) continue;
    page[o + VCPU_INFO_evtchn_pending_sel + b] = 0;
    while (selByte !== 0) {
      const bit = 31 - Math.clz32(selByte & -selByte);
      selByte &= selByte - 1;
      const word = b * 8 + bit;
      for (let k = 0; k < 8; k++) {
        const i = word * 8 + k;
        const ready =
          (page[SHARED_INFO_evtchn_pending + i] as number) &
          ~(page[SHARED_INFO_evtchn_mask + i] as number) &
          0xff;
        if (ready === 0) continue;
        page[SHARED_INFO_evtchn_pending + i] =
          (page[SHARED_INFO_evtchn_pending + i] as number) & ~ready;
        for (let r = ready; r !== 0; r &= r - 1) {
          fn(i * 8 + (31 - Math.clz32(r & -r)));
          n++;
        }
      }
    }
  }
  return n;
}
