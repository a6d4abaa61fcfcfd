import { describe, expect, it } from 'vitest';
import { StreamReader } from '../../dom0/migration/stream-reader.js';
import {
  encodeEnd,
  encodePageData,
  encodeStreamHeader,
  encodeVcpu,
} from '../../dom0/migration/stream-writer.js';
import type { MigrationRecord } from '../../dom0/migration/types.js';
import {
  VCPU,
  concat,
  errorOf,
  header,
  pageOf,
  rawRecord,
  readAll,
  readChunks,
  streamParts,
  wholeStream,
} from './stream-fixtures.js';

const P2M_WIRE = 8 + 16; // X86_PV_P2M_FRAMES for pfns 0-7: header, start/end, one bitmap word

function records(res: ReturnType<typeof readAll>): MigrationRecord[] {
  if ('error' in res) throw new Error(res.error);
  return res.records;
}

describe('StreamReader: a good stream', () => {
  it('yields header, pages, shared info, vCPU and end, in order, with the bytes sent', () => {
    const recs = records(readAll(wholeStream(streamParts())));
    expect(recs.map((r) => r.type)).toEqual([
      'header',
      'pages',
      'pages',
      'shared-info',
      'vcpu',
      'end',
    ]);
    const h = recs[0];
    if (h?.type !== 'header') throw new Error('no header');
    expect(h.header).toEqual({ ...header(), pfns: [0, 1, 2, 3, 4, 5, 6, 7] });
    const p = recs[2];
    if (p?.type !== 'pages') throw new Error('no pages');
    expect(p.pfns).toEqual([4, 5, 6, 7]);
    expect(p.data.subarray(4096, 8192)).toEqual(pageOf(5));
    expect(recs[4]).toEqual({ type: 'vcpu', vcpu: VCPU });
  });

  it('hands out page data as a view of the chunk when the record is whole in it', () => {
    const bytes = wholeStream(streamParts([[0, 1]]));
    const whole = records(readAll(bytes)).filter((r) => r.type === 'pages');
    expect(whole).toHaveLength(1);
    expect(whole[0]?.type === 'pages' && whole[0].data.buffer).toBe(bytes.buffer);
  });

  it('without checksums, a PAGE_DATA split across chunks arrives as pages in order: views where whole, a copy for the split page', () => {
    const parts = streamParts([[0, 1, 2]]);
    const bytes = wholeStream(parts);
    const at = parts.header.length + 32 + 100; // 100 bytes into page 0
    const second = bytes.subarray(at);
    const pages = records(readChunks([bytes.subarray(0, at), second])).filter(
      (r) => r.type === 'pages',
    );
    expect(pages.map((r) => r.type === 'pages' && r.pfns)).toEqual([[0], [1, 2]]);
    const [p0, p12] = pages;
    if (p0?.type !== 'pages' || p12?.type !== 'pages') throw new Error('no pages');
    expect(p0.data).toEqual(pageOf(0));
    expect(p0.data.buffer).not.toBe(bytes.buffer);
    expect(p12.data.buffer).toBe(bytes.buffer);
    expect(p12.data.subarray(4096)).toEqual(pageOf(2));
  });

  it('with checksums, a PAGE_DATA split across chunks is held until its checksum matched, then handed out whole', () => {
    const parts = streamParts([[0, 1, 2]], true);
    const bytes = wholeStream(parts);
    const at = parts.header.length + 32 + 100;
    const r = new StreamReader({ requireChecksums: true });
    const first = r.push(bytes.subarray(0, at));
    expect('records' in first && first.records.map((x) => x.type)).toEqual(['header']);
    const rest = r.push(bytes.subarray(at));
    const pages = 'records' in rest ? rest.records.filter((x) => x.type === 'pages') : [];
    expect(pages.map((x) => x.type === 'pages' && x.pfns)).toEqual([[0, 1, 2]]);
  });

  it('done is set by the libxl END record, not before', () => {
    const bytes = wholeStream(streamParts());
    const r = new StreamReader();
    expect('error' in r.push(bytes.subarray(0, bytes.length - 8))).toBe(false);
    expect(r.done).toBe(false);
    expect(r.push(bytes.subarray(bytes.length - 8))).toEqual({ records: [{ type: 'end' }] });
    expect(r.done).toBe(true);
    expect(r.finish()).toEqual({ records: [] });
  });

  it('an optional record of an unknown type is skipped (bit 31 set)', () => {
    const p = streamParts();
    const extra = rawRecord(0x80000055, new Uint8Array(12).fill(9));
    const recs = records(readAll(concat([p.header, extra, ...p.pages, ...p.tail])));
    expect(recs.filter((r) => r.type === 'pages')).toHaveLength(2);
  });
});

