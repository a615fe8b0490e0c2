export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  initialMs: number;
  /** Upper bound of any delay, in ms. */
  maxMs: number;
  /** Growth factor per failed attempt. */
  factor: number;
  /**
   * Share of the delay that is randomised, 0..1. With 0.5 the delay of an
   * attempt lies in [raw / 2, raw], so many tabs that lost the server at the
   * same moment do not come back at the same moment.
   */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 1_000,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.5,
};

/**
 * Delay before retry number `attempt` (0 for the first retry after a
 * failure): raw = min(maxMs, initialMs * factor^attempt), then the jittered
 * share is scaled by random() in [0, 1). Never above maxMs.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const raw = Math.min(options.maxMs, options.initialMs * options.factor ** Math.max(0, attempt));
  const spread = raw * Math.min(1, Math.max(0, options.jitter));
  return Math.round(raw - spread + spread * random());
}
