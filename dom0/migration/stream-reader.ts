// The receiving half of the save/migration stream (tools/libs/guest/xg_sr_restore.c read_record,
// process_record, handle_page_data; libxl_stream_read.c; xl_saverestore.c; reference 10.2-10.3):
// bytes in chunks split anywhere, every record checked as it completes, validated records out.
// Input comes from a file or another host: it is parsed into results and never throws.

import {
  DHDR_SIZE,
  IHDR_SIZE,
  LIBXL_HDR_SIZE,
  LIBXL_REC_END,
  LIBXL_REC_LIBXC_CONTEXT,
  PAGE_DATA_MAX_BATCH,
  REC_TYPE_END,
  REC_TYPE_SHARED_INFO,
  REC_TYPE_CHECKPOINT_DIRTY_PFN_LIST,
  REC_TYPE_STATIC_DATA_END,
  REC_TYPE_X86_PV_INFO,
  REC_TYPE_X86_PV_P2M_FRAMES,
  REC_TYPE_X86_PV_VCPU_BASIC,
  XL_SAVEFILE_HEADER_SIZE,
} from '../../hypercalls/save-stream.js';
import { PAGE_SIZE } from '../../hypercalls/types.js';
import type { BootLayout } from '../toolstack/domain-builder.js';
import {
  checkConfigLength,
  checkLayoutPopulated,
  checkLibxlHeader,
  checkPvInfo,
  checkXlHeader,
  parseConfigJson,
  parseLayout,
  parseLibxcHeaders,
  parseVcpu,
  planRecord,
  recName,
} from './stream-checks.js';
import {
  CHECKSUM_RECORD_SIZE,
  CONFIG_CRC_TAG,
  XENSIM_REC_BOOT_LAYOUT,
  XENSIM_REC_CHECKSUM,
  crc32,
  crc32Combine,
  decodeP2mBody,
  type PopulatedSet,
} from './stream-format.js';
import type { MigrationRecord, VcpuState } from './types.js';

export type ReadResult = { readonly records: MigrationRecord[] } | { readonly error: string };

export interface StreamReaderOptions {
  /** Refuse a stream without xensim's integrity records (a save file must carry them). */
  readonly requireChecksums?: boolean;
}

/** What the next bytes are. */
type HeaderPhase =
  'xl-header' | 'xl-optdata' | 'config-len' | 'config' | 'libxl-header' | 'libxc-header';
type Phase =
  | HeaderPhase
  | 'libxl-rec'
  | 'rec'
  | 'body'
  | 'skip'
  | 'page-head'
  | 'page-pfns'
  | 'page-data'
  | 'page-stream'
  | 'checksum'
  | 'done';

const LIBXL_NAMES: Readonly<Record<number, string>> = {
  0: 'libxl END',
  1: 'LIBXC_CONTEXT',
  2: 'EMULATOR_XENSTORE_DATA',
  3: 'EMULATOR_CONTEXT',
  4: 'CHECKPOINT_END',
  5: 'CHECKPOINT_STATE',
};

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
const padded = (n: number): number => (n + 7) & ~7;
const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Incremental reader of one stream: `push` chunks as they come, `finish` when the input ends. */
export class StreamReader {
  private readonly requireChecksums: boolean;
  private phase: Phase = 'xl-header';
  /** Bytes the current item needs. */
  private need: number = XL_SAVEFILE_HEADER_SIZE;
  /** The current item when it spans chunks (its bytes so far in [0, fill)). */
  private asm: Uint8Array | null = null;
  private fill = 0;
  /** Stream offset of the next unread byte / bytes pushed in all. */
  private pos = 0;
  private received = 0;
  private failure: string | null = null;
  private out: MigrationRecord[] = [];

  // integrity
  private checksums = false;
  private configCrc = 0;
  /** CRC-32 of every byte before `pos` (kept in checksummed streams). */
  private running = 0;

  // the record being read
  private recAt = 0;
  private recRaw = 0;
  private recLength = 0;
  private recName = '';
  private recCrc = 0;
  private afterRecord: Phase = 'rec';
  private pendingRecord: MigrationRecord | null = null;
  private pagePfns: number[] = [];
  /** Streaming PAGE_DATA: the next page to hand out, and a page that spans chunks. */
  private pageIdx = 0;
  private pageAsm: Uint8Array | null = null;
  private pageFill = 0;