describe('StreamReader: refused streams, with the record and its offset named', () => {
  const parts = streamParts();
  const pageAt = parts.header.length;

  it('every truncation is reported by finish() as a truncated stream', () => {
    const wrong: string[] = [];
    for (const checksums of [false, true]) {
      const bytes = wholeStream(streamParts([[3]], checksums));
      for (let len = 0; len < bytes.length; len++) {
        const r = new StreamReader();
        const res = r.push(bytes.subarray(0, len));
        const fin = errorOf(r.finish());
        if ('error' in res || !fin.startsWith(`stream truncated at byte ${len}: `))
          wrong.push(`${checksums ? 'checksummed' : 'plain'} cut at ${len}: ${fin}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('PAGE_DATA whose count exceeds 1024 (MAX_BATCH_SIZE)', () => {
    const page = encodePageData([0], (_i, dst) => dst.fill(1));
    new DataView(page.buffer).setUint32(8, 2000, true);
    const res = readAll(concat([parts.header, page]));
    expect(errorOf(res)).toBe(`PAGE_DATA at byte ${pageAt}: count 2000 exceeds 1024`);
  });

  it('PAGE_DATA whose length does not match its count', () => {
    const page = encodePageData([0, 1], (_i, dst) => dst.fill(1));
    new DataView(page.buffer).setUint32(8, 1, true);
    expect(errorOf(readAll(concat([parts.header, page])))).toBe(
      `PAGE_DATA at byte ${pageAt}: body of 8216 bytes does not match count 1 (expected 4112)`,
    );
  });

  it('a pfn beyond the p2m, a ballooned-out pfn, a page-table type', () => {
    const beyond = encodePageData([3, 99], (_i, dst) => dst.fill(1));
    expect(errorOf(readAll(concat([parts.header, beyond])))).toBe(
      `PAGE_DATA at byte ${pageAt}: pfn[1] = 99 is outside the guest's p2m (0-7)`,
    );
    const holed = streamParts(undefined, false, header([0, 1, 2, 3, 4, 5, 7]));
    const hole = encodePageData([6], (_i, dst) => dst.fill(1));
    expect(errorOf(readAll(concat([holed.header, hole])))).toBe(
      `PAGE_DATA at byte ${holed.header.length}: pfn[0] = 6 is not populated in the guest`,
    );
    const l1 = encodePageData([3], (_i, dst) => dst.fill(1));
    new DataView(l1.buffer).setUint32(20, 0x10000000, true); // PFINFO L1TAB in bits 63-60
    expect(errorOf(readAll(concat([parts.header, l1])))).toMatch(
      /^PAGE_DATA at byte \d+: pfn\[0\] has type 0x1; xensim sends only NOTAB/,
    );
  });

  it('pages before the stream header (X86_PV_P2M_FRAMES)', () => {
    const noP2m = parts.header.subarray(0, parts.header.length - P2M_WIRE);
    const at = noP2m.length;
    expect(errorOf(readAll(concat([noP2m, parts.pages[0] as Uint8Array])))).toBe(
      `PAGE_DATA at byte ${at}: before the stream header (X86_PV_P2M_FRAMES)`,
    );
  });

  it('anything after END, and a libxc record between libxc END and libxl END', () => {
    const bytes = wholeStream(parts);
    expect(errorOf(readAll(concat([bytes, parts.pages[0] as Uint8Array])))).toBe(
      `16432 bytes after the END record at byte ${bytes.length}`,
    );
    const libxcEnd = bytes.length - 8;
    const mixed = concat([bytes.subarray(0, libxcEnd), rawRecord(0x10), bytes.subarray(libxcEnd)]);
    expect(errorOf(readAll(mixed))).toBe(
      `libxl record type 0x10 at byte ${libxcEnd}: an unknown libxl record, expected libxl END`,
    );
  });

  it('END without the vCPU state, and a stream without END', () => {
    const noVcpu = concat([parts.header, ...parts.pages, ...encodeEnd()]);
    const endAt = parts.header.length + parts.pages[0]!.length * 2;
    expect(errorOf(readAll(noVcpu))).toBe(
      `END at byte ${endAt}: the stream ends without the vCPU state (X86_PV_VCPU_BASIC)`,
    );
    const noEnd = concat([parts.header, ...parts.pages, encodeVcpu(VCPU)]);
    expect(errorOf(readAll(noEnd))).toBe(
      `stream truncated at byte ${noEnd.length}: no END record (next record at byte ${noEnd.length})`,
    );
  });

  it('an unknown mandatory record type, and a known one xensim does not take', () => {
    expect(errorOf(readAll(concat([parts.header, rawRecord(0x55)])))).toBe(
      `record type 0x55 at byte ${pageAt}: unknown mandatory record type 0x55`,
    );
    expect(errorOf(readAll(concat([parts.header, rawRecord(0x09, new Uint8Array(8))])))).toBe(
      `HVM_CONTEXT at byte ${pageAt}: not supported by xensim (x86 PV guests, no Remus/COLO checkpoints)`,
    );
  });

  it('a record longer than 128 MiB is refused from its header', () => {
    const big = new Uint8Array(8);
    new DataView(big.buffer).setUint32(0, 0x80000055, true);
    new DataView(big.buffer).setUint32(4, (128 << 20) + 1, true);
    expect(errorOf(readAll(concat([parts.header, big])))).toBe(
      `record type 0x80000055 at byte ${pageAt}: body of 134217729 bytes exceeds the 128 MiB limit`,
    );
  });

  it('headers: bad magic, an HVM domain header, a big-endian libxl stream', () => {
    const h = parts.header.slice();
    h[0] = 0x41;
    expect(errorOf(readAll(h))).toBe('not an xl save file: bad magic');
    const cfgEnd = 48 + 4 + header().configJson.length;
    const hvm = parts.header.slice();
    hvm[cfgEnd + 16 + 8 + 24 + 3] = 2; // domain header type 2
    expect(errorOf(readAll(hvm))).toBe(
      `libxc domain header at byte ${cfgEnd + 48}: an HVM guest; only x86 PV is supported`,
    );
    const be = parts.header.slice();
    be[cfgEnd + 15] = 1;
    expect(errorOf(readAll(be))).toBe(
      `libxl stream header at byte ${cfgEnd}: big-endian streams are not supported`,
    );
  });

  it('a stream without checksums is refused where they are required (a save file)', () => {
    expect(errorOf(readAll(wholeStream(parts), true))).toMatch(/no configuration checksum/);
  });

  it('every flipped byte of a checksummed stream is refused', () => {
    const bytes = wholeStream(streamParts([[0, 1]], true));
    const accepted: number[] = [];
    for (let pos = 0; pos < bytes.length; pos++) {
      const b = bytes.slice();
      b[pos] = (b[pos] as number) ^ (1 << (pos % 8));
      if (!('error' in readAll(b))) accepted.push(pos);
    }
    expect(accepted).toEqual([]);
  });

  it('a page record altered after its checksum was taken is a checksum mismatch', () => {
    const p = streamParts([[0, 1]], true);
    const page = p.pages[0] as Uint8Array;
    page[100] = (page[100] as number) ^ 1;
    expect(errorOf(readAll(wholeStream(p)))).toMatch(
      new RegExp(`^PAGE_DATA at byte ${p.header.length}: checksum mismatch`),
    );
  });

  it('after an error the reader refuses further input with the same error', () => {
    const r = new StreamReader();
    const first = r.push(new Uint8Array(64));
    expect(errorOf(first)).toBe('not an xl save file: bad magic');
    expect(r.push(wholeStream(parts))).toEqual(first);
    expect(r.finish()).toEqual(first);
    expect(r.done).toBe(false);
  });

  it('the free encoders refuse to write a checksummed stream without a StreamWriter', () => {
    expect(() => encodeStreamHeader(header(), { checksums: true })).toThrow(/StreamWriter/);
  });
});
