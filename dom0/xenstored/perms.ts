// xenstore node permissions (tools/xenstore/xenstored_core.c perm_for_conn, xs_lib.c
// xenstore_strings_to_perms): `n`/`r`/`w`/`b` lists whose first entry is owner and default.

export const XS_PERM_NONE = 0;
export const XS_PERM_READ = 1;
export const XS_PERM_WRITE = 2;
export const XS_PERM_BOTH = 3;
/** Internal bit: the caller owns the node. */
export const XS_PERM_OWNER = 8;

export interface PermEntry {
  id: number;
  perm: number;
}

/** An immutable permission list with its wire form cached (GET_PERMS reply). */
export interface Perms {
  readonly entries: readonly PermEntry[];
  readonly wire: Buffer;
}

const LETTER = ['n', 'r', 'w', 'b'] as const;

export function makePerms(entries: readonly PermEntry[]): Perms {
  const text = entries.map((e) => `${LETTER[e.perm & 3]}${e.id}\0`).join('');
  return { entries, wire: Buffer.from(text, 'latin1') };
}

export function ownerOf(p: Perms): number {
  return (p.entries[0] as PermEntry).id;
}

/** Same list with a different owner (first entry's id), access bits kept. */
export function withOwner(p: Perms, owner: number): Perms {
  const first = p.entries[0] as PermEntry;
  if (first.id === owner) return p;
  return makePerms([{ id: owner, perm: first.perm }, ...p.entries.slice(1)]);
}

/** Parses `n0`, `r5`… strings into entries; null when any is malformed or the list is empty. */
export function parsePerms(strs: readonly string[]): PermEntry[] | null {
  if (strs.length === 0) return null;
  const out: PermEntry[] = [];
  for (const s of strs) {
    const bits = 'nrwb'.indexOf(s.charAt(0));
    if (bits < 0 || s.length < 2 || s.length > 6) return null;
    let id = 0;
    for (let i = 1; i < s.length; i++) {
      const d = s.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) return null;
      id = id * 10 + d;
    }
    if (id > 0xffff) return null;
    out.push({ id, perm: bits });
  }
  return out;
}

/**
 * perm_for_conn: owner (or its target's owner) gets everything; otherwise the first later entry
 * naming the caller (or its target), else the first entry's access.
 */
export function permFor(
  p: Perms,
  domid: number,
  privileged: boolean,
  target: number | null,
): number {
  const e = p.entries;
  const first = e[0] as PermEntry;
  if (privileged || first.id === domid || (target !== null && first.id === target))
    return XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;
  for (let i = 1; i < e.length; i++) {
    const x = e[i] as PermEntry;
    if (x.id === domid || (target !== null && x.id === target)) return x.perm & XS_PERM_BOTH;
  }
  return first.perm & XS_PERM_BOTH;
}