  // what the stream has said so far
  private configJson = '';
  private xenMajor = 0;
  private xenMinor = 0;
  private pvInfo = false;
  private layout: BootLayout | null = null;
  private staticEnd = false;
  private populated: PopulatedSet | null = null;
  private sharedInfo = false;
  private vcpu: VcpuState | null = null;
  private libxcEnded = false;

  constructor(o: StreamReaderOptions = {}) {
    this.requireChecksums = o.requireChecksums ?? false;
  }

  /** The stream's END records arrived: nothing more may follow. */
  get done(): boolean {
    return this.phase === 'done' && this.failure === null;
  }

  /** Bytes accepted so far. */
  get bytesRead(): number {
    return this.pos + this.fill;
  }

  /**
   * Takes the next chunk. A record whose bytes all lie in one chunk is handed out as views of it
   * (pages' `data`, shared info): the caller must not reuse the chunk while it holds them.
   */
  push(chunk: Uint8Array): ReadResult {
    if (this.failure !== null) return { error: this.failure };
    this.received += chunk.length;
    this.out = [];
    try {
      const err = this.consume(chunk);
      if (err !== null) return this.fail(err);
    } catch (e) {
      return this.fail(
        `internal error at byte ${this.pos}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    return { records: this.out };
  }

  /** The input ended: an error unless the stream was complete. */
  finish(): ReadResult {
    if (this.failure !== null) return { error: this.failure };
    if (this.phase === 'done') return { records: [] };
    return this.fail(`stream truncated at byte ${this.received}: ${this.where()}`);
  }

  private fail(error: string): ReadResult {
    this.failure = error;
    this.asm = null;
    this.pageAsm = null;
    return { error };
  }

  private where(): string {
    switch (this.phase) {
      case 'xl-header':
        return `in the 48-byte xl save header (${this.received} bytes)`;
      case 'xl-optdata':
      case 'config-len':
      case 'config':
        return 'in the xl header data or the domain configuration';
      case 'libxl-header':
        return `in the libxl stream header at byte ${this.pos}`;
      case 'libxc-header':
        return `in the libxc image and domain headers at byte ${this.pos}`;
      case 'libxl-rec':
        return this.libxcEnded
          ? `the libxl END record at byte ${this.pos} is missing`
          : `the LIBXC_CONTEXT record at byte ${this.pos} is missing`;
      case 'rec':
        return `no END record (next record at byte ${this.pos})`;
      case 'checksum':
        return `in the XENSIM_CHECKSUM record after the ${this.recName} record at byte ${this.recAt}`;
      case 'body':
      case 'skip':
      case 'page-head':
      case 'page-pfns':
      case 'page-data':
      case 'page-stream':
      case 'done':
        return `in the ${this.recName} record at byte ${this.recAt}`;
    }
  }

  private expect(phase: Phase, need: number): void {
    this.phase = phase;
    this.need = need;
  }

  /** The fixed-size phases that can follow a record. */
  private expectNext(phase: Phase): void {
    const need =
      phase === 'libxc-header' ? IHDR_SIZE + DHDR_SIZE : phase === 'done' ? 0 : 8; /* a record */
    this.expect(phase, need);
  }

  /** Splits the chunk into items of `need` bytes (views when whole, else assembled copies). */
  private consume(chunk: Uint8Array): string | null {
    let i = 0;
    for (;;) {
      const avail = chunk.length - i;
      if (this.phase === 'done')
        return avail > 0 ? `${avail} bytes after the END record at byte ${this.pos}` : null;
      let item: Uint8Array;
      if (this.phase === 'page-stream') {
        i = this.streamPages(chunk, i);
        if (this.phase === 'page-stream') return null;
        continue;
      }
      if (this.phase === 'skip') {
        const take = Math.min(this.need, avail);
        if (this.checksums) this.recCrc = crc32(chunk.subarray(i, i + take), this.recCrc);
        this.pos += take;
        this.need -= take;
        i += take;
        if (this.need > 0) return null;
        this.endRecord(null);
        continue;
      }
      if (this.asm) {
        const take = Math.min(this.need - this.fill, avail);
        this.asm.set(chunk.subarray(i, i + take), this.fill);
        this.fill += take;
        i += take;
        if (this.fill < this.need) return null;
        item = this.asm;
        this.asm = null;
        this.fill = 0;
      } else if (avail >= this.need) {
        item = chunk.subarray(i, i + this.need);
        i += this.need;
      } else {
        if (avail === 0) return null;
        this.asm = new Uint8Array(this.need);
        this.asm.set(chunk.subarray(i));
        this.fill = avail;
        return null;
      }
      const err = this.handle(item);
      if (err !== null) return err;
    }
  }

  private handle(item: Uint8Array): string | null {
    const at = this.pos;
    this.pos += item.length;
    switch (this.phase) {
      case 'xl-header':
      case 'xl-optdata':
      case 'config-len':
      case 'config':
      case 'libxl-header':
      case 'libxc-header':
        this.running = crc32(item, this.running);
        return this.headerItem(item, at, this.phase);
      case 'libxl-rec':
      case 'rec':
        this.recAt = at;
        this.recCrc = this.checksums ? crc32(item) : 0;
        return this.phase === 'rec' ? this.recordHeader(item, at) : this.libxlRecord(item, at);
      case 'checksum':
        return this.checksumRecord(item, at);
      case 'body':
      case 'skip':
      case 'page-head':
      case 'page-pfns':
      case 'page-data':
      case 'page-stream':
      case 'done':
        if (this.checksums) this.recCrc = crc32(item, this.recCrc);
        return this.bodyItem(item);
    }
  }

  /** The byte-exact headers before the first record, and the libxc headers after LIBXC_CONTEXT. */
  private headerItem(item: Uint8Array, at: number, phase: HeaderPhase): string | null {
    switch (phase) {
      case 'xl-header': {
        const h = checkXlHeader(item);
        if (!h.ok) return h.error;
        if (h.value > 0) {
          this.expect('xl-optdata', h.value);
          return null;
        }
        this.expect('config-len', 4);
        return this.checksumMode(false);
      }
      case 'xl-optdata': {
        const dv = view(item);
        const tagged = item.length >= 8 && dv.getUint32(0, true) === CONFIG_CRC_TAG;
        if (tagged) this.configCrc = dv.getUint32(4, true);
        this.expect('config-len', 4);
        return this.checksumMode(tagged);
      }
      case 'config-len': {
        const len = checkConfigLength(item);
        if (!len.ok) return len.error;
        this.expect('config', len.value);
        return null;
      }
      case 'config': {
        if (this.checksums && crc32(item) !== this.configCrc)
          return `domain configuration at byte ${at}: checksum mismatch`;
        const json = parseConfigJson(item, at);
        if (!json.ok) return json.error;
        this.configJson = json.value;
        this.expect('libxl-header', LIBXL_HDR_SIZE);
        return null;
      }
      case 'libxl-header': {
        const err = checkLibxlHeader(item, at);
        this.expect('libxl-rec', 8);
        return err;
      }
      case 'libxc-header': {
        const h = parseLibxcHeaders(item, at);
        if (!h.ok) return h.error;
        this.xenMajor = h.value.xenMajor;
        this.xenMinor = h.value.xenMinor;
        this.expect('rec', 8);
        return null;
      }
    }
  }

  private checksumMode(on: boolean): string | null {
    this.checksums = on;
    if (this.requireChecksums && !on)
      return 'xl header: no configuration checksum (not a xensim save file with integrity records)';
    return null;
  }

  /** libxl's records around the libxc stream: LIBXC_CONTEXT first, END after libxc's END. */
  private libxlRecord(item: Uint8Array, at: number): string | null {
    const dv = view(item);
    const type = dv.getUint32(0, true);
    const len = dv.getUint32(4, true);
    const name = LIBXL_NAMES[type] ?? `libxl record type ${hex(type)}`;
    this.recRaw = type;
    this.recLength = len;
    this.recName = name;
    const want = this.libxcEnded ? LIBXL_REC_END : LIBXL_REC_LIBXC_CONTEXT;
    if (type !== want) {
      const what = LIBXL_NAMES[type] === undefined ? 'an unknown libxl record' : 'unexpected here';
      return `${name} at byte ${at}: ${what}, expected ${LIBXL_NAMES[want]}`;
    }
    if (len !== 0) return `${name} at byte ${at}: body of ${len} bytes, expected 0`;
    this.afterRecord = this.libxcEnded ? 'done' : 'libxc-header';
    this.endRecord(this.libxcEnded ? { type: 'end' } : null);
    return null;
  }

  /** A libxc record's header: its type is allowed here, its length fits the type. */
  private recordHeader(item: Uint8Array, at: number): string | null {
    const dv = view(item);
    const raw = dv.getUint32(0, true);
    const len = dv.getUint32(4, true);
    const name = recName(raw);
    this.recRaw = raw;
    this.recLength = len;
    this.recName = name;
    this.afterRecord = 'rec';
    const plan = planRecord(raw, len, at, {
      pvInfo: this.pvInfo,
      layout: this.layout !== null,
      staticEnd: this.staticEnd,
      header: this.populated !== null,
      sharedInfo: this.sharedInfo,
      vcpu: this.vcpu !== null,
      checksums: this.checksums,
    });
    if (!plan.ok) return plan.error;
    this.expect(plan.value, plan.value === 'page-head' ? 8 : padded(len));
    return null;
  }

  /** The body of the current record (or a piece of PAGE_DATA). */
  private bodyItem(item: Uint8Array): string | null {
    const where = `${this.recName} at byte ${this.recAt}`;
    const phase = this.phase;
    if (phase === 'page-head' || phase === 'page-pfns' || phase === 'page-data') {
      const err = this.pageItem(item);
      return err === null ? null : `${where}: ${err}`;
    }
    const body = item.subarray(0, this.recLength);
    let err: string | null = null;
    let emit: MigrationRecord | null = null;
    switch (this.recRaw) {
      case REC_TYPE_X86_PV_INFO:
        err = checkPvInfo(body);
        this.pvInfo = true;
        break;
      case XENSIM_REC_BOOT_LAYOUT: {
        const l = parseLayout(body);
        if (typeof l === 'string') err = l;
        else this.layout = l;
        break;
      }
      case REC_TYPE_STATIC_DATA_END:
        this.staticEnd = true;
        break;
      case REC_TYPE_X86_PV_P2M_FRAMES: {
        const p = decodeP2mBody(body);
        if (typeof p === 'string') err = p;
        else if (this.layout) {
          err = checkLayoutPopulated(this.layout, p);
          this.populated = p;
          emit = {
            type: 'header',
            header: {
              configJson: this.configJson,
              xenMajor: this.xenMajor,
              xenMinor: this.xenMinor,
              layout: this.layout,
              pfns: p.pfns,
            },
          };
        }
        break;
      }
      case REC_TYPE_SHARED_INFO:
        this.sharedInfo = true;
        emit = { type: 'shared-info', bytes: body };
        break;
      case REC_TYPE_CHECKPOINT_DIRTY_PFN_LIST: {
        // DEVIATION(xen): COLO's dirty-pfn list carries post-copy's pages still to come.
        const dv = view(body);
        const pfns: number[] = [];
        for (let o = 0; o < body.length && err === null; o += 8) {
          const pfn = dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 2 ** 32;
          if (!this.populated?.has(pfn)) err = `pfn ${pfn} is not a populated pfn of the guest`;
          pfns.push(pfn);
        }
        if (err === null) emit = { type: 'postcopy-pfns', pfns };
        break;
      }
      case REC_TYPE_X86_PV_VCPU_BASIC: {
        const v = this.populated ? parseVcpu(body, this.populated) : 'no stream header';
        if (typeof v === 'string') err = v;
        else {
          this.vcpu = v;
          emit = { type: 'vcpu', vcpu: v };
        }
        break;
      }
      case REC_TYPE_END:
        this.libxcEnded = true;
        this.afterRecord = 'libxl-rec';
        break;
    }
    if (err !== null) return `${where}: ${err}`;
    this.endRecord(emit);
    return null;
  }

  /** PAGE_DATA in three steps: count, the pfns, the pages. */
  private pageItem(item: Uint8Array): string | null {
    const dv = view(item);
    if (this.phase === 'page-head') {
      const count = dv.getUint32(0, true);
      if (count === 0) return 'count 0 (an empty batch)';
      if (count > PAGE_DATA_MAX_BATCH) return `count ${count} exceeds ${PAGE_DATA_MAX_BATCH}`;
      const expected = 8 + count * 8 + count * PAGE_SIZE;
      if (this.recLength !== expected)
        return `body of ${this.recLength} bytes does not match count ${count} (expected ${expected})`;
      const reserved = dv.getUint32(4, true);
      if (reserved !== 0) return `reserved field is ${hex(reserved)}, expected 0`;
      this.expect('page-pfns', count * 8);
      return null;
    }
    if (this.phase === 'page-pfns') {
      const populated = this.populated as PopulatedSet;
      const count = item.length / 8;
      const pfns = new Array<number>(count);
      for (let i = 0; i < count; i++) {
        const lo = dv.getUint32(i * 8, true);
        const hi = dv.getUint32(i * 8 + 4, true);
        const type = hi >>> 28;
        if (type !== 0)
          return `pfn[${i}] has type ${hex(type)}; xensim sends only NOTAB (0) pages with data`;
        if ((hi & 0x0fffffff) !== 0 || lo > populated.endPfn)
          return `pfn[${i}] = ${hi * 2 ** 32 + lo} is outside the guest's p2m (0-${populated.endPfn})`;
        if (!populated.has(lo)) return `pfn[${i}] = ${lo} is not populated in the guest`;
        pfns[i] = lo;
      }
      this.pagePfns = pfns;
      this.pageIdx = 0;
      // With checksums the record is held until its CRC matched; without, pages go out as they come.
      this.expect(this.checksums ? 'page-data' : 'page-stream', count * PAGE_SIZE);
      return null;
    }
    this.endRecord({ type: 'pages', pfns: this.pagePfns, data: item });
    this.pagePfns = [];
    return null;
  }

