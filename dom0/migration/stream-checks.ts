// Checks of the stream's fixed headers and small record bodies (tools/xl/xl_saverestore.c,
// libxl_stream_read.c, xg_sr_restore.c read_headers, xg_sr_restore_x86_pv.c handle_x86_pv_info and
// handle_x86_pv_vcpu_basic; reference 10.2-10.3): each returns the value or what is wrong.

import {
  DHDR_TYPE_X86_HVM,
  REC_LENGTH_MAX,
  REC_TYPE_END,
  REC_TYPE_NAMES,
  REC_TYPE_OPTIONAL,
  REC_TYPE_PAGE_DATA,
  REC_TYPE_SHARED_INFO,
  REC_TYPE_CHECKPOINT_DIRTY_PFN_LIST,
  REC_TYPE_STATIC_DATA_END,
  REC_TYPE_X86_CPUID_POLICY,
  REC_TYPE_X86_MSR_POLICY,
  REC_TYPE_X86_PV_INFO,
  REC_TYPE_X86_PV_P2M_FRAMES,
  REC_TYPE_X86_PV_VCPU_BASIC,
  REC_TYPE_X86_TSC_INFO,
  IHDR_SIZE,
  LIBXL_STREAM_IDENT,
  LIBXL_STREAM_OPT_BIG_ENDIAN,
  LIBXL_STREAM_OPT_LEGACY,
  LIBXL_STREAM_VERSION,
  XL_MANDATORY_FLAG_JSON,
  XL_MANDATORY_FLAG_STREAMv2,
  readDomainHeader,
  readImageHeader,
  readXlSaveHeader,
  type Parsed,
} from '../../hypercalls/save-stream.js';
import type { BootLayout } from '../toolstack/domain-builder.js';
import {
  BOOT_LAYOUT_BODY_SIZE,
  SHARED_INFO_BODY_SIZE,
  TSC_INFO_BODY_SIZE,
  XENSIM_REC_BOOT_LAYOUT,
  XENSIM_REC_CHECKSUM,
  XL_CONFIG_MAX,
  XL_OPTIONAL_DATA_MAX,
  type PopulatedSet,
  streamPackr,
} from './stream-format.js';
import type { VcpuState } from './types.js';

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
const bad = <T>(error: string): Parsed<T> => ({ ok: false, error });

// ---- headers ---------------------------------------------------------------------------------

/** xl's 48-byte header: magic, byte order, mandatory JSON | STREAMv2; the optional data's length. */
export function checkXlHeader(item: Uint8Array): Parsed<number> {
  const h = readXlSaveHeader(view(item), 0);
  if (!h.ok) return h;
  const f = h.value.mandatoryFlags;
  if ((f & XL_MANDATORY_FLAG_STREAMv2) === 0)
    return bad('xl header: a legacy (pre-4.6) stream; only stream v2 is supported');
  if ((f & XL_MANDATORY_FLAG_JSON) === 0)
    return bad('xl header: the domain configuration is not JSON (mandatory flag JSON clear)');
  const len = h.value.optionalDataLen;
  if (len > XL_OPTIONAL_DATA_MAX)
    return bad(`xl header: ${len} bytes of optional data exceed the ${XL_OPTIONAL_DATA_MAX} limit`);
  return { ok: true, value: len };
}

/** The u32 length before the config JSON. */
export function checkConfigLength(item: Uint8Array): Parsed<number> {
  const len = view(item).getUint32(0, true);
  if (len > XL_CONFIG_MAX)
    return bad(
      `xl header: a domain configuration of ${len} bytes exceeds the ${XL_CONFIG_MAX} limit`,
    );
  return { ok: true, value: len };
}

/** The config: UTF-8 JSON of an object. */
export function parseConfigJson(item: Uint8Array, at: number): Parsed<string> {
  try {
    const json = new TextDecoder('utf-8', { fatal: true }).decode(item);
    const v = JSON.parse(json) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return bad(`domain configuration at byte ${at}: not a JSON object`);
    return { ok: true, value: json };
  } catch {
    return bad(`domain configuration at byte ${at}: not valid UTF-8 JSON`);
  }
}

