// Branded ids and quantities shared across module boundaries (domid_t, evtchn_port_t, grant_ref_t,
// xen_pfn_t in xen/include/public/xen.h, grant_table.h, event_channel.h).

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** domid_t: uint16. */
export type DomId = Brand<number, 'DomId'>;
/** evtchn_port_t: uint32. */
export type Port = Brand<number, 'Port'>;
/** grant_ref_t: uint32. */
export type GrantRef = Brand<number, 'GrantRef'>;
/** grant_handle_t: uint32 (maptrack handle). */
export type GrantHandle = Brand<number, 'GrantHandle'>;
/** Machine frame number. */
export type Mfn = Brand<number, 'Mfn'>;
/** Guest pseudo-physical frame number. */
export type Pfn = Brand<number, 'Pfn'>;
/** vCPU id within a domain. */
export type VcpuId = Brand<number, 'VcpuId'>;

export const asDomId = (n: number): DomId => n as DomId;
export const asPort = (n: number): Port => n as Port;
export const asGrantRef = (n: number): GrantRef => n as GrantRef;
export const asMfn = (n: number): Mfn => n as Mfn;
export const asPfn = (n: number): Pfn => n as Pfn;
export const asVcpuId = (n: number): VcpuId => n as VcpuId;

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
