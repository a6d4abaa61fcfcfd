// Reading hypercall argument structs a guest passed: anything may arrive (wrong types, missing
// fields, getters that throw), so every read checks its shape and yields NaN on garbage.

/** The struct as a record, or null when it is not an object. */
export function struct(x: unknown): Record<string, unknown> | null {
  return typeof x === 'object' && x !== null ? (x as Record<string, unknown>) : null;
}

/** An integer field in [min, max], or NaN. */
export function intField(
  o: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
): number {
  const v = o[key];
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : NaN;
}

/** An integer argument in [min, max], or NaN. */
export function intArg(v: unknown, min: number, max: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : NaN;
}

export const U16_MAX = 0xffff;
export const U32_MAX = 0xffff_ffff;

/** The shared success result of value 0 (hot paths return it instead of allocating). */
export const OK0: { ok: true; value: number } = Object.freeze({ ok: true as const, value: 0 });
