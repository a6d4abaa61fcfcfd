// Plain-memory fixture for BlkifProcessor unit tests: a ring page, frontend "granted" pages held in a
// Map, bounce pages, a fake GNTTABOP_copy with the grant engine's status rules, and a spying file.

import {
  GNTCOPY_dest_gref,
  GNTCOPY_source_gref,
  GNTST_bad_copy_arg,
  GNTST_bad_gntref,
  GNTST_bad_page,
  GNTST_okay,
  type gnttab_copy,
} from '../../hypercalls/grant-table.js';
import {
  BLKIF_RING_ENTRY_BYTES,
  writeBlkifRequest,
  type BlkifRequestFields,
} from '../../hypercalls/io/blkif.js';
import { FrontRing, sharedRingInit } from '../../hypercalls/io/ring.js';
import type { LocalPage } from '../../dom0/backends/platform.js';
import type { BlockFile, FileResult } from '../../dom0/backends/blkback/block-file.js';
import { BlkifProcessor, type BlkifDisk } from '../../dom0/backends/blkback/blkif-processor.js';

/** An in-memory disk recording every call, in order. */
export class MemFile implements BlockFile {
  readonly bytes: Uint8Array;
  readonly calls: string[] = [];
  flushes = 0;
  constructor(sectors: number) {
    this.bytes = new Uint8Array(sectors * 512);
    for (let i = 0; i < this.bytes.length; i++) this.bytes[i] = (i * 13 + 1) & 0xff;
  }
  get sizeBytes(): number {
    return this.bytes.length;
  }
  readAt(dst: Uint8Array, pos: number): FileResult {
    this.calls.push(`read ${pos} ${dst.length}`);
    dst.set(this.bytes.subarray(pos, pos + dst.length));
    return { ok: true };
  }
  writeAt(src: Uint8Array, pos: number): FileResult {
    this.calls.push(`write ${pos} ${src.length}`);
    this.bytes.set(src, pos);
    return { ok: true };
  }
  readvAt(dsts: readonly Uint8Array[], pos: number): FileResult {
    let at = pos;
    for (const d of dsts) {
      d.set(this.bytes.subarray(at, at + d.length));
      at += d.length;
    }
    this.calls.push(`read ${pos} ${at - pos}`);
    return { ok: true };
  }
  writevAt(srcs: readonly Uint8Array[], pos: number): FileResult {
    let at = pos;
    for (const b of srcs) {
      this.bytes.set(b, at);
      at += b.length;
    }
    this.calls.push(`write ${pos} ${at - pos}`);
    return { ok: true };
  }
  flush(): FileResult {
    this.calls.push('flush');
    this.flushes++;
    return { ok: true };
  }
  discard(pos: number, len: number): FileResult {
    this.calls.push(`discard ${pos} ${len}`);
    this.bytes.fill(0, pos, pos + len);
    return { ok: true };
  }
  close(): void {
    this.calls.push('close');
  }
}

export interface RigOptions {
  sectors?: number;
  readOnly?: boolean;
  discard?: boolean;
  flushCache?: boolean;
  barrier?: boolean;
  /** Bounce pages in one buffer (contiguous) or each in its own. */
  contiguous?: boolean;
  /** How many bounce pages (default 11, the least blkback accepts). */
  bouncePages?: number;
}

export class Rig {
  readonly ringPage = new Uint8Array(4096);
  readonly front: FrontRing;
  /** The frontend's granted pages by ref. */
  readonly grants = new Map<number, Uint8Array>();
  readonly bounce: LocalPage[] = [];
  readonly file: MemFile;
  readonly proc: BlkifProcessor;
  copyCalls = 0;
  private nextId = 1n;

  constructor(o: RigOptions = {}) {
    const view = new DataView(this.ringPage.buffer);
    sharedRingInit(view);
    const f = FrontRing.attach(view, BLKIF_RING_ENTRY_BYTES);
    if (!f.ok) throw new Error(f.error);
    this.front = f.value;
    const nbounce = o.bouncePages ?? 11;
    const shared = new ArrayBuffer(nbounce * 4096);
    for (let i = 0; i < nbounce; i++) {
      const bytes =
        o.contiguous === false ? new Uint8Array(4096) : new Uint8Array(shared, i * 4096, 4096);
      this.bounce.push({ gmfn: 1000 + i, bytes });
    }
    this.file = new MemFile(o.sectors ?? 256);
    const disk: BlkifDisk = {
      file: this.file,
      sectors: o.sectors ?? 256,
      readOnly: o.readOnly ?? false,
      flushCache: o.flushCache ?? true,
      barrier: o.barrier ?? true,
      discard: o.discard ?? true,
    };
    const p = BlkifProcessor.attach(this.ringPage, {
      frontendDomid: 1,
      copy: (ops, count) => this.copy(ops, count),
      disk,
      bounce: this.bounce,
    });
    if (!p.ok) throw new Error(p.error);
    this.proc = p.value;
  }

  /** A granted frontend page filled with `fill`. */
  grant(ref: number, fill = 0): Uint8Array {
    const page = new Uint8Array(4096).fill(fill);
    this.grants.set(ref, page);
    return page;
  }

  private copy(ops: gnttab_copy[], count: number): number {
    this.copyCalls++;
    for (let i = 0; i < count; i++) {
      const op = ops[i] as gnttab_copy;
      const side = (isRef: boolean, ptr: gnttab_copy['source']): Uint8Array | number => {
        if (isRef) {
          if (ptr.domid !== 1) return GNTST_bad_gntref;
          return this.grants.get(ptr.u.ref ?? -1) ?? GNTST_bad_gntref;
        }
        return this.bounce.find((b) => b.gmfn === ptr.u.gmfn)?.bytes ?? GNTST_bad_page;
      };
      const s = side((op.flags & GNTCOPY_source_gref) !== 0, op.source);
      const d = side((op.flags & GNTCOPY_dest_gref) !== 0, op.dest);
      if (typeof s === 'number') op.status = s;
      else if (typeof d === 'number') op.status = d;
      else if (op.source.offset + op.len > 4096 || op.dest.offset + op.len > 4096)
        op.status = GNTST_bad_copy_arg;
      else {
        d.set(s.subarray(op.source.offset, op.source.offset + op.len), op.dest.offset);
        op.status = GNTST_okay;
      }
    }
    return 0;
  }

  /** Queues one request (not pushed); returns its id. */
  request(fields: Omit<BlkifRequestFields, 'id' | 'handle'>): bigint {
    const id = this.nextId++;
    const off = this.front.produceRequest();
    if (!off.ok) throw new Error(off.error);
    const w = writeBlkifRequest(this.front.view, off.value, { ...fields, id, handle: 0 });
    if (!w.ok) throw new Error(w.error);
    return id;
  }

  /** Pushes and processes; returns the outcome. */
  run(): ReturnType<BlkifProcessor['process']> {
    this.front.pushRequestsAndCheckNotify();
    return this.proc.process();
  }

  /** Every response waiting, as [id, operation, status]. */
  responses(): [bigint, number, number][] {
    const out: [bigint, number, number][] = [];
    for (;;) {
      const r = this.front.consumeResponse();
      if (!r.ok) throw new Error(r.error);
      if (r.value === undefined) return out;
      const v = this.front.view;
      out.push([
        v.getBigUint64(r.value, true),
        v.getUint8(r.value + 8),
        v.getInt16(r.value + 10, true),
      ]);
    }
  }
}
