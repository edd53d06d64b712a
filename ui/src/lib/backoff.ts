// When to poll an endpoint next: the normal period while it answers, doubling after each failure
// so an unreachable endpoint is not hammered, capped so it is noticed soon once it is back.

/** Polling timings in milliseconds. */
export interface BackoffPolicy {
  /** Delay while the endpoint answers. */
  periodMs: number;
  /** Longest delay after repeated failures. */
  maxMs: number;
}

/** The main window's inventory polling: every 15 s, at most every 5 min while failing. */
export const inventoryPolling: BackoffPolicy = { periodMs: 15_000, maxMs: 300_000 };

/** Delay before the next poll after `failures` consecutive failures (0 = the last one succeeded). */
export function nextDelay(failures: number, policy: BackoffPolicy = inventoryPolling): number {
  if (!Number.isFinite(failures) || failures <= 0) return policy.periodMs;
  // 2^failures grows past maxMs long before it overflows; cap the exponent anyway.
  const delay = policy.periodMs * 2 ** Math.min(failures, 30);
  return Math.min(delay, policy.maxMs);
}
