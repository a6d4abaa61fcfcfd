// Virtual time for the simulation engine: integer nanoseconds, like Xen's s_time_t
// (xen/include/xen/time.h), kept as safe JavaScript integers.

declare const nsBrand: unique symbol;
/** A point in, or a span of, virtual time in integer nanoseconds. */
export type Ns = number & { readonly [nsBrand]: true };

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_SEC = 1_000_000_000;

/** Brands an integer as virtual nanoseconds; throws on anything that is not a safe non-negative integer. */
export function ns(value: number): Ns {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `virtual time must be a safe non-negative integer of nanoseconds, got ${value}`,
    );
  }
  return value as Ns;
}

export const usToNs = (us: number): Ns => ns(Math.round(us * NS_PER_US));
export const msToNs = (ms: number): Ns => ns(Math.round(ms * NS_PER_MS));
export const secToNs = (sec: number): Ns => ns(Math.round(sec * NS_PER_SEC));
export const nsToSec = (t: number): number => t / NS_PER_SEC;
