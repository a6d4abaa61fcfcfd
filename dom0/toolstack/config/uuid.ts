// Domain UUIDs as libxl handles them (tools/libs/light/libxl_uuid.c): the 8-4-4-4-12 hex
// text form, and random (version 4) generation from an injected random source.

import type { RandomSource } from './vif-spec.js';

/** Lowercase canonical form of a UUID string, or undefined if it is not one. */
export function parseUuid(text: string): string | undefined {
  return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(text)
    ? text.toLowerCase()
    : undefined;
}

/** A random version-4 UUID drawn from `random` (deterministic for a seeded source). */
export function generateUuid(random: RandomSource): string {
  const bytes: number[] = [];
  for (let i = 0; i < 4; i++) {
    const w = random.nextU32();
    bytes.push((w >>> 24) & 0xff, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff);
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
