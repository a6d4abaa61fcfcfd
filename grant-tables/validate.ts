// Guest-supplied grant-op fields are parsed, never trusted: a field that is not an unsigned integer of
// the C type's width reads as -1, which every check then rejects with the op's status (the field widths
// are those of xen/include/public/grant_table.h's structs).

export const u16 = (x: unknown): number => (typeof x === 'number' && (x & 0xffff) === x ? x : -1);

export const u32 = (x: unknown): number => (typeof x === 'number' && x >>> 0 === x ? x : -1);

/** A guest array element that is a struct (not a primitive): else the copy from guest "faults". */
export const isStruct = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
