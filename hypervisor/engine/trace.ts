// Structured trace of a simulation run, in the spirit of Xen's xentrace records (xen/include/public/trace.h):
// virtual time, domain, vCPU, kind and fields, kept in a bounded ring, exported as Chrome Trace Event
// JSON (Perfetto, chrome://tracing), and folded into a digest that identifies the run.

export type TraceFieldValue = string | number | boolean;
export type TraceFields = Readonly<Record<string, TraceFieldValue>>;

export interface TraceRecord {
  readonly timeNs: number;
  readonly kind: string;
  /** Domain id, or -1 for the host/hypervisor itself. */
  readonly dom: number;
  /** vCPU id, or -1 when not about one vCPU. */
  readonly vcpu: number;
  /** Physical CPU for scheduling spans (drawn as per-pCPU tracks). */
  readonly pcpu?: number;
  /** Present on spans (a vCPU ran on a pCPU for this long). */
  readonly durNs?: number;
  readonly fields?: TraceFields;
}

export interface TraceFilter {
  kind?: string | RegExp;
  dom?: number;
  vcpu?: number;
  fromNs?: number;
  toNs?: number;
}

/** Chrome Trace Event format ("JSON Object Format"), timestamps in microseconds. */
export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: 'ns' | 'ms';
  metadata: Record<string, string | number>;
}
export interface ChromeTraceEvent {
  name: string;
  cat: string;
  ph: 'X' | 'i' | 'M';
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  s?: 'g' | 'p' | 't';
  args?: Record<string, TraceFieldValue>;
}

const HOST_PID = 0;

export class Trace {
  private readonly ring: (TraceRecord | undefined)[];
  private head = 0;
  private stored = 0;
  private total = 0;
  // Two independent 32-bit FNV-1a lanes make a 64-bit digest of every record ever written.
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193 ^ 0x5bd1e995;
  enabled: boolean;

  readonly capacity: number;

  constructor(capacity = 65_536, enabled = true) {
    this.capacity = capacity;
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new RangeError(`trace capacity must be >= 1, got ${capacity}`);
    this.ring = new Array<TraceRecord | undefined>(capacity);
    this.enabled = enabled;
  }

  /** Records written since the start, including those the bounded ring has dropped. */
  get totalRecords(): number {
    return this.total;
  }

  record(rec: TraceRecord): void {
    if (!this.enabled) return;
    this.ring[this.head] = rec;
    this.head = (this.head + 1) % this.capacity;
    if (this.stored < this.capacity) this.stored++;
    this.total++;
    this.fold(rec);
  }

  /** Records still held, oldest first, optionally filtered. */
  records(filter: TraceFilter = {}): TraceRecord[] {
    const out: TraceRecord[] = [];
    const start = (this.head - this.stored + this.capacity) % this.capacity;
    for (let i = 0; i < this.stored; i++) {
      const rec = this.ring[(start + i) % this.capacity] as TraceRecord;
      if (matches(rec, filter)) out.push(rec);
    }
    return out;
  }

  /** A 64-bit digest (16 hex digits) of every record written: the same run gives the same digest. */
  digest(): string {
    return (
      (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0')
    );
  }

  /** Exports the held records: scheduling spans as per-pCPU tracks, everything else as instants. */
  toChromeTrace(
    metadata: Record<string, string | number> = {},
    filter: TraceFilter = {},
  ): ChromeTrace {
    const events: ChromeTraceEvent[] = [
      {
        name: 'process_name',
        cat: '__metadata',
        ph: 'M',
        ts: 0,
        pid: HOST_PID,
        tid: 0,
        args: { name: 'pCPUs' },
      },
    ];
    const pcpus = new Set<number>();
    const doms = new Set<number>();
    for (const rec of this.records(filter)) {
      const args: Record<string, TraceFieldValue> = {
        dom: rec.dom,
        vcpu: rec.vcpu,
        ...(rec.fields ?? {}),
      };
      if (rec.durNs !== undefined && rec.pcpu !== undefined) {
        pcpus.add(rec.pcpu);
        events.push({
          name: rec.dom >= 0 ? `d${rec.dom}v${rec.vcpu}` : rec.kind,
          cat: rec.kind,
          ph: 'X',
          ts: rec.timeNs / 1000,
          dur: rec.durNs / 1000,
          pid: HOST_PID,
          tid: rec.pcpu,
          args,
        });
      } else {
        const pid = rec.dom + 1; // domains get their own process row; the host is pid 0
        doms.add(rec.dom);
        events.push({
          name: rec.kind,
          cat: rec.kind.split('.')[0] ?? rec.kind,
          ph: 'i',
          s: 't',
          ts: rec.timeNs / 1000,
          pid,
          tid: Math.max(rec.vcpu, 0),
          args,
        });
      }
    }
    for (const p of [...pcpus].sort((a, b) => a - b)) {
      events.push({
        name: 'thread_name',
        cat: '__metadata',
        ph: 'M',
        ts: 0,
        pid: HOST_PID,
        tid: p,
        args: { name: `pCPU ${p}` },
      });
    }
    for (const d of [...doms].sort((a, b) => a - b)) {
      if (d < 0) continue;
      events.push({
        name: 'process_name',
        cat: '__metadata',
        ph: 'M',
        ts: 0,
        pid: d + 1,
        tid: 0,
        args: { name: d === 0 ? 'Domain-0' : `domain ${d}` },
      });
    }
    return {
      traceEvents: events,
      displayTimeUnit: 'ns',
      metadata: { digest: this.digest(), ...metadata },
    };
  }

  private fold(rec: TraceRecord): void {
    let s = `${rec.timeNs}|${rec.kind}|${rec.dom}|${rec.vcpu}|${rec.pcpu ?? ''}|${rec.durNs ?? ''}`;
    if (rec.fields)
      for (const k of Object.keys(rec.fields).sort()) s += `|${k}=${String(rec.fields[k])}`;
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    this.h1 = h1;
    this.h2 = h2;
  }
}

function matches(rec: TraceRecord, f: TraceFilter): boolean {
  if (f.kind !== undefined) {
    if (typeof f.kind === 'string' ? rec.kind !== f.kind : !f.kind.test(rec.kind)) return false;
  }
  if (f.dom !== undefined && rec.dom !== f.dom) return false;
  if (f.vcpu !== undefined && rec.vcpu !== f.vcpu) return false;
  if (f.fromNs !== undefined && rec.timeNs < f.fromNs) return false;
  if (f.toNs !== undefined && rec.timeNs > f.toNs) return false;
  return true;
}