/** libxl's 16-byte header (big-endian): "LibxlFmt", version 2, no options. */
export function checkLibxlHeader(item: Uint8Array, at: number): string | null {
  const dv = view(item);
  const where = `libxl stream header at byte ${at}`;
  if (dv.getBigUint64(0, false) !== LIBXL_STREAM_IDENT)
    return `${where}: bad ident (not a libxl stream)`;
  const version = dv.getUint32(8, false);
  if (version !== LIBXL_STREAM_VERSION)
    return `${where}: unsupported version ${version} (expected ${LIBXL_STREAM_VERSION})`;
  const opts = dv.getUint32(12, false);
  if (opts & LIBXL_STREAM_OPT_BIG_ENDIAN) return `${where}: big-endian streams are not supported`;
  if (opts & LIBXL_STREAM_OPT_LEGACY) return `${where}: legacy streams are not supported`;
  if (opts !== 0) return `${where}: unknown options ${hex(opts)}`;
  return null;
}

/** libxc's image header (v3, little-endian records) and domain header (x86 PV, page_shift 12). */
export function parseLibxcHeaders(
  item: Uint8Array,
  at: number,
): Parsed<{ xenMajor: number; xenMinor: number }> {
  const dv = view(item);
  const ih = readImageHeader(dv, 0);
  if (!ih.ok) return bad(`libxc stream at byte ${at}: ${ih.error}`);
  if (ih.value.options & 1)
    return bad(`libxc image header at byte ${at}: big-endian streams are not supported`);
  if (ih.value.options !== 0 || dv.getUint16(18, false) !== 0 || dv.getUint32(20, false) !== 0)
    return bad(`libxc image header at byte ${at}: unknown options or reserved bits set`);
  const dat = at + IHDR_SIZE;
  const dh = readDomainHeader(dv, IHDR_SIZE);
  if (!dh.ok) return bad(`libxc stream at byte ${dat}: ${dh.error}`);
  if (dh.value.type === DHDR_TYPE_X86_HVM)
    return bad(`libxc domain header at byte ${dat}: an HVM guest; only x86 PV is supported`);
  if (dv.getUint16(IHDR_SIZE + 6, false) !== 0)
    return bad(`libxc domain header at byte ${dat}: reserved bits set`);
  return { ok: true, value: { xenMajor: dh.value.xenMajor, xenMinor: dh.value.xenMinor } };
}

// ---- which record may come next --------------------------------------------------------------

/** The records a stream has carried so far, as far as the order rules care. */
export interface SeenRecords {
  readonly pvInfo: boolean;
  readonly layout: boolean;
  readonly staticEnd: boolean;
  /** X86_PV_P2M_FRAMES: the stream header is complete. */
  readonly header: boolean;
  readonly sharedInfo: boolean;
  readonly vcpu: boolean;
  readonly checksums: boolean;
}

/** How a record's body is read: whole, skipped, or PAGE_DATA piece by piece. */
export type RecordPart = 'body' | 'skip' | 'page-head';

export function recName(raw: number): string {
  if (raw === XENSIM_REC_CHECKSUM) return 'XENSIM_CHECKSUM';
  if (raw === XENSIM_REC_BOOT_LAYOUT) return 'XENSIM_BOOT_LAYOUT';
  return REC_TYPE_NAMES[raw] ?? `record type ${hex(raw)}`;
}

/**
 * A libxc record header at byte `at`: the type is allowed at this point of the stream (static
 * records before STATIC_DATA_END, pages and state after the header, the vCPU before END), its
 * length fits the type; unknown optional records are skipped, unknown mandatory ones refused.
 */
