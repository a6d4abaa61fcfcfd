// Non-live save and restore (tools/xl/xl_saverestore.c, libxl_dom_save.c, libxl_stream_write.c,
// libxl_create.c domain_restore; xg_sr_save.c/xg_sr_restore.c; reference 10): suspend through
// control/shutdown within 60 s, every page once, and a restore that validates the whole file
// before it creates anything. Core dumps (coredump-* actions) reuse the same writer.

import { XENMEM_maximum_gpfn } from '../../hypercalls/memory.js';
import { PAGE_SIZE } from '../../hypercalls/types.js';
import {
  ToolstackError,
  type ProgressCallback,
  type RestoreRequest,
  type SaveRequest,
} from './api.js';
import type { DomainConfig } from './config/domain-config-types.js';
import { parseDomainConfig } from './config/domain-config-file.js';
import { formatDiagnostic } from './config/errors.js';
import type { RestoreImage } from './domain-builder.js';
import type { DomainRecord } from './domain-registry.js';
import { destroyDomain, resumeSuspended, suspendDomain } from './lifecycle.js';
import type { Op } from './task.js';
import type { Toolstack } from './toolstack.js';
import { retrieveDomainConfig, streamConfigJson } from './retrieve-config.js';
import { decodeSaveFile, encodeSaveFile } from './save-file.js';
import { xcError } from './xc-errors.js';

export const CORE_DUMP_DIR = '/var/lib/xen/dump';

interface Snapshot {
  pfns: number[];
  pages: Uint8Array[];
}

export class SaveRestore {
  private readonly ts: Toolstack;

  constructor(ts: Toolstack) {
    this.ts = ts;
  }

  /** Every populated page of the domain, read through privcmd. */
  private snapshot(domid: number, progress?: ProgressCallback): Snapshot {
    const { platform } = this.ts;
    const max = platform.hypercalls.memory_op(XENMEM_maximum_gpfn, domid);
    if (max < 0) throw xcError(`xc_domain_maximum_gpfn for domain ${domid}`, -max);
    const all = Array.from({ length: max + 1 }, (_, i) => i);
    const m = platform.foreign.mapForeignPfns(domid, all, false);
    if (!m.ok) throw xcError(`mapping the memory of domain ${domid}`, m.errno);
    const snap: Snapshot = { pfns: [], pages: [] };
    try {
      for (let i = 0; i < all.length; i++) {
        if (m.value.pages[i]?.errno !== 0) continue; // a hole (ballooned out)
        const page = new Uint8Array(PAGE_SIZE);
        m.value.read(i, page);
        snap.pfns.push(i);
        snap.pages.push(page);
        if (progress && (snap.pfns.length & 1023) === 0)
          progress({ phase: 'Saving memory', done: i + 1, total: all.length });
      }
    } finally {
      platform.foreign.unmapForeign(m.value);
    }
    progress?.({ phase: 'Saving memory', done: all.length, total: all.length });
    return snap;
  }

  private encode(
    rec: DomainRecord,
    snap: Snapshot,
    config: DomainConfig,
    handoff: string | null = null,
  ): Uint8Array {
    const v = this.ts.platform.hypercalls.xen_version(0);
    const info = this.ts.xc.getInfo(rec.domid);
    return encodeSaveFile({
      configJson: streamConfigJson(config),
      xenMajor: v >>> 16,
      xenMinor: v & 0xffff,
      layout: rec.layout,
      pfns: snap.pfns,
      page: (i) => snap.pages[i] as Uint8Array,
      // DEVIATION(xen): a save file outlives the process, so the guest's execution state goes as a
      // handoff ref that only this process can resolve; elsewhere the kernel starts again over the
      // saved memory image.
      vcpu: {
        kernelRef: config.bInfo.kernel ?? '',
        handoff,
        nrOnlineVcpus: info.ok ? Math.max(1, info.value.nr_online_vcpus) : 1,
        startInfoPfn: rec.layout.startInfoPfn,
      },
    });
  }

