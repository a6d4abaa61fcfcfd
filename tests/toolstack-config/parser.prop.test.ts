import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  parseConfigText,
  parseDiskSpec,
  parseSettings,
  parseVifSpec,
  parseXlConf,
} from '../../dom0/toolstack/config/index.js';

const key = fc.stringMatching(/^[a-z][._0-9a-z]{0,8}$/);
const text = fc.string({
  unit: fc.constantFrom(...'ab=+[],;#"\'\\\n\t -.():0x9M'.split('')),
  maxLength: 60,
});

/** A string written so libxlu reads it back unchanged: escape quote and backslash. */
const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

describe('config parsing properties', () => {
  it('the parser never throws and every diagnostic has a location and a hint', () => {
    fc.assert(
      fc.property(text, (t) => {
        const r = parseConfigText(t, 'p.cfg');
        if (!r.ok)
          for (const d of r.errors) {
            expect(d.line).toBeGreaterThanOrEqual(1);
            expect(d.column).toBeGreaterThanOrEqual(1);
            expect(d.hint.length).toBeGreaterThan(0);
          }
      }),
      { numRuns: 400 },
    );
  });

  it('quoted strings round-trip through the lexer, and the last assignment wins', () => {
    const value = fc.string({
      unit: fc.constantFrom(...'ab "\'\\,=#[]/:'.split('')),
      maxLength: 12,
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 6 }), (pairs) => {
        const src = pairs.map(([k, v]) => `${k} = ${quote(v)}`).join('\n');
        const s = parseSettings(src, 'p.cfg');
        expect(s.ok).toBe(true);
        if (!s.ok) return;
        const last = new Map(pairs);
        for (const [k, v] of last) {
          const got = s.value.get(k)?.value;
          expect(got?.kind === 'atom' && got.text).toBe(v);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('disk, vif and xl.conf parsers return results and never throw on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.nat(8), (s, i) => {
        expect(typeof parseDiskSpec(s).ok).toBe('boolean');
        expect(typeof parseVifSpec(s, i).ok).toBe('boolean');
        expect(typeof parseXlConf(s).ok).toBe('boolean');
      }),
      { numRuns: 400 },
    );
  });
});