export function planRecord(
  raw: number,
  len: number,
  at: number,
  seen: SeenRecords,
): Parsed<RecordPart> {
  const name = recName(raw);
  const where = `${name} at byte ${at}`;
  if (len > REC_LENGTH_MAX)
    return { ok: false, error: `${where}: body of ${len} bytes exceeds the 128 MiB limit` };
  const size = (n: number): string | null =>
    len === n ? null : `${where}: body of ${len} bytes, expected ${n}`;
  const once = (seen: boolean): string | null => (seen ? `${where}: a second ${name}` : null);
  const beforeStatic = seen.staticEnd ? `${where}: after STATIC_DATA_END` : null;
  const afterHeader = seen.header ? null : `${where}: before the stream header (X86_PV_P2M_FRAMES)`;
  let err: string | null;
  let next: RecordPart = 'body';
  switch (raw) {
    case REC_TYPE_END:
      err =
        afterHeader ??
        (seen.vcpu
          ? size(0)
          : `${where}: the stream ends without the vCPU state (X86_PV_VCPU_BASIC)`);
      break;
    case REC_TYPE_PAGE_DATA:
      err = afterHeader ?? (len < 8 ? `${where}: body of ${len} bytes is too short` : null);
      next = 'page-head';
      break;
    case REC_TYPE_X86_PV_INFO:
      err = beforeStatic ?? once(seen.pvInfo) ?? size(8);
      break;
    case XENSIM_REC_BOOT_LAYOUT:
      err = beforeStatic ?? once(seen.layout) ?? size(32);
      break;
    case REC_TYPE_X86_CPUID_POLICY:
    case REC_TYPE_X86_MSR_POLICY:
      err = beforeStatic; // Xen sends them; a PV guest here has no policy to restore
      next = 'skip';
      break;
    case REC_TYPE_STATIC_DATA_END:
      err =
        once(seen.staticEnd) ??
        (!seen.pvInfo
          ? `${where}: no X86_PV_INFO before it`
          : !seen.layout
            ? `${where}: no XENSIM_BOOT_LAYOUT before it`
            : size(0));
      break;
    case REC_TYPE_X86_PV_P2M_FRAMES:
      err = !seen.staticEnd
        ? `${where}: before STATIC_DATA_END`
        : (once(seen.header) ?? (len < 8 ? `${where}: body too short` : null));
      break;
    case REC_TYPE_SHARED_INFO:
      err = afterHeader ?? once(seen.sharedInfo) ?? size(SHARED_INFO_BODY_SIZE);
      break;
    case REC_TYPE_CHECKPOINT_DIRTY_PFN_LIST:
      err =
        afterHeader ?? (len % 8 !== 0 ? `${where}: body of ${len} bytes is not a pfn list` : null);
      break;
    case REC_TYPE_X86_TSC_INFO:
      err = afterHeader ?? size(TSC_INFO_BODY_SIZE);
      next = 'skip'; // xensim's guests keep virtual time: nothing to restore
      break;
    case REC_TYPE_X86_PV_VCPU_BASIC:
      err =
        afterHeader ??
        once(seen.vcpu) ??
        (len < 9 || len > 65536 ? `${where}: body of ${len} bytes is not a vCPU state` : null);
      break;
    case XENSIM_REC_CHECKSUM:
      err = seen.checksums
        ? `${where}: a checksum record with no record before it`
        : `${where}: a checksum record in a stream without checksums`;
      break;
    default:
      if (raw & REC_TYPE_OPTIONAL)
        err = null; // optional records a reader does not know are skipped
      else if (REC_TYPE_NAMES[raw] !== undefined)
        err = `${where}: not supported by xensim (x86 PV guests, no Remus/COLO checkpoints)`;
      else err = `${where}: unknown mandatory record type ${hex(raw)}`;
      next = 'skip';
  }
  return err === null ? { ok: true, value: next } : { ok: false, error: err };
}

// ---- record bodies ---------------------------------------------------------------------------

