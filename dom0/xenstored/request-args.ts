// Request payload parsing as C xenstored does it (tools/xenstore/xenstored_core.c onearg,
// get_strings, xenstore_count_strings): NUL-terminated strings, parsed to results, never thrown.

/** The single NUL-terminated argument, or null (onearg). */
export function oneArg(p: Buffer): string | null {
  const n = p.length;
  if (n === 0 || p[n - 1] !== 0) return null;
  const nul = p.indexOf(0);
  if (nul !== n - 1) return null;
  return p.toString('latin1', 0, nul);
}

/** Number of NUL bytes (xenstore_count_strings). */
export function countStrings(p: Buffer): number {
  let c = 0;
  for (let i = p.indexOf(0); i >= 0; i = p.indexOf(0, i + 1)) c++;
  return c;
}

/** The NUL-terminated strings of the payload; bytes after the last NUL are ignored. */
export function allStrings(p: Buffer): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = p.indexOf(0); i >= 0; i = p.indexOf(0, start)) {
    out.push(p.toString('latin1', start, i));
    start = i + 1;
  }
  return out;
}

/** atoi: leading decimal digits (after optional spaces and sign); 0 when there are none. */
export function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  if (!m) return 0;
  const v = parseInt(m[1] as string, 10);
  return v > 0x7fffffff || v < -0x80000000 ? 0 : v;
}

/** A strict decimal domid in 0..65535, or null. */
export function parseDomid(s: string): number | null {
  if (!/^\d{1,5}$/.test(s)) return null;
  const v = parseInt(s, 10);
  return v <= 0xffff ? v : null;
}
