// Save/restore and migration stream framing: the libxc stream v2 (docs/specs/libxc-migration-stream.pandoc,
// tools/libs/guest/xg_sr_stream_format.h), the libxl stream (docs/specs/libxl-migration-stream.pandoc,
// tools/libs/light/libxl_sr_stream_format.h) and xl's save-file header (tools/xl/xl_saverestore.c).
// Headers are big-endian in libxc's stream; records are little-endian on x86 (options bit 0 clear).

// ---- libxc image header (24 bytes, big-endian) ----
export const IHDR_MARKER = 0xffffffffffffffffn;
export const IHDR_ID = 0x58454e46; // "XENF"
export const IHDR_VERSION = 3;
export const IHDR_OPT_BIG_ENDIAN = 1 << 0;
export const IHDR_SIZE = 24;

// ---- libxc domain header (16 bytes) ----
export const DHDR_TYPE_X86_PV = 1;
export const DHDR_TYPE_X86_HVM = 2;
export const DHDR_SIZE = 16;

// ---- libxc record types ----
export const REC_TYPE_END = 0x00000000;
export const REC_TYPE_PAGE_DATA = 0x00000001;
export const REC_TYPE_X86_PV_INFO = 0x00000002;
export const REC_TYPE_X86_PV_P2M_FRAMES = 0x00000003;
export const REC_TYPE_X86_PV_VCPU_BASIC = 0x00000004;
export const REC_TYPE_X86_PV_VCPU_EXTENDED = 0x00000005;
export const REC_TYPE_X86_PV_VCPU_XSAVE = 0x00000006;
export const REC_TYPE_SHARED_INFO = 0x00000007;
export const REC_TYPE_X86_TSC_INFO = 0x00000008;
export const REC_TYPE_HVM_CONTEXT = 0x00000009;
export const REC_TYPE_HVM_PARAMS = 0x0000000a;
export const REC_TYPE_TOOLSTACK = 0x0000000b;
export const REC_TYPE_X86_PV_VCPU_MSRS = 0x0000000c;
export const REC_TYPE_VERIFY = 0x0000000d;
export const REC_TYPE_CHECKPOINT = 0x0000000e;
export const REC_TYPE_CHECKPOINT_DIRTY_PFN_LIST = 0x0000000f;
export const REC_TYPE_STATIC_DATA_END = 0x00000010;
export const REC_TYPE_X86_CPUID_POLICY = 0x00000011;
export const REC_TYPE_X86_MSR_POLICY = 0x00000012;
export const REC_TYPE_OPTIONAL = 0x80000000;
/** Records are `uint32 type, uint32 body_length, body`, padded to 8 bytes; bodies at most 128 MiB. */
export const REC_HEADER_SIZE = 8;
export const REC_ALIGN = 8;
export const REC_LENGTH_MAX = 128 << 20;

export const REC_TYPE_NAMES: Readonly<Record<number, string>> = {
  0x00: 'END',
  0x01: 'PAGE_DATA',
  0x02: 'X86_PV_INFO',
  0x03: 'X86_PV_P2M_FRAMES',
  0x04: 'X86_PV_VCPU_BASIC',
  0x05: 'X86_PV_VCPU_EXTENDED',
  0x06: 'X86_PV_VCPU_XSAVE',
  0x07: 'SHARED_INFO',
  0x08: 'X86_TSC_INFO',
  0x09: 'HVM_CONTEXT',
  0x0a: 'HVM_PARAMS',
  0x0b: 'TOOLSTACK',
  0x0c: 'X86_PV_VCPU_MSRS',
  0x0d: 'VERIFY',
  0x0e: 'CHECKPOINT',
  0x0f: 'CHECKPOINT_DIRTY_PFN_LIST',
  0x10: 'STATIC_DATA_END',
  0x11: 'X86_CPUID_POLICY',
  0x12: 'X86_MSR_POLICY',
};

