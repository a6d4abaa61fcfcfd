import { describe, expect, it } from 'vitest';
import * as S from '../../hypercalls/save-stream.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('libxc stream v2 framing (libxc-migration-stream.pandoc)', () => {
  it('the image header is the marker, "XENF", version 3, big-endian', () => {
    const buf = new Uint8Array(S.IHDR_SIZE);
    S.writeImageHeader(new DataView(buf.buffer), 0);
    expect(hex(buf)).toBe(
      'ffffffffffffffff' + '58454e46' + '00000003' + '0000' + '0000' + '00000000',
    );
    expect(S.readImageHeader(new DataView(buf.buffer), 0)).toEqual({
      ok: true,
      value: { version: 3, options: 0 },
    });
  });

  it('refuses a wrong marker, id, version or a truncated header, saying which', () => {
    const buf = new Uint8Array(S.IHDR_SIZE);
    const v = new DataView(buf.buffer);
    S.writeImageHeader(v, 0);
    v.setUint32(12, 2, false);
    expect(S.readImageHeader(v, 0)).toEqual({
      ok: false,
      error: expect.stringMatching(/version 2/) as string,
    });
    v.setUint32(8, 0x41414141, false);
    expect(S.readImageHeader(v, 0)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/bad id/) as string,
    });
    v.setUint8(0, 0);
    expect(S.readImageHeader(v, 0)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/marker/) as string,
    });
    expect(S.readImageHeader(new DataView(new ArrayBuffer(10)), 0)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/truncated/) as string,
    });
  });

  it('the domain header is type, page_shift, reserved, xen_major, xen_minor (16 bytes)', () => {
    const buf = new Uint8Array(S.DHDR_SIZE);
    S.writeDomainHeader(new DataView(buf.buffer), 0, {
      type: S.DHDR_TYPE_X86_PV,
      pageShift: 12,
      xenMajor: 4,
      xenMinor: 17,
    });
    expect(hex(buf)).toBe('00000001' + '000c' + '0000' + '00000004' + '00000011');
    expect(S.readDomainHeader(new DataView(buf.buffer), 0)).toEqual({
      ok: true,
      value: { type: 1, pageShift: 12, xenMajor: 4, xenMinor: 17 },
    });
  });

  it('records are type + length, padded to 8 bytes; bit 31 marks an optional record', () => {
    expect(S.recordWireSize(0)).toBe(8);
    expect(S.recordWireSize(1)).toBe(16);
    expect(S.recordWireSize(8)).toBe(16);
    const buf = new Uint8Array(8);
    const v = new DataView(buf.buffer);
    S.writeRecordHeader(v, 0, S.REC_TYPE_X86_TSC_INFO | S.REC_TYPE_OPTIONAL, 24);
    expect(hex(buf)).toBe('08000080' + '18000000');
    expect(S.readRecordHeader(v, 0)).toEqual({
      ok: true,
      value: { type: S.REC_TYPE_X86_TSC_INFO, optional: true, bodyLength: 24 },
    });
    v.setUint32(4, S.REC_LENGTH_MAX + 1, true);
    expect(S.readRecordHeader(v, 0)).toMatchObject({ ok: false });
  });

  it('record type numbers follow the spec', () => {
    expect([
      S.REC_TYPE_END,
      S.REC_TYPE_PAGE_DATA,
      S.REC_TYPE_SHARED_INFO,
      S.REC_TYPE_STATIC_DATA_END,
      S.REC_TYPE_X86_MSR_POLICY,
    ]).toEqual([0, 1, 7, 0x10, 0x12]);
    expect(S.REC_TYPE_NAMES[S.REC_TYPE_X86_PV_VCPU_BASIC]).toBe('X86_PV_VCPU_BASIC');
    expect(S.PAGE_DATA_MAX_BATCH).toBe(1024);
  });
});

describe('xl save-file header (xl_saverestore.c)', () => {
  it('is the 32-byte magic then byteorder 0x01020304 and the flags', () => {
    const buf = new Uint8Array(S.XL_SAVEFILE_HEADER_SIZE);
    const v = new DataView(buf.buffer);
    S.writeXlSaveHeader(v, 0, {
      mandatoryFlags: S.XL_MANDATORY_FLAG_JSON | S.XL_MANDATORY_FLAG_STREAMv2,
      optionalFlags: 0,
      optionalDataLen: 0,
    });
    expect(Buffer.from(buf.subarray(0, 32)).toString('latin1')).toBe(
      'Xen saved domain, xl format\n \0 \r',
    );
    expect(hex(buf.subarray(32))).toBe('04030201' + '03000000' + '00000000' + '00000000');
    expect(S.readXlSaveHeader(v, 0)).toEqual({
      ok: true,
      value: { mandatoryFlags: 3, optionalFlags: 0, optionalDataLen: 0 },
    });
  });

  it('refuses unknown mandatory flags and foreign files with a reason', () => {
    const buf = new Uint8Array(S.XL_SAVEFILE_HEADER_SIZE);
    const v = new DataView(buf.buffer);
    S.writeXlSaveHeader(v, 0, { mandatoryFlags: 1 << 5, optionalFlags: 0, optionalDataLen: 0 });
    expect(S.readXlSaveHeader(v, 0)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/mandatory/) as string,
    });
    buf[0] = 0x00;
    expect(S.readXlSaveHeader(v, 0)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/bad magic/) as string,
    });
  });

  it('the libxl stream ident spells "LibxlFmt"', () => {
    expect(Buffer.from(S.LIBXL_STREAM_IDENT.toString(16), 'hex').toString('latin1')).toBe(
      'LibxlFmt',
    );
  });
});
