// The pre-copy policies a live migration chooses from after each round: Xen >= 4.6's
// simple_precopy_policy (tools/libs/guest/xg_sr_save.c), Xen <= 4.5's xc_domain_save loop
// (tools/libxc/xc_domain_save.c) and a downtime target (reference 10.1).

import { pageDataWireBytes } from './precopy-model.js';
import type {
  PrecopyDecision,
  PrecopyPolicy,
  PrecopyPolicyName,
  PrecopyRoundState,
} from './types.js';

/** xg_sr_save.c SPP_TARGET_DIRTY_COUNT: fewer dirty pages than this go in the stop-and-copy. */
export const SPP_TARGET_DIRTY_COUNT = 50;
/** xg_sr_save.c SPP_MAX_ITERATIONS: at most 5 live rounds (1 full + 4 dirty). */
export const SPP_MAX_ITERATIONS = 5;
/** xc_domain_save.c max_iters (DEF_MAX_ITERS): live rounds before the last, 30 rounds in all. */
export const LEGACY_MAX_ITERS = 29;
/** xc_domain_save.c max_factor (DEF_MAX_FACTOR): stop once more than 3x the p2m size was sent. */
export const LEGACY_MAX_FACTOR = 3;
/** xc_domain_save.c: a round that sent fewer pages than this is the last live one. */
export const LEGACY_MIN_SENT = 50;
/** The downtime policy's default target (ms). */
export const DEFAULT_DOWNTIME_TARGET_MS = 300;
/** The downtime policy's hard cap, as the legacy loop's: 29 live rounds, 30 rounds in all. */
export const DOWNTIME_MAX_ROUNDS = LEGACY_MAX_ITERS;

const NS_PER_MS = 1_000_000;
const NS_PER_SEC = 1_000_000_000;

/**
 * simple_precopy_policy: stop-and-copy once fewer than 50 pages are dirty or 5 rounds were sent.
 * DEVIATION(xen): Xen still sends the page set that triggered the stop live and suspends after it,
 * so its stop-and-copy carries what was dirtied during that last small send; here the decision's
 * dirty pages (< 50, or whatever round 5 left) go in the stop-and-copy itself.
 */
function xenDecide(s: PrecopyRoundState): PrecopyDecision {
  return s.dirtyPages < SPP_TARGET_DIRTY_COUNT || s.round >= SPP_MAX_ITERATIONS
    ? 'stop-and-copy'
    : 'continue';
}

/**
 * xc_domain_save's live loop: the last iteration starts when `iter >= max_iters`, when the round
 * sent fewer than 50 pages (`sent_this_iter + skip_this_iter < 50`), or when the total sent exceeds
 * 3x the p2m size (`total_sent > p2m_size * max_factor`, strictly).
 */
function legacyDecide(s: PrecopyRoundState): PrecopyDecision {
  return s.round >= LEGACY_MAX_ITERS ||
    s.pagesSentThisRound < LEGACY_MIN_SENT ||
    s.pagesSentTotal > s.guestPages * LEGACY_MAX_FACTOR
    ? 'stop-and-copy'
    : 'continue';
}

/**
 * Predicted stop-and-copy time of `dirtyPages` at the measured rate: Infinity when no rate was
 * measured (0 or NaN), 0 for an infinite one (a round that took no time).
 */
export function predictedStopCopyNs(dirtyPages: number, bytesPerSecond: number): number {
  if (dirtyPages <= 0) return 0;
  if (!(bytesPerSecond > 0)) return Infinity;
  return (pageDataWireBytes(dirtyPages) * NS_PER_SEC) / bytesPerSecond;
}

function downtimeDecider(targetMs: number): (s: PrecopyRoundState) => PrecopyDecision {
  const targetNs = targetMs * NS_PER_MS;
  return (s) =>
    predictedStopCopyNs(s.dirtyPages, s.bytesPerSecond) <= targetNs ||
    s.round >= DOWNTIME_MAX_ROUNDS
      ? 'stop-and-copy'
      : 'continue';
}

/** The policy `name`; `downtimeTargetMs` applies to 'downtime' only (default 300 ms). */
export function precopyPolicy(
  name: PrecopyPolicyName,
  o: { downtimeTargetMs?: number } = {},
): PrecopyPolicy {
  switch (name) {
    case 'xen':
      return { name, decide: xenDecide };
    case 'legacy':
      return { name, decide: legacyDecide };
    case 'downtime': {
      const target = o.downtimeTargetMs ?? DEFAULT_DOWNTIME_TARGET_MS;
      if (!(target >= 0) || !Number.isFinite(target))
        throw new RangeError(`downtime target must be a finite number of ms >= 0, got ${target}`);
      return { name, decide: downtimeDecider(target) };
    }
    default: {
      const bad: never = name;
      throw new RangeError(`unknown pre-copy policy ${String(bad)}`);
    }
  }
}
