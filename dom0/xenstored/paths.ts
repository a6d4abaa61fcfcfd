// xenstore path rules of C xenstored 4.17 (tools/xenstore/xenstored_core.c: canonicalize,
// is_valid_nodename): allowed characters, no `//`, no trailing `/`, length limits.

import { XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX } from '../../hypercalls/io/xs-wire.js';

/** `a-zA-Z0-9-/_@` per character code. */
const VALID = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_@')
  VALID[c.charCodeAt(0)] = 1;

/** The home of a domain's relative paths. */
export function domainPath(domid: number): string {
  return `/local/domain/${domid}`;
}

/** Turns a relative path into an absolute one; `@` names and absolute paths pass unchanged. */
export function canonicalize(path: string, domid: number): string {
  const c = path.charCodeAt(0);
  if (c === 0x2f /* / */ || c === 0x40 /* @ */) return path;
  return `${domainPath(domid)}/${path}`;
}

const LOCAL_DOMAIN = '/local/domain/';

/** is_valid_nodename: an absolute path within the limits, `pathMax` counted from the domain home. */
export function isValidNodename(path: string, pathMax = XENSTORE_REL_PATH_MAX): boolean {
  const n = path.length;
  if (n === 0 || n > XENSTORE_ABS_PATH_MAX) return false;
  if (path.charCodeAt(0) !== 0x2f) return false;
  if (n > 1 && path.charCodeAt(n - 1) === 0x2f) return false;
  let prevSlash = false;
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c >= 128 || VALID[c] === 0) return false;
    const slash = c === 0x2f;
    if (slash && prevSlash) return false;
    prevSlash = slash;
  }
  let localOff = 0;
  if (path.startsWith(LOCAL_DOMAIN)) {
    // sscanf("/local/domain/%5u/%n"): the home prefix does not count against path-max.
    let i = LOCAL_DOMAIN.length;
    const start = i;
    while (i < n && i - start < 5 && path.charCodeAt(i) >= 0x30 && path.charCodeAt(i) <= 0x39) i++;
    if (i > start && i < n && path.charCodeAt(i) === 0x2f) localOff = i + 1;
  }
  return n <= localOff + pathMax;
}

/** Parent of an absolute path (`/` for top-level nodes). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Last component of an absolute path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Child path of `parent`. */
export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** is_child(child, parent): `child` is `parent` or lies below it. */
export function isChildOrSelf(child: string, parent: string): boolean {
  if (parent === '/') return child.charCodeAt(0) === 0x2f;
  return child === parent || (child.startsWith(parent) && child.charCodeAt(parent.length) === 0x2f);
}
