import { describe, expect, it } from 'vitest';
import {
  grantEntryOffset,
  readGrantEntryV1,
  writeGrantEntryV1,
} from '../../hypercalls/io/grant-entry.js';
import {
  GNTST_no_space,
  GNTST_okay,
  GNTST_permission_denied,
  GTF_permit_access,
  GTF_readonly,
  gntstMessage,
} from '../../hypercalls/grant-table.js';

describe('grant_entry_v1 layout (public/grant_table.h)', () => {
  it('encodes flags, domid, frame little-endian in 8 bytes', () => {
    const buf = new Uint8Array(16);
    const v = new DataView(buf.buffer);
    expect(
      writeGrantEntryV1(v, 8, {
        flags: GTF_permit_access | GTF_readonly,
        domid: 0x0102,
        frame: 0xa0b0c0d0,
      }),
    ).toBe(true);
    expect([...buf.subarray(8)]).toEqual([0x05, 0x00, 0x02, 0x01, 0xd0, 0xc0, 0xb0, 0xa0]);
    expect([...buf.subarray(0, 8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('decodes golden bytes and refuses out-of-range offsets without throwing', () => {
    const buf = new Uint8Array([0x19, 0x00, 0x07, 0x00, 0x34, 0x12, 0x00, 0x00]);
    const v = new DataView(buf.buffer);
    expect(readGrantEntryV1(v, 0)).toEqual({ flags: 0x19, domid: 7, frame: 0x1234 });
    expect(readGrantEntryV1(v, 1)).toBeUndefined();
    expect(readGrantEntryV1(v, -8)).toBeUndefined();
    expect(writeGrantEntryV1(v, 4, { flags: 1, domid: 1, frame: 1 })).toBe(false);
  });

  it('places ref r at (r mod 512) * 8 within its frame', () => {
    expect(grantEntryOffset(0)).toBe(0);
    expect(grantEntryOffset(511)).toBe(4088);
    expect(grantEntryOffset(512)).toBe(0);
    expect(grantEntryOffset(1000)).toBe(488 * 8);
  });

  it("GNTST messages are Xen's GNTTABOP_error_msgs", () => {
    expect(gntstMessage(GNTST_okay)).toBe('okay');
    expect(gntstMessage(GNTST_permission_denied)).toBe('permission denied');
    expect(gntstMessage(-10)).toBe('copy arguments cross page boundary');
    expect(gntstMessage(GNTST_no_space)).toBe('out of space');
    expect(gntstMessage(-99)).toBe('unknown status -99');
  });
});
