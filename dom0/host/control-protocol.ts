// The host daemon's control socket protocol (xensim's own; it stands where xl talks to libxl
// in-process in Xen): length-prefixed msgpack frames, one request id per frame, replies echo it.

import { Packr } from 'msgpackr';
import { isLibxlErrorCode } from '../toolstack/api.js';
import type { MigrationProgress } from '../migration/types.js';
import type {
  MigrateEvent,
  MigrateRequest,
  ProgressReport,
  ToolstackErrorRecord,
  ToolstackOp,
} from '../toolstack/api.js';

/** Frame header: a 32-bit big-endian payload length. */
export const FRAME_HEADER_BYTES = 4;
/** A frame longer than this is garbage: the connection is dropped. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Client to daemon. */
export type ClientMessage =
  | { readonly t: 'call'; readonly id: number; readonly op: ToolstackOp; readonly args: unknown[] }
  /** Bytes typed into an attached console (request `id` is the consoleAttach call). */
  | { readonly t: 'input'; readonly id: number; readonly data: Uint8Array }
  | { readonly t: 'detach'; readonly id: number }
  /** Daemon control: `stop` shuts the host down; `ping` answers with the host's record. */
  | { readonly t: 'host'; readonly id: number; readonly op: 'stop' | 'ping' }
  /** `xl migrate`: the daemon connects to the target and sends the domain (MigrateApi). */
  | { readonly t: 'migrate'; readonly id: number; readonly req: MigrateRequest };

/** Daemon to client. */
export type DaemonMessage =
  | { readonly t: 'result'; readonly id: number; readonly value: unknown }
  | { readonly t: 'error'; readonly id: number; readonly error: ToolstackErrorRecord }
  | { readonly t: 'progress'; readonly id: number; readonly report: ProgressReport }
  | { readonly t: 'data'; readonly id: number; readonly data: Uint8Array }
  | { readonly t: 'closed'; readonly id: number }
  /** A line or a progress figure of a running `migrate` request. */
  | { readonly t: 'migrate-event'; readonly id: number; readonly event: MigrateEvent };

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function encodeFrame(message: ClientMessage | DaemonMessage): Buffer {
  const body = packr.pack(message);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Reassembles frames from stream chunks. A decode error in one frame is reported and the next
 * frame is read; an oversized length means the stream is garbage and the decoder stops.
 */
export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);
  private broken = false;

  push(chunk: Uint8Array): Parsed<unknown>[] {
    if (this.broken) return [];
    this.buffered =
      this.buffered.length === 0
        ? Buffer.from(chunk)
        : Buffer.concat([this.buffered, Buffer.from(chunk)]);
    const out: Parsed<unknown>[] = [];
    while (this.buffered.length >= FRAME_HEADER_BYTES) {
      const len = this.buffered.readUInt32BE(0);
      if (len > MAX_FRAME_BYTES) {
        this.broken = true;
        this.buffered = Buffer.alloc(0);
        out.push({ ok: false, error: `frame of ${len} bytes exceeds ${MAX_FRAME_BYTES}` });
        return out;
      }
      if (this.buffered.length < FRAME_HEADER_BYTES + len) break;
      const body = this.buffered.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + len);
      this.buffered = this.buffered.subarray(FRAME_HEADER_BYTES + len);
      try {
        out.push({ ok: true, value: packr.unpack(body) as unknown });
      } catch (e) {
        out.push({ ok: false, error: `undecodable frame: ${(e as Error).message}` });
      }
    }
    return out;
  }

  /** True after garbage that cannot be resynchronised. */
  get isBroken(): boolean {
    return this.broken;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isRequestId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

// Argument checks per op: positional, each a predicate. Values from the socket are untrusted.
type Check = (v: unknown) => boolean;
const absent = (v: unknown): boolean => v === undefined || v === null;
const domid: Check = (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 0x10000;
const int: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v);
const uint: Check = (v) => int(v) && (v as number) >= 0;
const num: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const str: Check = (v) => typeof v === 'string';
const bool: Check = (v) => typeof v === 'boolean';
const optional =
  (c: Check): Check =>
  (v) =>
    absent(v) || c(v);
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v);
const arrayOf =
  (c: Check): Check =>
  (v) =>
    Array.isArray(v) && v.every(c);
