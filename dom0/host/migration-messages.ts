// The lines `xl migrate` prints on the sender's terminal (tools/xl/xl_migrate.c migrate_domain,
// migrate_receive; xl_saverestore.c save_domain_core_writeconfig). In Xen the target's lines reach
// that terminal through ssh's stderr; here the sending daemon follows the handshake bytes on the
// channel (reference 10.4) and reports each side's line at the point the side prints it.

import {
  parseReservation,
  PERMISSION_TO_GO,
  RECEIVER_BANNER,
  RECEIVER_READY,
  RESERVATION_FAILED,
  RESERVATION_OK,
  UNPAUSE_REPORT,
} from '../migration/handshake.js';
import { XL_SAVEFILE_HEADER_SIZE, XL_SAVEFILE_MAGIC } from '../../hypercalls/save-stream.js';
import type { LibxlErrorCode } from '../toolstack/api.js';

export const MSG = {
  targetReady: 'migration target: Ready to receive domain.',
  targetTransferComplete:
    'migration target: Transfer complete, requesting permission to start domain.',
  senderAcknowledged: 'migration sender: Target has acknowledged transfer.',
  senderGiving: 'migration sender: Giving target permission to start.',
  targetGotPermission: 'migration target: Got permission, starting domain.',
  // (sic) xl_migrate.c spells it so.
  targetStarted: 'migration target: Domain started successsfully.',
  senderTargetStarted: 'migration sender: Target reports successful startup.',
  success: 'Migration successful.',
  targetFailure: 'migration target: Failure, destroying our copy.',
  targetCleanupOk: 'migration target: Cleanup OK, granting sender permission to resume.',
  senderTryingResume: 'migration sender: Trying to resume at our end.',
  senderResumedOk: 'migration sender: Resumed OK.',
  failedAtTarget: 'Migration failed due to problems at target.',
  failedResume: 'Migration failed, resuming at sender.',
  failedSuspend: 'Migration failed, failed to suspend at sender.',
  failedBadly:
    '** Migration failed during final handshake **\n' +
    'Domain state is now undefined !\n' +
    'Please CHECK AT BOTH ENDS for running instances, before renaming and\n' +
    ' resuming at most one instance.  Two simultaneous instances of the domain\n' +
    ' would probably result in SEVERE DATA LOSS and it is now your\n' +
    ' responsibility to avoid that.  Sorry.',
} as const;

/** Where the handshake has got to, as the sender sees it. */
export type HandshakeStage =
  /** Waiting for the receiver's banner. */
  | 'banner'
  /** Banner seen: the stream is going out. */
  | 'stream'
  /** The target could not reserve memory for the domain (nothing moved, the guest never paused). */
  | 'refused'
  /** The target has the domain and asked for permission to start it. */
  | 'ready'
  /** Permission given: the point of no return. */
  | 'go'
  /** The target reported that its copy runs. */
  | 'started'
  /** The target reported failure (and may hand the domain back). */
  | 'target-failed'
  /** The target destroyed its copy and gave the domain back. */
  | 'handed-back'
  /** The bytes stopped looking like the handshake (e.g. post-copy traffic): no more lines. */
  | 'lost';

type Prefix = 'match' | 'partial' | 'no';

