// grant_entry_v1 wire layout (xen/include/public/grant_table.h): 8 bytes, little-endian on x86,
// { uint16_t flags; domid_t domid; uint32_t frame; }, 512 entries per 4 KiB frame.

export const GRANT_ENTRY_V1_FLAGS_OFFSET = 0;
export const GRANT_ENTRY_V1_DOMID_OFFSET = 2;
export const GRANT_ENTRY_V1_FRAME_OFFSET = 4;
export const GRANT_ENTRY_V1_BYTES = 8;

export interface GrantEntryV1 {
  flags: number;
  domid: number;
  frame: number;
}

/** Byte offset of entry `ref` within its table frame. */
export const grantEntryOffset = (ref: number): number => (ref & 511) * GRANT_ENTRY_V1_BYTES;

/** Reads the entry at byte `offset`; a range outside the view gives undefined (never throws). */
export function readGrantEntryV1(view: DataView, offset: number): GrantEntryV1 | undefined {
  if (!Number.isInteger(offset) || offset < 0 || offset + GRANT_ENTRY_V1_BYTES > view.byteLength) {
    return undefined;
  }
  return {
    flags: view.getUint16(offset + GRANT_ENTRY_V1_FLAGS_OFFSET, true),
    domid: view.getUint16(offset + GRANT_ENTRY_V1_DOMID_OFFSET, true),
    frame: view.getUint32(offset + GRANT_ENTRY_V1_FRAME_OFFSET, true),
  };
}

/**
 * Publishes an entry in the guest's order: domid and frame first, then flags (the write barrier of
 * grant_table.h sits between; JavaScript stores are not reordered). Returns false on a bad offset.
 */
export function writeGrantEntryV1(view: DataView, offset: number, entry: GrantEntryV1): boolean {
  if (!Number.isInteger(offset) || offset < 0 || offset + GRANT_ENTRY_V1_BYTES > view.byteLength) {
    return false;
  }
  view.setUint16(offset + GRANT_ENTRY_V1_DOMID_OFFSET, entry.domid & 0xffff, true);
  view.setUint32(offset + GRANT_ENTRY_V1_FRAME_OFFSET, entry.frame >>> 0, true);
  view.setUint16(offset + GRANT_ENTRY_V1_FLAGS_OFFSET, entry.flags & 0xffff, true);
  return true;
}

export const readGrantFlags = (view: DataView, offset: number): number =>
  view.getUint16(offset + GRANT_ENTRY_V1_FLAGS_OFFSET, true);
export const writeGrantFlags = (view: DataView, offset: number, flags: number): void =>
  view.setUint16(offset + GRANT_ENTRY_V1_FLAGS_OFFSET, flags & 0xffff, true);
export const readGrantDomid = (view: DataView, offset: number): number =>
  view.getUint16(offset + GRANT_ENTRY_V1_DOMID_OFFSET, true);
export const readGrantFrame = (view: DataView, offset: number): number =>
  view.getUint32(offset + GRANT_ENTRY_V1_FRAME_OFFSET, true);
export const writeGrantFrame = (view: DataView, offset: number, frame: number): void =>
  view.setUint32(offset + GRANT_ENTRY_V1_FRAME_OFFSET, frame >>> 0, true);
