// The messages of xl's migration handshake (tools/xl/xl_migrate.c, xl_utils.h; reference 10.4):
// the receiver's banner, its "received" and unpause-result reports and the sender's permission to
// go, byte for byte (the last three carry their trailing NUL, as xl writes sizeof() bytes).

const enc = new TextEncoder();

/** migrate_receiver_banner: the receiver is ready for the save header and stream. */
export const RECEIVER_BANNER = enc.encode(
  'xl migration receiver ready, send binary domain data.\n',
);
/** migrate_receiver_ready: the stream arrived and the domain is built, paused. */
export const RECEIVER_READY = enc.encode('domain received, ready to unpause\0');
/** migrate_permission_to_go: the sender gives up its copy (commitment). */
export const PERMISSION_TO_GO = enc.encode('domain is yours, you are cleared to unpause\0');
/** migrate_report, then one status byte (0 = the target's copy runs). */
export const UNPAUSE_REPORT = enc.encode('my copy unpause results are as follows\0');

/**
 * DEVIATION(xen): xensim's receiver answers the stream's static records with a reservation result
 * before the sender moves any page (the "reservation first"): RESERVATION_OK and the new
 * domid, or RESERVATION_FAILED and a reason, each NUL-terminated.
 */
export const RESERVATION_OK = 'xensim migration: memory reserved for domain ';
export const RESERVATION_FAILED = 'xensim migration: reservation failed: ';

/** The receiver's reservation answer on the wire. */
export function reservationMessage(
  r: { ok: true; domid: number } | { ok: false; why: string },
): Uint8Array {
  return enc.encode(r.ok ? `${RESERVATION_OK}${r.domid}\0` : `${RESERVATION_FAILED}${r.why}\0`);
}

/** Parses the reservation answer (without its NUL). */
export function parseReservation(
  text: string,
): { ok: true; domid: number } | { ok: false; why: string } {
  if (text.startsWith(RESERVATION_OK)) {
    const domid = Number(text.slice(RESERVATION_OK.length));
    if (Number.isInteger(domid) && domid > 0 && domid < 0x7ff0) return { ok: true, domid };
  }
  if (text.startsWith(RESERVATION_FAILED))
    return { ok: false, why: text.slice(RESERVATION_FAILED.length) };
  return { ok: false, why: `unexpected reply ${JSON.stringify(text.slice(0, 80))}` };
}

/** How long either side waits for its peer's next handshake message (virtual time). */
export const HANDSHAKE_TIMEOUT_NS = 60_000_000_000;

/**
 * DEVIATION(xen): post-copy's end. The target, once it has every page the source still held, sends
 * this with the pull statistics (pages paged in on a guest fault, and how long the pull took), and
 * only then may the source drop its copy.
 */
export const POSTCOPY_DONE = 'xensim migration: post-copy complete ';

/** How long the source keeps its copy for the target to pull from (virtual time). */
export const POSTCOPY_TIMEOUT_NS = 600_000_000_000;

export function postcopyDoneMessage(faults: number, durationNs: number): Uint8Array {
  return enc.encode(`${POSTCOPY_DONE}${faults} ${durationNs}\0`);
}

export function parsePostcopyDone(text: string): { faults: number; durationNs: number } | null {
  if (!text.startsWith(POSTCOPY_DONE)) return null;
  const [f, d] = text.slice(POSTCOPY_DONE.length).split(' ').map(Number);
  if (!Number.isInteger(f) || !Number.isInteger(d) || (f as number) < 0 || (d as number) < 0)
    return null;
  return { faults: f as number, durationNs: d as number };
}
