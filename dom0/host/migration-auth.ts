// The authentication that opens a migration connection between host daemons. DEVIATION(xen): xl
// relies on ssh to authenticate `xl migrate-receive` (tools/xl/xl_migrate.c); xensim's listener is
// a TCP port, so the sender first proves it knows the target's shared token and passes the
// migrate-receive flags (-p, -e, -d) in a fixed-size message.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';

/** "XENSIM-MIGRATE/1": the first bytes of every migration connection. */
export const AUTH_MAGIC = new TextEncoder().encode('XENSIM-MIGRATE/1');
/** magic[16], SHA-256(token)[32], uint32 flags (big-endian), 12 reserved bytes (zero). */
export const AUTH_MESSAGE_BYTES = 64;
/** "XSMIGACK", uint32 status (big-endian), 4 reserved bytes. */
export const AUTH_REPLY_BYTES = 16;
const REPLY_MAGIC = new TextEncoder().encode('XSMIGACK');

/** migrate-receive's flags, carried by the auth message. */
export const AUTH_FLAG_PAUSED = 1 << 0; // -p
export const AUTH_FLAG_NO_MONITOR = 1 << 1; // -e
export const AUTH_FLAG_DEBUG = 1 << 2; // -d

export const AUTH_STATUS = {
  ok: 0,
  badToken: 1,
  badMessage: 2,
  /** The host's toolstack cannot receive migrations. */
  unsupported: 3,
} as const;
export type AuthStatus = (typeof AUTH_STATUS)[keyof typeof AUTH_STATUS];

export interface AuthRequest {
  readonly paused: boolean;
  readonly noMonitor: boolean;
  readonly debug: boolean;
}

function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function encodeAuthMessage(token: string, req: AuthRequest): Uint8Array {
  const out = Buffer.alloc(AUTH_MESSAGE_BYTES);
  out.set(AUTH_MAGIC, 0);
  tokenDigest(token).copy(out, 16);
  const flags =
    (req.paused ? AUTH_FLAG_PAUSED : 0) |
    (req.noMonitor ? AUTH_FLAG_NO_MONITOR : 0) |
    (req.debug ? AUTH_FLAG_DEBUG : 0);
  out.writeUInt32BE(flags, 48);
  return out;
}

export type AuthCheck =
  | { readonly ok: true; readonly request: AuthRequest }
  | { readonly ok: false; readonly status: AuthStatus; readonly error: string };

/** Checks a connection's first AUTH_MESSAGE_BYTES against the token, in constant time. */
export function checkAuthMessage(bytes: Uint8Array, token: string): AuthCheck {
  if (bytes.length !== AUTH_MESSAGE_BYTES)
    return { ok: false, status: AUTH_STATUS.badMessage, error: 'short authentication message' };
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (!b.subarray(0, 16).equals(Buffer.from(AUTH_MAGIC)))
    return { ok: false, status: AUTH_STATUS.badMessage, error: 'not a xensim migration client' };
  if (!timingSafeEqual(b.subarray(16, 48), tokenDigest(token)))
    return { ok: false, status: AUTH_STATUS.badToken, error: 'wrong migration token' };
  const flags = b.readUInt32BE(48);
  return {
    ok: true,
    request: {
      paused: (flags & AUTH_FLAG_PAUSED) !== 0,
      noMonitor: (flags & AUTH_FLAG_NO_MONITOR) !== 0,
      debug: (flags & AUTH_FLAG_DEBUG) !== 0,
    },
  };
}

export function encodeAuthReply(status: AuthStatus): Uint8Array {
  const out = Buffer.alloc(AUTH_REPLY_BYTES);
  out.set(REPLY_MAGIC, 0);
  out.writeUInt32BE(status, 8);
  return out;
}

/** The status in a reply, or an error if it is not a reply at all. */
export function parseAuthReply(
  bytes: Uint8Array,
): { ok: true; status: number } | { ok: false; error: string } {
  if (bytes.length !== AUTH_REPLY_BYTES) return { ok: false, error: 'short reply' };
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (!b.subarray(0, 8).equals(Buffer.from(REPLY_MAGIC)))
    return { ok: false, error: 'the peer is not a xensim migration listener' };
  return { ok: true, status: b.readUInt32BE(8) };
}

/** What the sender prints for a refusal. */
export function authStatusText(status: number): string {
  switch (status) {
    case AUTH_STATUS.badToken:
      return 'the target refused the migration token';
    case AUTH_STATUS.badMessage:
      return 'the target did not understand the authentication message';
    case AUTH_STATUS.unsupported:
      return 'the target host cannot receive migrations';
    default:
      return `the target refused the connection (status ${status})`;
  }
}

/** A fresh random token (32 bytes, hex). */
export function generateToken(): string {
  return randomBytes(32).toString('hex');
}

/** Reads a token file (trimmed); undefined if absent or empty. */
export function readTokenFile(file: string): string | undefined {
  try {
    const t = fs.readFileSync(file, 'utf8').trim();
    return t === '' ? undefined : t;
  } catch {
    return undefined;
  }
}

/** Writes the token readable by this user only (0600), replacing any older file. */
export function writeTokenFile(file: string, token: string): void {
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  fs.chmodSync(file, 0o600);
}