/** X86_PV_INFO: guest_width 8 and pt_levels 4 (64-bit PV, 4-level paging), reserved bytes 0. */
export function checkPvInfo(body: Uint8Array): string | null {
  const width = body[0] as number;
  const levels = body[1] as number;
  if (width !== 8) return `guest_width ${width}: only 64-bit PV guests (width 8) are supported`;
  if (levels !== 4) return `pt_levels ${levels}: only 4-level paging is supported`;
  for (let i = 2; i < 8; i++) if (body[i] !== 0) return `reserved byte ${i} is not zero`;
  return null;
}

/** XENSIM_BOOT_LAYOUT: eight u32 (BootLayout in declaration order). */
export function parseLayout(body: Uint8Array): BootLayout | string {
  if (body.length !== BOOT_LAYOUT_BODY_SIZE)
    return `body of ${body.length} bytes, expected ${BOOT_LAYOUT_BODY_SIZE}`;
  const dv = view(body);
  const g = (i: number): number => dv.getUint32(i * 4, true);
  const layout: BootLayout = {
    nrPages: g(0),
    kernelPfn: g(1),
    kernelPages: g(2),
    p2mPfn: g(3),
    p2mPages: g(4),
    startInfoPfn: g(5),
    storePfn: g(6),
    consolePfn: g(7),
  };
  if (layout.nrPages === 0) return 'nr_pages is 0';
  return layout;
}

/** The boot pages a resumed guest needs (start_info, xenstore and console rings) are populated. */
export function checkLayoutPopulated(l: BootLayout, p: PopulatedSet): string | null {
  const needed: [string, number][] = [
    ['start_info', l.startInfoPfn],
    ['xenstore', l.storePfn],
    ['console', l.consolePfn],
  ];
  for (const [what, pfn] of needed)
    if (!p.has(pfn)) return `the boot layout's ${what} pfn ${pfn} is not populated`;
  return null;
}

const VCPU_MAX = 4096;
const REF_MAX = 4096;

/** X86_PV_VCPU_BASIC: u32 vcpu_id (0), u32 reserved, msgpack VcpuState (see stream-writer). */
export function parseVcpu(body: Uint8Array, populated: PopulatedSet): VcpuState | string {
  if (body.length < 9) return `body of ${body.length} bytes is too short for a vCPU state`;
  const dv = view(body);
  const id = dv.getUint32(0, true);
  if (id !== 0) return `vcpu_id ${id}: xensim carries the state of vCPU 0 only`;
  if (dv.getUint32(4, true) !== 0) return 'reserved field is not zero';
  let v: unknown;
  try {
    v = streamPackr.unpack(body.subarray(8));
  } catch (e) {
    return `the vCPU state is not valid msgpack (${e instanceof Error ? e.message : String(e)})`;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'the vCPU state is not a map';
  const o = v as Record<string, unknown>;
  const { kernelRef, handoff, nrOnlineVcpus, startInfoPfn } = o;
  if (typeof kernelRef !== 'string' || kernelRef.length > REF_MAX)
    return 'kernelRef is not a string of at most 4096 characters';
  if (handoff !== null && (typeof handoff !== 'string' || handoff.length > REF_MAX))
    return 'handoff is neither null nor a string of at most 4096 characters';
  if (
    typeof nrOnlineVcpus !== 'number' ||
    !Number.isInteger(nrOnlineVcpus) ||
    nrOnlineVcpus < 1 ||
    nrOnlineVcpus > VCPU_MAX
  )
    return `nrOnlineVcpus ${String(nrOnlineVcpus)} is not an integer from 1 to ${VCPU_MAX}`;
  if (typeof startInfoPfn !== 'number' || !Number.isInteger(startInfoPfn))
    return `startInfoPfn ${String(startInfoPfn)} is not an integer`;
  if (!populated.has(startInfoPfn)) return `start_info pfn ${startInfoPfn} is not populated`;
  return { kernelRef, handoff, nrOnlineVcpus, startInfoPfn };
}
