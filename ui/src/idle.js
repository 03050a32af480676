// Idle sign-out: a clerk who walks away is signed out after the configured time, with a
// visible countdown in the last 30 seconds. Work in flight (an operation the clerk
// started, a payment the customer is making) is never interrupted: it counts as activity.

/** How long before the sign-out the countdown shows. */
export const WARN_MS = 30_000;

/**
 * What to do at `now` (ms) when the clerk was last active at `last`, the limit is
 * `limitMs` (0: never) and `working` says whether something is in flight.
 * Returns { action: "none" }, { action: "warn", secondsLeft } or { action: "sign_out" }.
 */
export function idleState(now, last, limitMs, working) {
  if (!limitMs || working) return { action: "none" };
  const left = limitMs - (now - last);
  if (left <= 0) return { action: "sign_out" };
  if (left <= WARN_MS) return { action: "warn", secondsLeft: Math.ceil(left / 1000) };
  return { action: "none" };
}