// ---- PAGE_DATA: uint32 count, uint32 reserved, uint64 pfn[count] (type in bits 63-60), then page bodies ----
export const PAGE_DATA_MAX_BATCH = 1024; // MAX_BATCH_SIZE in xg_sr_save.c
export const PAGE_DATA_PFN_MASK = 0x000fffffffffffffn;
export const PAGE_DATA_TYPE_SHIFT = 60n;
export const XEN_DOMCTL_PFINFO_NOTAB = 0x0;
export const XEN_DOMCTL_PFINFO_L1TAB = 0x1;
export const XEN_DOMCTL_PFINFO_L2TAB = 0x2;
export const XEN_DOMCTL_PFINFO_L3TAB = 0x3;
export const XEN_DOMCTL_PFINFO_L4TAB = 0x4;
export const XEN_DOMCTL_PFINFO_LPINTAB = 0x8;
export const XEN_DOMCTL_PFINFO_XTAB = 0xf; // invalid page
export const XEN_DOMCTL_PFINFO_XALLOC = 0xe; // allocate only, no data
export const XEN_DOMCTL_PFINFO_BROKEN = 0xd;

// ---- libxl stream ----
export const LIBXL_STREAM_IDENT = 0x4c6962786c466d74n; // "LibxlFmt"
export const LIBXL_STREAM_VERSION = 2;
export const LIBXL_STREAM_OPT_BIG_ENDIAN = 1 << 0;
export const LIBXL_STREAM_OPT_LEGACY = 1 << 1;
export const LIBXL_HDR_SIZE = 16;
export const LIBXL_REC_END = 0x00000000;
export const LIBXL_REC_LIBXC_CONTEXT = 0x00000001;
export const LIBXL_REC_EMULATOR_XENSTORE_DATA = 0x00000002;
export const LIBXL_REC_EMULATOR_CONTEXT = 0x00000003;
export const LIBXL_REC_CHECKPOINT_END = 0x00000004;
export const LIBXL_REC_CHECKPOINT_STATE = 0x00000005;

// ---- xl save-file header ----
/** 32 bytes: the text, a newline, then ` \0 \r` padding as xl writes it. */
export const XL_SAVEFILE_MAGIC = 'Xen saved domain, xl format\n \0 \r';
export const XL_SAVEFILE_BYTEORDER = 0x01020304;
export const XL_MANDATORY_FLAG_JSON = 1 << 0;
export const XL_MANDATORY_FLAG_STREAMv2 = 1 << 1;
/** magic[32], uint32 byteorder, uint32 mandatory_flags, uint32 optional_flags, uint32 optional_data_len. */
export const XL_SAVEFILE_HEADER_SIZE = 48;

// ---- xl migrate handshake strings (tools/xl/xl_migrate.c) ----
export const MIGRATE_RECEIVER_BANNER = 'xl migration receiver ready, send binary domain data.\n';
export const MIGRATE_RECEIVER_READY = 'domain received, ready to unpause';
export const MIGRATE_PERMISSION_TO_GO = 'domain is yours, you are cleared to unpause';
export const MIGRATE_REPORT = 'my copy unpause results are as follows';

export interface ImageHeader {
  version: number;
  options: number;
}

