import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StreamReader } from '../../dom0/migration/stream-reader.js';
import { StreamWriter } from '../../dom0/migration/stream-writer.js';
import type { MigrationRecord, VcpuState } from '../../dom0/migration/types.js';
import { LAYOUT, concat, header, pageOf, streamParts, wholeStream } from './stream-fixtures.js';

interface Plan {
  pfns: number[];
  batches: number[][];
  sharedInfo: boolean;
  vcpu: VcpuState;
  checksums: boolean;
  seed: number;
}

const BOOT_PFNS = [LAYOUT.startInfoPfn, LAYOUT.storePfn, LAYOUT.consolePfn];

const planArb: fc.Arbitrary<Plan> = fc
  .record({
    extra: fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { maxLength: 40 }),
    picks: fc.array(fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), { maxLength: 4 }),
    sharedInfo: fc.boolean(),
    vcpu: fc.record({
      kernelRef: fc.string({ maxLength: 40 }),
      handoff: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
      nrOnlineVcpus: fc.integer({ min: 1, max: 64 }),
      startInfoPfn: fc.constant(LAYOUT.startInfoPfn),
    }),
    checksums: fc.boolean(),
    seed: fc.nat(255),
  })
  .map(({ extra, picks, ...rest }) => {
    const pfns = [...new Set([...BOOT_PFNS, ...extra])].sort((a, b) => a - b);
    const batches = picks.map((b) => b.map((k) => pfns[k % pfns.length] as number));
    return { pfns, batches, ...rest };
  });

function encode(p: Plan): { bytes: Uint8Array; expected: MigrationRecord[] } {
  const w = new StreamWriter({ checksums: p.checksums });
  const h = header(p.pfns);
  const chunks = [...w.header(h)];
  const expected: MigrationRecord[] = [{ type: 'header', header: h }];
  for (const b of p.batches) {
    chunks.push(w.pageData(b, (i, dst) => dst.set(pageOf(b[i] as number, p.seed))));
    expected.push({ type: 'pages', pfns: b, data: concat(b.map((x) => pageOf(x, p.seed))) });
  }
  if (p.sharedInfo) {
    chunks.push(w.sharedInfo(pageOf(1 << 20, p.seed)));
    expected.push({ type: 'shared-info', bytes: pageOf(1 << 20, p.seed) });
  }
  chunks.push(w.vcpu(p.vcpu), ...w.end());
  expected.push({ type: 'vcpu', vcpu: p.vcpu }, { type: 'end' });
  return { bytes: concat(chunks), expected };
}

/**
 * Records as comparable values: byte arrays as base64 (deep-equal on typed arrays is slow element by
 * element), and pages one by one (without checksums a PAGE_DATA split across chunks arrives in
 * several 'pages' records).
 */
function comparable(r: MigrationRecord[] | string): unknown {
  if (typeof r === 'string') return r;
  const b64 = (b: Uint8Array): string =>
    Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64');
  return r.flatMap((x): unknown[] =>
    x.type === 'pages'
      ? x.pfns.map((pfn, i) => ({ pfn, page: b64(x.data.subarray(i * 4096, (i + 1) * 4096)) }))
      : x.type === 'shared-info'
        ? [{ ...x, bytes: b64(x.bytes) }]
        : [x],
  );
}

/** Splits `bytes` at the given cut points (any positions, sorted and clamped). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  return out;
}

/** Runs the reader over chunks; any outcome but a thrown exception is fine. */
function feed(chunks: readonly Uint8Array[]): MigrationRecord[] | string {
  const r = new StreamReader();
  const recs: MigrationRecord[] = [];
  for (const c of chunks) {
    const out = r.push(c);
    if ('error' in out) return out.error;
    recs.push(...out.records);
  }
  const fin = r.finish();
  return 'error' in fin ? fin.error : recs;
}

describe('migration stream round trip and robustness', () => {
  it('a random stream read in random chunks yields exactly the records written', () => {
    fc.assert(
      fc.property(planArb, fc.array(fc.nat(), { maxLength: 30 }), (plan, cuts) => {
        const { bytes, expected } = encode(plan);
        const got = feed(split(bytes, cuts));
        expect(comparable(got)).toEqual(comparable(expected));
      }),
      { numRuns: 150 },
    );
  });

  it('random garbage never throws and is refused', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (g, cuts) => {
          expect(typeof feed(split(g, cuts))).toBe('string');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a valid header followed by garbage never throws', () => {
    const head = streamParts().header;
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (g, cuts) => {
          expect(() => feed(split(concat([head, g]), cuts))).not.toThrow();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a stream without checksums with random bytes overwritten never throws', () => {
    const bytes = wholeStream(streamParts([[0, 1], [2]]));
    fc.assert(
      fc.property(
        fc.array(fc.record({ pos: fc.nat(bytes.length - 1), v: fc.nat(255) }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (edits, cuts) => {
          const b = bytes.slice();
          for (const e of edits) b[e.pos] = e.v;
          expect(() => feed(split(b, cuts))).not.toThrow();
        },
      ),
      { numRuns: 400 },
    );
  });
});
