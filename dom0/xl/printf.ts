// The few printf conversions xl's output uses (%-Ns, %Nd, %N.Mf, %08x), with glibc's semantics:
// widths pad and never truncate, %f rounds the exact binary value, ties to even (tools/xl/*.c).

/** `%-Ns`: left-justified, padded to width; longer strings overflow. */
export function padRight(s: string | number, width: number): string {
  return String(s).padEnd(width, ' ');
}

/** `%Ns` / `%Nd`: right-justified, padded to width. */
export function padLeft(s: string | number, width: number): string {
  return String(s).padStart(width, ' ');
}

/** `%02d`-style zero padding. */
export function zeroPad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** `%08x` of a 32-bit word. */
export function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/**
 * `%.Nf` as glibc prints it. Number.prototype.toFixed already rounds the exact binary value,
 * but breaks exact ties upwards; glibc breaks them to even (0.25 -> "0.2", 0.75 -> "0.8").
 */
export function toFixedC(x: number, digits: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const negative = x < 0 || Object.is(x, -0);
  const ax = Math.abs(x);
  const tie = exactTieQuotient(ax, digits);
  const s =
    tie === undefined ? ax.toFixed(digits) : formatScaled(tie % 2n === 0n ? tie : tie + 1n, digits);
  return negative ? `-${s}` : s;
}

/**
 * When `x * 10^digits` is exactly n + 1/2 (computed on the exact binary value), returns n;
 * otherwise undefined.
 */
function exactTieQuotient(x: number, digits: number): bigint | undefined {
  if (x === 0) return undefined;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  // x = mantissa * 2^exponent exactly.
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  if (exponent >= 0) return undefined;
  const scaled = mantissa * 10n ** BigInt(digits);
  const denominator = 1n << BigInt(-exponent);
  return scaled % denominator === denominator / 2n ? scaled / denominator : undefined;
}

function formatScaled(n: bigint, digits: number): string {
  if (digits === 0) return n.toString();
  const str = n.toString().padStart(digits + 1, '0');
  return `${str.slice(0, -digits)}.${str.slice(-digits)}`;
}

/** `%N.Mf`: toFixedC right-justified in width N. */
export function fixedWidth(x: number, width: number, digits: number): string {
  return padLeft(toFixedC(x, digits), width);
}

/** `(float)ns / 1e9`: xl narrows nanosecond counters to single precision before dividing. */
export function nsToSecondsAsFloat(ns: number): number {
  return Math.fround(ns) / 1e9;
}