const nullable =
  (c: Check): Check =>
  (v) =>
    v === null || c(v);
const shape =
  (fields: Record<string, Check>): Check =>
  (v) =>
    isRecord(v) && Object.entries(fields).every(([k, c]) => c(v[k]));

const schedDomainParams = shape({ weight: optional(int), cap: optional(int) });

/** Every op the daemon serves, with its argument checks. */
export const OP_ARGS: Readonly<Record<ToolstackOp, readonly Check[]>> = {
  listDomains: [],
  domainInfo: [domid],
  domainConfig: [domid],
  create: [
    shape({
      configText: str,
      configSource: str,
      overrides: arrayOf(str),
      paused: bool,
      dryRun: bool,
      cwd: str,
    }),
  ],
  destroy: [domid],
  shutdown: [domid, oneOf('poweroff', 'reboot'), bool],
  pause: [domid],
  unpause: [domid],
  rename: [domid, str],
  vcpuList: [optional(domid)],
  vcpuPin: [
    domid,
    (v) => uint(v) || v === 'all',
    nullable(arrayOf(uint)),
    nullable(arrayOf(uint)),
    bool,
  ],
  vcpuSet: [domid, uint],
  memSet: [domid, num],
  memMax: [domid, num],
  schedCreditGet: [optional(str)],
  schedCreditDomainSet: [domid, schedDomainParams],
  schedCreditParamsSet: [
    optional(str),
    shape({ tsliceMs: optional(int), ratelimitUs: optional(int), migrationDelayUs: optional(int) }),
  ],
  schedCredit2Get: [optional(str)],
  schedCredit2DomainSet: [domid, schedDomainParams],
  schedCredit2ParamsSet: [optional(str), shape({ ratelimitUs: optional(int) })],
  info: [],
  dmesg: [bool],
  save: [
    shape({
      domid,
      file: str,
      checkpoint: bool,
      leavePaused: bool,
      configText: optional(str),
    }),
  ],
  restore: [shape({ file: str, configText: optional(str), paused: bool })],
  blockAttach: [domid, arrayOf(str)],
  blockDetach: [domid, str, bool],
  blockList: [domid],
  consoleAttach: [domid],
  networkAttach: [domid, arrayOf(str)],
  networkDetach: [domid, str],
  networkList: [domid],
  bridgeCommand: [arrayOf(str)],
};

/** Ops that report progress while they run. */
export const PROGRESS_OPS: ReadonlySet<ToolstackOp> = new Set<ToolstackOp>(['save', 'restore']);

function isOp(v: unknown): v is ToolstackOp {
  return typeof v === 'string' && Object.hasOwn(OP_ARGS, v);
}

