import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeSaveFile, encodeSaveFile } from '../../dom0/toolstack/save-file.js';
import { bootLayout } from '../../dom0/toolstack/domain-builder.js';

function image(): Uint8Array {
  // The boot pages (start_info 5, xenstore 6, console 7 for this layout) must be populated.
  const pfns = [0, 1, 2, 3, 4, 5, 6, 7, 9, 1500];
  return encodeSaveFile({
    configJson: '{"c_info":{"name":"g"},"xensim_config":{"cInfo":{"name":"g"}}}',
    xenMajor: 4,
    xenMinor: 17,
    layout: bootLayout(2048, 100),
    pfns,
    page: (i) => new Uint8Array(4096).fill((i * 37 + 1) & 0xff),
  });
}

describe('save-file integrity', () => {
  const bytes = image();

  it('decodes what it encoded: config, layout, every pfn and page', () => {
    const d = decodeSaveFile(bytes);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.value.pfns).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 9, 1500]);
    expect(d.value.layout).toEqual(bootLayout(2048, 100));
    expect(d.value.xenMinor).toBe(17);
    const off = d.value.pageOffsets[9] as number;
    expect(bytes[off]).toBe((9 * 37 + 1) & 0xff);
    expect(bytes[off + 4095]).toBe((9 * 37 + 1) & 0xff);
    expect(d.value.vcpu.startInfoPfn).toBe(5);
  });

  it('any single flipped bit anywhere in the file is refused', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: bytes.length - 1 }),
        fc.integer({ min: 0, max: 7 }),
        (pos, bit) => {
          const b = bytes.slice();
          b[pos] = (b[pos] as number) ^ (1 << bit);
          expect(decodeSaveFile(b).ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every truncation is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), (len) => {
        expect(decodeSaveFile(bytes.subarray(0, len)).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