function prefixOf(buf: Uint8Array, msg: Uint8Array): Prefix {
  const n = Math.min(buf.length, msg.length);
  for (let i = 0; i < n; i++) if (buf[i] !== msg[i]) return 'no';
  return buf.length >= msg.length ? 'match' : 'partial';
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

const MAGIC = new TextEncoder().encode(XL_SAVEFILE_MAGIC);
const MAX_REASON_BYTES = 1024;

/** What the reservation answers start with (xensim's, see handshake.ts). */
const RESERVATION_PREFIX = ((): Uint8Array => {
  let n = 0;
  while (n < RESERVATION_OK.length && RESERVATION_OK[n] === RESERVATION_FAILED[n]) n++;
  return new TextEncoder().encode(RESERVATION_OK.slice(0, n));
})();

/** Stages in which the receiver still has handshake messages to send. */
const FOLLOWING: ReadonlySet<HandshakeStage> = new Set<HandshakeStage>([
  'banner',
  'stream',
  'ready',
  'go',
  'target-failed',
]);

/** Follows one migration's handshake and emits xl's lines. */
export class HandshakeWatch {
  stage: HandshakeStage = 'banner';
  /** The target's unpause status byte, once reported. */
  targetStatus: number | undefined;
  private inBuf: Uint8Array = new Uint8Array(0);
  private header: Uint8Array | null = new Uint8Array(0);
  private readonly emit: (line: string) => void;

  constructor(emit: (line: string) => void) {
    this.emit = emit;
  }

  /** Bytes from the receiver. */
  incoming(chunk: Uint8Array): void {
    if (!FOLLOWING.has(this.stage)) return;
    this.inBuf = concat(this.inBuf, chunk);
    while (this.inBuf.length > 0 && this.step());
  }

  /** Bytes the sender writes. */
  outgoing(bytes: Uint8Array): void {
    if (this.header !== null && this.stage === 'stream') this.watchHeader(bytes);
    if (this.stage === 'ready' && prefixOf(bytes, PERMISSION_TO_GO) === 'match') {
      this.emit(MSG.senderGiving);
      this.stage = 'go';
    }
  }

  /** The lines xl prints after its own error message when the send fails at this stage. */
  failureLines(code: LibxlErrorCode, resumedOk: boolean): string[] {
    switch (this.stage) {
      case 'banner':
      case 'lost':
        return [];
      case 'stream':
      case 'refused':
      case 'ready':
        return [code === 'GUEST_TIMEDOUT' ? MSG.failedSuspend : MSG.failedResume];
      case 'go':
      case 'started':
        return [MSG.failedBadly];
      case 'target-failed':
        return [MSG.failedBadly];
      case 'handed-back':
        return [...(resumedOk ? [MSG.senderResumedOk] : []), MSG.failedAtTarget];
    }
  }

  /** Consumes one handshake message from inBuf; false if it needs more bytes. */
  private step(): boolean {
    switch (this.stage) {
      case 'banner':
        return this.expect(RECEIVER_BANNER, () => {
          this.emit(MSG.targetReady);
          this.stage = 'stream';
        });
      case 'stream':
        return this.afterBanner();
      case 'ready':
      case 'go':
        return this.report();
      case 'target-failed':
        return this.expect(PERMISSION_TO_GO, () => {
          this.emit(MSG.targetCleanupOk);
          this.emit(MSG.senderTryingResume);
          this.stage = 'handed-back';
        });
      case 'started':
      case 'refused':
      case 'handed-back':
      case 'lost':
        return false;
    }
  }

  /** After the banner: the reservation answer (a NUL-terminated string), then READY. */
  private afterBanner(): boolean {
    const reservation = prefixOf(this.inBuf, RESERVATION_PREFIX);
    if (reservation === 'match') {
      const nul = this.inBuf.indexOf(0);
      if (nul < 0) {
        if (this.inBuf.length > MAX_REASON_BYTES) this.stage = 'lost';
        return false;
      }
      const r = parseReservation(new TextDecoder().decode(this.inBuf.subarray(0, nul)));
      this.inBuf = this.inBuf.subarray(nul + 1);
      if (!r.ok) {
        this.emit(`migration target: reservation failed: ${r.why}`);
        this.stage = 'refused';
        return false;
      }
      return true;
    }
    return this.expect(
      RECEIVER_READY,
      () => {
        this.emit(MSG.targetTransferComplete);
        this.emit(MSG.senderAcknowledged);
        this.stage = 'ready';
      },
      reservation === 'partial',
    );
  }

  private report(): boolean {
    const p = prefixOf(this.inBuf, UNPAUSE_REPORT);
    if (p === 'no') {
      this.stage = 'lost';
      return false;
    }
    if (p === 'partial' || this.inBuf.length < UNPAUSE_REPORT.length + 1) return false;
    const status = this.inBuf[UNPAUSE_REPORT.length] as number;
    this.inBuf = this.inBuf.subarray(UNPAUSE_REPORT.length + 1);
    this.targetStatus = status;
    this.emit(MSG.targetGotPermission);
    if (status === 0) {
      this.emit(MSG.targetStarted);
      this.emit(MSG.senderTargetStarted);
      this.stage = 'started';
      return false;
    }
    this.emit(MSG.targetFailure);
    // xl prints rc_buf, a char holding -rc, with %d.
    this.emit(
      `migration sender: Target reports startup failure (status code ${status > 127 ? status - 256 : status}).`,
    );
    this.stage = 'target-failed';
    return true;
  }

  /**
   * Consumes `msg` if inBuf starts with it. A mismatch means the bytes are not the handshake:
   * stop following (unless `maybeOther`: another message this one may still turn out to be).
   */
  private expect(msg: Uint8Array, then: () => void, maybeOther = false): boolean {
    const p = prefixOf(this.inBuf, msg);
    if (p === 'match') {
      this.inBuf = this.inBuf.subarray(msg.length);
      then();
      return true;
    }
    if (p === 'no' && !maybeOther) this.stage = 'lost';
    return false;
  }

  /** The xl save header the sender writes first: "Saving to migration stream new xl format". */
  private watchHeader(bytes: Uint8Array): void {
    const h = this.header;
    if (h === null) return;
    const got = concat(h, bytes.subarray(0, XL_SAVEFILE_HEADER_SIZE - h.length));
    if (prefixOf(got, MAGIC) === 'no') {
      this.header = null;
      return;
    }
    if (got.length < XL_SAVEFILE_HEADER_SIZE) {
      this.header = got;
      return;
    }
    this.header = null;
    const dv = new DataView(got.buffer, got.byteOffset, got.length);
    const mandatory = dv.getUint32(36, true);
    const optional = dv.getUint32(40, true);
    const optLen = dv.getUint32(44, true);
    this.emit(
      `Saving to migration stream new xl format (info 0x${mandatory.toString(16)}/0x${optional.toString(16)}/${optLen})`,
    );
  }
}