/** Drops null/undefined record fields, so optional fields are absent rather than null. */
function stripAbsent(v: unknown): unknown {
  if (!isRecord(v) || isBytes(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!absent(x)) out[k] = x;
  return out;
}

/** The request id of a decoded value, if it has a usable one (to address an error reply). */
export function requestIdOf(v: unknown): number | undefined {
  return isRecord(v) && isRequestId(v.id) ? v.id : undefined;
}

/** Validates a decoded frame from a client. Never throws. */
export function parseClientMessage(v: unknown): Parsed<ClientMessage> {
  if (!isRecord(v)) return { ok: false, error: 'message is not a map' };
  const { t, id } = v;
  if (!isRequestId(id)) return { ok: false, error: 'message has no valid request id' };
  switch (t) {
    case 'call': {
      if (!isOp(v.op)) return { ok: false, error: `unknown operation ${JSON.stringify(v.op)}` };
      const checks = OP_ARGS[v.op];
      const raw: unknown[] = Array.isArray(v.args) ? (v.args as unknown[]) : [];
      if (!Array.isArray(v.args) || raw.length > checks.length)
        return { ok: false, error: `bad arguments for ${v.op}` };
      for (let i = 0; i < checks.length; i++) {
        const check = checks[i];
        if (check === undefined || !check(raw[i]))
          return { ok: false, error: `bad argument ${i + 1} for ${v.op}` };
      }
      const args = checks.map((_, i) => (absent(raw[i]) ? undefined : stripAbsent(raw[i])));
      return { ok: true, value: { t, id, op: v.op, args } };
    }
    case 'input':
      return isBytes(v.data)
        ? { ok: true, value: { t, id, data: v.data } }
        : { ok: false, error: 'console input is not bytes' };
    case 'detach':
      return { ok: true, value: { t, id } };
    case 'host':
      return v.op === 'stop' || v.op === 'ping'
        ? { ok: true, value: { t, id, op: v.op } }
        : { ok: false, error: 'unknown host operation' };
    case 'migrate':
      return isMigrateRequest(v.req)
        ? { ok: true, value: { t, id, req: stripAbsent(v.req) as MigrateRequest } }
        : { ok: false, error: 'bad arguments for migrate' };
    default:
      return { ok: false, error: `unknown message type ${JSON.stringify(t)}` };
  }
}

const isMigrateRequest = shape({
  domid,
  address: str,
  port: (v) => uint(v) && (v as number) > 0 && (v as number) < 0x10000,
  token: str,
  target: str,
  leavePaused: bool,
  noMonitor: bool,
  debug: bool,
});

const isMigrationProgress = shape({
  phase: oneOf('reserve', 'precopy', 'suspend', 'stop-and-copy', 'commit', 'done'),
  round: uint,
  pagesSent: uint,
  pagesTotal: uint,
  dirtyPages: uint,
  bytesOnWire: uint,
});

function parseMigrateEvent(v: unknown): MigrateEvent | undefined {
  if (!isRecord(v)) return undefined;
  if (v.kind === 'message' && typeof v.text === 'string') return { kind: 'message', text: v.text };
  const p = v.progress;
  if (v.kind !== 'progress' || !isMigrationProgress(p) || !isRecord(p)) return undefined;
  return {
    kind: 'progress',
    progress: {
      phase: p.phase as MigrationProgress['phase'],
      round: p.round as number,
      pagesSent: p.pagesSent as number,
      pagesTotal: p.pagesTotal as number,
      dirtyPages: p.dirtyPages as number,
      bytesOnWire: p.bytesOnWire as number,
    },
  };
}

function isProgress(v: unknown): v is ProgressReport {
  return (
    isRecord(v) &&
    typeof v.phase === 'string' &&
    typeof v.done === 'number' &&
    typeof v.total === 'number' &&
    (v.note === undefined || v.note === null || typeof v.note === 'string')
  );
}

/** Validates a decoded frame from the daemon. Never throws. */
export function parseDaemonMessage(v: unknown): Parsed<DaemonMessage> {
  if (!isRecord(v) || !isRequestId(v.id)) return { ok: false, error: 'malformed reply' };
  const id = v.id;
  switch (v.t) {
    case 'result':
      return { ok: true, value: { t: 'result', id, value: v.value } };
    case 'error': {
      const e = v.error;
      if (isRecord(e) && isLibxlErrorCode(e.code) && typeof e.message === 'string')
        return { ok: true, value: { t: 'error', id, error: { code: e.code, message: e.message } } };
      return { ok: false, error: 'malformed error reply' };
    }
    case 'progress':
      return isProgress(v.report)
        ? {
            ok: true,
            value: { t: 'progress', id, report: stripAbsent(v.report) as ProgressReport },
          }
        : { ok: false, error: 'malformed progress report' };
    case 'data':
      return isBytes(v.data)
        ? { ok: true, value: { t: 'data', id, data: v.data } }
        : { ok: false, error: 'malformed console data' };
    case 'closed':
      return { ok: true, value: { t: 'closed', id } };
    case 'migrate-event': {
      const event = parseMigrateEvent(v.event);
      return event
        ? { ok: true, value: { t: 'migrate-event', id, event } }
        : { ok: false, error: 'malformed migration event' };
    }
    default:
      return { ok: false, error: 'unknown reply type' };
  }
}