  /** libxl_domain_suspend (non-live) + xl's file writing, then destroy unless -c/-p. */
  *saveOp(rec: DomainRecord, req: SaveRequest, progress: ProgressCallback): Op<void> {
    const { xc, platform } = this.ts;
    const domid = rec.domid;
    let config = retrieveDomainConfig(rec);
    if (req.configText !== undefined) config = this.parseConfig(req.configText, req.file);
    yield* suspendDomain(this.ts.deps, rec);
    progress({
      phase: '',
      done: 0,
      total: 0,
      note: `Saving to ${req.file} new xl format (info 0x3/0x0/0)`,
    });
    // The guest goes on from its suspend point when this process restores the file, as a real
    // guest's registers would let it; a checkpoint (-c/-p) keeps the program running here.
    const keeps = req.checkpoint || req.leavePaused;
    const handoff = keeps ? null : (platform.programs.handOff?.(domid) ?? null);
    try {
      platform.fs.writeFile(
        req.file,
        this.encode(rec, this.snapshot(domid, progress), config, handoff),
      );
    } catch (e) {
      if (handoff !== null) platform.programs.revokeHandoff?.(handoff);
      throw e;
    }
    if (keeps) {
      // The guest sees its suspend cancelled (SCHEDOP_shutdown returns 1) and carries on.
      resumeSuspended(this.ts.deps, domid);
      if (req.leavePaused) xc.pause(domid);
      return;
    }
    destroyDomain(this.ts.deps, rec);
    this.ts.emit({ type: 'destroyed', domid });
  }

  private parseConfig(text: string, source: string): DomainConfig {
    const p = parseDomainConfig({ text, source, random: this.ts.platform.random });
    if (!p.ok)
      throw new ToolstackError('INVAL', p.errors.map((d) => formatDiagnostic(d)).join('\n'));
    return p.value.config;
  }

  /** xl restore: the file is checked end to end first; only then is a domain created. */
  restore(req: RestoreRequest, progress: ProgressCallback): Promise<{ domid: number }> {
    const { platform } = this.ts;
    const bytes = platform.fs.readFile(req.file);
    if (!bytes)
      return Promise.reject(
        new ToolstackError(
          'FAIL',
          `cannot open restore file ${req.file}: No such file or directory`,
        ),
      );
    const d = decodeSaveFile(bytes);
    if (!d.ok) return Promise.reject(new ToolstackError('INVAL', `${req.file}: ${d.error}`));
    let config: DomainConfig;
    try {
      if (req.configText !== undefined) config = this.parseConfig(req.configText, req.file);
      else {
        const j = JSON.parse(d.value.configJson) as { xensim_config?: DomainConfig };
        if (!j.xensim_config || typeof j.xensim_config.cInfo?.name !== 'string')
          throw new ToolstackError(
            'INVAL',
            `${req.file}: the saved configuration is not a xensim domain config`,
          );
        config = j.xensim_config;
      }
    } catch (e) {
      return Promise.reject(
        e instanceof ToolstackError
          ? e
          : new ToolstackError('INVAL', `${req.file}: bad configuration JSON`),
      );
    }
    const { pfns, pageOffsets, layout, vcpu } = d.value;
    const image: RestoreImage = {
      layout,
      pfns,
      handoff: vcpu.handoff,
      pageData: (i) => {
        const off = pageOffsets[i] ?? 0;
        return bytes.subarray(off, off + PAGE_SIZE);
      },
    };
    progress({ phase: 'Restoring memory', done: 0, total: pfns.length });
    return this.ts.createFromConfig(config, { paused: req.paused }, image).then((domid) => {
      progress({ phase: 'Restoring memory', done: pfns.length, total: pfns.length });
      return { domid };
    });
  }

  /** coredump-*: the domain's memory to /var/lib/xen/dump/<name>, in the save-file format. */
  dumpCore(rec: DomainRecord): void {
    const bytes = this.encode(rec, this.snapshot(rec.domid), rec.config);
    this.ts.platform.fs.writeFile(`${CORE_DUMP_DIR}/${rec.name}`, bytes);
  }
}
