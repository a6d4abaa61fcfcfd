import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  StreamWriter,
  encodeEnd,
  encodePageData,
  encodeStreamHeader,
  encodeVcpu,
} from '../../dom0/migration/stream-writer.js';
import { crc32Combine } from '../../dom0/migration/stream-format.js';
import { concat, header, pageOf } from './stream-fixtures.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex');
const u32 = (...v: number[]): string =>
  v.map((x) => Buffer.from(Uint32Array.of(x).buffer).toString('hex')).join('');

// The bytes of reference 10.2-10.3, written out field by field.
const XL_HEADER =
  ascii('Xen saved domain, xl format\n \0 \r') + // magic[32]
  '04030201' + // byteorder 0x01020304, little-endian
  '03000000' + // mandatory_flags JSON | STREAMv2
  '00000000' + // optional_flags
  '00000000'; // optional_data_len (no checksums)
const CONFIG = '{"c_info":{"name":"g"}}';
const LIBXL_HEADER = ascii('LibxlFmt') + '00000002' + '00000000'; // big-endian version 2, options 0
const LIBXC_CONTEXT = '01000000' + '00000000';
const IMAGE_HEADER = 'ffffffffffffffff' + '58454e46' + '00000003' + '0000' + '0000' + '00000000';
const DOMAIN_HEADER = '00000001' + '000c' + '0000' + '00000004' + '00000011'; // x86 PV, shift 12, 4.17
const PV_INFO = '02000000' + '08000000' + '0804000000000000'; // guest_width 8, pt_levels 4
const BOOT_LAYOUT = '02100080' + '20000000' + u32(16, 0, 1, 1, 1, 2, 3, 4);
const STATIC_DATA_END = '10000000' + '00000000';
const P2M_FRAMES = '03000000' + '10000000' + u32(0, 7) + 'ff00000000000000'; // pfns 0-7 populated

describe('migration stream golden bytes (libxc-migration-stream.pandoc, xl_saverestore.c)', () => {
  it('the stream header is the xl header, config, libxl header, LIBXC_CONTEXT, libxc headers, X86_PV_INFO, boot layout, STATIC_DATA_END, X86_PV_P2M_FRAMES', () => {
    const got = concat(encodeStreamHeader(header(), { checksums: false }));
    expect(hex(got)).toBe(
      XL_HEADER +
        u32(CONFIG.length) +
        ascii(CONFIG) +
        LIBXL_HEADER +
        LIBXC_CONTEXT +
        IMAGE_HEADER +
        DOMAIN_HEADER +
        PV_INFO +
        BOOT_LAYOUT +
        STATIC_DATA_END +
        P2M_FRAMES,
    );
  });

  it('PAGE_DATA is u32 count, u32 reserved, u64 pfn[] with type NOTAB (bits 63-60 clear), then 4096 bytes a page', () => {
    const pages = [pageOf(5), pageOf(0x12345)];
    const got = encodePageData([5, 0x12345], (i, dst) => dst.set(pages[i] as Uint8Array));
    const body = u32(2, 0) + '0500000000000000' + '4523010000000000';
    expect(hex(got.subarray(0, 32))).toBe('01000000' + u32(8 + 16 + 8192) + body);
    expect(got.length).toBe(8 + 8 + 16 + 8192);
    expect(hex(got.subarray(32))).toBe(hex(pages[0] as Uint8Array) + hex(pages[1] as Uint8Array));
  });

  it('X86_PV_VCPU_BASIC starts with vcpu_id 0 and a reserved word; END is libxc END then libxl END', () => {
    const v = encodeVcpu({ kernelRef: 'k', handoff: null, nrOnlineVcpus: 1, startInfoPfn: 2 });
    expect(hex(v.subarray(0, 4))).toBe('04000000');
    expect(hex(v.subarray(8, 16))).toBe(u32(0, 0));
    expect(v.length % 8).toBe(0);
    expect(encodeEnd().map(hex)).toEqual(['0000000000000000', '0000000000000000']);
  });

  it('with checksums, the xl header carries "XSCK" + the config CRC and each record is followed by XENSIM_CHECKSUM (record CRC, running CRC)', () => {
    const w = new StreamWriter({ checksums: true });
    const got = concat(w.header(header()));
    expect(hex(got.subarray(44, 48))).toBe(u32(8)); // optional_data_len
    expect(hex(got.subarray(48, 56))).toBe(u32(0x4b435358, zlibCrc32(CONFIG)));
    const ctx = 56 + 4 + CONFIG.length + 16; // LIBXC_CONTEXT record
    expect(hex(got.subarray(ctx, ctx + 8))).toBe(LIBXC_CONTEXT);
    const cs = got.subarray(ctx + 8, ctx + 24);
    const recCrc = zlibCrc32(got.subarray(ctx, ctx + 8));
    const running = zlibCrc32(got.subarray(0, ctx + 8));
    expect(hex(cs)).toBe('01100080' + '08000000' + u32(recCrc, running));
    expect(w.bytesWritten).toBe(got.length);
  });

  it('crc32Combine(crc(A), crc(B), |B|) is crc(A ++ B)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
        const ab = concat([a, b]);
        expect(crc32Combine(zlibCrc32(a), zlibCrc32(b), b.length)).toBe(zlibCrc32(ab));
      }),
      { numRuns: 200 },
    );
  });
});