  /**
   * PAGE_DATA's pages without checksums: the pages whole in this chunk go out at once as one view
   * of it, a page split across chunks is assembled in its own 4 KiB; so a record that spans chunks
   * (TCP's 64 KiB reads) arrives as several 'pages' records in order, with no record-sized copy.
   */
  private streamPages(chunk: Uint8Array, i: number): number {
    const count = this.pagePfns.length;
    if (this.pageAsm) {
      const take = Math.min(PAGE_SIZE - this.pageFill, chunk.length - i);
      this.pageAsm.set(chunk.subarray(i, i + take), this.pageFill);
      this.pageFill += take;
      this.pos += take;
      i += take;
      if (this.pageFill < PAGE_SIZE) return i;
      this.out.push({
        type: 'pages',
        pfns: [this.pagePfns[this.pageIdx] as number],
        data: this.pageAsm,
      });
      this.pageIdx++;
      this.pageAsm = null;
      this.pageFill = 0;
    }
    const whole = Math.min(Math.floor((chunk.length - i) / PAGE_SIZE), count - this.pageIdx);
    if (whole > 0) {
      const pfns =
        whole === count ? this.pagePfns : this.pagePfns.slice(this.pageIdx, this.pageIdx + whole);
      this.out.push({ type: 'pages', pfns, data: chunk.subarray(i, i + whole * PAGE_SIZE) });
      this.pageIdx += whole;
      this.pos += whole * PAGE_SIZE;
      i += whole * PAGE_SIZE;
    }
    if (this.pageIdx === count) {
      this.pagePfns = [];
      this.endRecord(null);
      return i;
    }
    const rest = chunk.length - i; // less than a page
    if (rest > 0) {
      this.pageAsm = new Uint8Array(PAGE_SIZE);
      this.pageAsm.set(chunk.subarray(i));
      this.pageFill = rest;
      this.pos += rest;
    }
    return chunk.length;
  }

