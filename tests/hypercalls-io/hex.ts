// Golden-byte helpers for the io layout tests: expected bytes are written by hand as hex.

/** Parses hex digits, ignoring spaces, `|` and newlines: `hex('01 02|0300')`. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/[\s|]/g, '');
  if (digits.length % 2 !== 0 || /[^0-9a-fA-F]/.test(digits)) throw new Error(`bad hex: ${text}`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** `n` zero bytes as hex. */
export const zeros = (n: number): string => '00'.repeat(n);

/** A fresh page-sized buffer and its view. */
export function page(bytes = 4096): { mem: Uint8Array; view: DataView } {
  const mem = new Uint8Array(bytes);
  return { mem, view: new DataView(mem.buffer) };
}
