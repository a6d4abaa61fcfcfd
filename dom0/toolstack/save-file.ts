// The `xl save` file (tools/xl/xl_saverestore.c, docs/specs/libxl-migration-stream.pandoc,
// libxc-migration-stream.pandoc; reference 10.2-10.3): the migration stream itself, written to a
// file with xensim's integrity records on (dom0/migration/stream-writer.ts, stream-reader.ts).
// DEVIATION(xen): every record is followed by an optional XENSIM_CHECKSUM record (bit 31 set, so a
// reader that does not know it may skip it) holding the CRC-32 of the record's wire bytes and of
// the file up to it, and the xl header's optional data holds the CRC-32 of the config; the reader
// refuses any mismatch, and a file without them.

import { PAGE_DATA_MAX_BATCH } from '../../hypercalls/save-stream.js';
import { PAGE_SIZE } from '../../hypercalls/types.js';
import { StreamReader } from '../migration/stream-reader.js';
import { StreamWriter } from '../migration/stream-writer.js';
import type { StreamHeader, VcpuState } from '../migration/types.js';
import type { BootLayout } from './domain-builder.js';

export { XENSIM_REC_BOOT_LAYOUT, XENSIM_REC_CHECKSUM } from '../migration/stream-format.js';

export interface SaveImage {
  /** The config JSON xl stores (libxl_domain_config, plus the typed config under `xensim_config`). */
  readonly configJson: string;
  readonly xenMajor: number;
  readonly xenMinor: number;
  readonly layout: BootLayout;
  /** Populated pfns, ascending. */
  readonly pfns: readonly number[];
  /** Page i's bytes (pfns[i]). */
  page(i: number): Uint8Array;
  /** vCPU 0's state; by default the domain restarts its kernel from its memory image. */
  readonly vcpu?: VcpuState;
  /** The shared info page, when the saver has it (SHARED_INFO record). */
  readonly sharedInfo?: Uint8Array;
}

/** Serializes a save image to the bytes of an xl save file: header, pages, vCPU, END. */
export function encodeSaveFile(img: SaveImage): Uint8Array {
  const w = new StreamWriter({ checksums: true });
  const chunks: Uint8Array[] = w.header({
    configJson: img.configJson,
    xenMajor: img.xenMajor,
    xenMinor: img.xenMinor,
    layout: img.layout,
    pfns: img.pfns,
  });
  for (let start = 0; start < img.pfns.length; start += PAGE_DATA_MAX_BATCH) {
    const batch = img.pfns.slice(start, start + PAGE_DATA_MAX_BATCH);
    chunks.push(w.pageData(batch, (i, dst) => dst.set(img.page(start + i))));
  }
  if (img.sharedInfo) chunks.push(w.sharedInfo(img.sharedInfo));
  chunks.push(
    w.vcpu(
      img.vcpu ?? {
        kernelRef: '',
        handoff: null,
        nrOnlineVcpus: 1,
        startInfoPfn: img.layout.startInfoPfn,
      },
    ),
  );
  chunks.push(...w.end());
  const out = new Uint8Array(w.bytesWritten);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export interface DecodedSave {
  readonly configJson: string;
  readonly xenMajor: number;
  readonly xenMinor: number;
  readonly layout: BootLayout;
  readonly pfns: number[];
  /** Offsets of each page's bytes in the file. */
  readonly pageOffsets: number[];
  readonly vcpu: VcpuState;
  readonly sharedInfo: Uint8Array | undefined;
  readonly bytes: Uint8Array;
}

export type DecodeResult = { ok: true; value: DecodedSave } | { ok: false; error: string };

const bad = (error: string): DecodeResult => ({ ok: false, error });

/** Reads and checks the whole file; nothing is trusted until every checksum matched. */
export function decodeSaveFile(bytes: Uint8Array): DecodeResult {
  const reader = new StreamReader({ requireChecksums: true });
  const r = reader.push(bytes);
  if ('error' in r) return bad(r.error);
  const fin = reader.finish();
  if ('error' in fin) return bad(fin.error);
  let header: StreamHeader | undefined;
  const pfns: number[] = [];
  const pageOffsets: number[] = [];
  let vcpu: VcpuState | undefined;
  let sharedInfo: Uint8Array | undefined;
  for (const rec of r.records) {
    switch (rec.type) {
      case 'header':
        header = rec.header;
        break;
      case 'pages': {
        // The file is one chunk: the reader hands out views of it.
        const base = rec.data.byteOffset - bytes.byteOffset;
        for (let i = 0; i < rec.pfns.length; i++) {
          pfns.push(rec.pfns[i] as number);
          pageOffsets.push(base + i * PAGE_SIZE);
        }
        break;
      }
      case 'shared-info':
        sharedInfo = rec.bytes;
        break;
      case 'vcpu':
        vcpu = rec.vcpu;
        break;
      case 'end':
        break;
      case 'postcopy-pfns':
        // Only a live post-copy migration leaves pages behind; a save file holds every page.
        return bad('save file: a post-copy page list has no place in a save file');
    }
  }
  // The reader refuses a stream that ends without its header or vCPU record.
  if (!header || !vcpu) return bad('save file: no stream header or vCPU state');
  const { configJson, xenMajor, xenMinor, layout } = header;
  return {
    ok: true,
    value: { configJson, xenMajor, xenMinor, layout, pfns, pageOffsets, vcpu, sharedInfo, bytes },
  };
}