/** Writes the libxc image header (big-endian) at `off`. */
export function writeImageHeader(view: DataView, off: number, options = 0): void {
  view.setBigUint64(off, IHDR_MARKER, false);
  view.setUint32(off + 8, IHDR_ID, false);
  view.setUint32(off + 12, IHDR_VERSION, false);
  view.setUint16(off + 16, options, false);
  view.setUint16(off + 18, 0, false);
  view.setUint32(off + 20, 0, false);
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Reads and checks the libxc image header: the marker, "XENF", version 3. */
export function readImageHeader(view: DataView, off: number): Parsed<ImageHeader> {
  if (off < 0 || off + IHDR_SIZE > view.byteLength)
    return { ok: false, error: `image header truncated: need ${IHDR_SIZE} bytes at offset ${off}` };
  if (view.getBigUint64(off, false) !== IHDR_MARKER)
    return { ok: false, error: 'image header: bad marker (not a libxc stream)' };
  const id = view.getUint32(off + 8, false);
  if (id !== IHDR_ID)
    return {
      ok: false,
      error: `image header: bad id 0x${id.toString(16)} (expected 0x58454e46 "XENF")`,
    };
  const version = view.getUint32(off + 12, false);
  if (version !== IHDR_VERSION)
    return { ok: false, error: `image header: unsupported stream version ${version} (expected 3)` };
  return { ok: true, value: { version, options: view.getUint16(off + 16, false) } };
}

export interface DomainHeader {
  type: number;
  pageShift: number;
  xenMajor: number;
  xenMinor: number;
}

export function writeDomainHeader(view: DataView, off: number, h: DomainHeader): void {
  view.setUint32(off, h.type, false);
  view.setUint16(off + 4, h.pageShift, false);
  view.setUint16(off + 6, 0, false);
  view.setUint32(off + 8, h.xenMajor, false);
  view.setUint32(off + 12, h.xenMinor, false);
}

export function readDomainHeader(view: DataView, off: number): Parsed<DomainHeader> {
  if (off < 0 || off + DHDR_SIZE > view.byteLength)
    return { ok: false, error: 'domain header truncated' };
  const type = view.getUint32(off, false);
  if (type !== DHDR_TYPE_X86_PV && type !== DHDR_TYPE_X86_HVM)
    return { ok: false, error: `domain header: unknown guest type ${type}` };
  const pageShift = view.getUint16(off + 4, false);
  if (pageShift !== 12)
    return { ok: false, error: `domain header: page_shift ${pageShift} (only 12 is supported)` };
  return {
    ok: true,
    value: {
      type,
      pageShift,
      xenMajor: view.getUint32(off + 8, false),
      xenMinor: view.getUint32(off + 12, false),
    },
  };
}

/** Bytes a record occupies on the wire: header, body, padding to 8. */
export function recordWireSize(bodyLength: number): number {
  return REC_HEADER_SIZE + ((bodyLength + REC_ALIGN - 1) & ~(REC_ALIGN - 1));
}

export interface RecordHeader {
  type: number;
  optional: boolean;
  bodyLength: number;
}

export function writeRecordHeader(
  view: DataView,
  off: number,
  type: number,
  bodyLength: number,
): void {
  view.setUint32(off, type >>> 0, true);
  view.setUint32(off + 4, bodyLength, true);
}

export function readRecordHeader(view: DataView, off: number): Parsed<RecordHeader> {
  if (off < 0 || off + REC_HEADER_SIZE > view.byteLength)
    return { ok: false, error: 'record header truncated' };
  const raw = view.getUint32(off, true);
  const bodyLength = view.getUint32(off + 4, true);
  if (bodyLength > REC_LENGTH_MAX)
    return { ok: false, error: `record body of ${bodyLength} bytes exceeds the 128 MiB limit` };
  return {
    ok: true,
    value: {
      type: raw & ~REC_TYPE_OPTIONAL,
      optional: (raw & REC_TYPE_OPTIONAL) !== 0,
      bodyLength,
    },
  };
}

export interface XlSaveHeader {
  mandatoryFlags: number;
  optionalFlags: number;
  optionalDataLen: number;
}

export function writeXlSaveHeader(view: DataView, off: number, h: XlSaveHeader): void {
  for (let i = 0; i < 32; i++) view.setUint8(off + i, XL_SAVEFILE_MAGIC.charCodeAt(i));
  view.setUint32(off + 32, XL_SAVEFILE_BYTEORDER, true);
  view.setUint32(off + 36, h.mandatoryFlags, true);
  view.setUint32(off + 40, h.optionalFlags, true);
  view.setUint32(off + 44, h.optionalDataLen, true);
}

export function readXlSaveHeader(view: DataView, off: number): Parsed<XlSaveHeader> {
  if (off < 0 || off + XL_SAVEFILE_HEADER_SIZE > view.byteLength)
    return { ok: false, error: 'not an xl save file: shorter than its 48-byte header' };
  for (let i = 0; i < 32; i++) {
    if (view.getUint8(off + i) !== XL_SAVEFILE_MAGIC.charCodeAt(i))
      return { ok: false, error: 'not an xl save file: bad magic' };
  }
  const order = view.getUint32(off + 32, true);
  if (order !== XL_SAVEFILE_BYTEORDER)
    return {
      ok: false,
      error: `xl save file written with another byte order (0x${order.toString(16)})`,
    };
  const mandatoryFlags = view.getUint32(off + 36, true);
  const unknown = mandatoryFlags & ~(XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMv2);
  if (unknown)
    return {
      ok: false,
      error: `xl save file needs unsupported mandatory features (flags 0x${unknown.toString(16)})`,
    };
  return {
    ok: true,
    value: {
      mandatoryFlags,
      optionalFlags: view.getUint32(off + 40, true),
      optionalDataLen: view.getUint32(off + 44, true),
    },
  };
}