  /** The record is complete: account for its bytes, then its checksum or the next record. */
  private endRecord(emit: MigrationRecord | null): void {
    if (this.checksums) {
      this.running = crc32Combine(this.running, this.recCrc, 8 + padded(this.recLength));
      this.pendingRecord = emit;
      this.expect('checksum', CHECKSUM_RECORD_SIZE);
      return;
    }
    if (emit) this.out.push(emit);
    this.expectNext(this.afterRecord);
  }

  private checksumRecord(item: Uint8Array, at: number): string | null {
    const dv = view(item);
    const raw = dv.getUint32(0, true);
    const what = `${this.recName} at byte ${this.recAt}`;
    if (raw !== XENSIM_REC_CHECKSUM || dv.getUint32(4, true) !== 8)
      return `${what} is not followed by its XENSIM_CHECKSUM record (found ${recName(raw)} at byte ${at})`;
    const stored = dv.getUint32(8, true);
    if (stored !== this.recCrc)
      return `${what}: checksum mismatch (CRC-32 ${hex(this.recCrc)}, recorded ${hex(stored)})`;
    if (dv.getUint32(12, true) !== this.running)
      return `XENSIM_CHECKSUM at byte ${at}: checksum mismatch in the stream before it`;
    this.running = crc32(item, this.running);
    if (this.pendingRecord) this.out.push(this.pendingRecord);
    this.pendingRecord = null;
    this.expectNext(this.afterRecord);
    return null;
  }
}
