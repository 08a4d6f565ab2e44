/**
 * Retry policy of token requests: which failures are worth retrying, how long to wait
 * (exponential backoff with jitter, or the server's `Retry-After`), and when to give up.
 *
 * @module
 */

/** First backoff step, in milliseconds. */
export const BASE_DELAY_MS = 500;
/** Longest computed backoff step, in milliseconds. */
export const MAX_DELAY_MS = 10_000;
/**
 * Longest `Retry-After` the client waits, in seconds. A server asking for more is answered
 * by giving up at once (the error carries `retryAfter`): blocking a caller for minutes inside
 * `getToken()` is worse than letting it decide.
 */
export const MAX_RETRY_AFTER = 30;

/** Statuses that say "try again later": 408, 429 and every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/**
 * Backoff before retry number `attempt` (0 for the first retry): the exponential step,
 * half of it fixed and half random ("equal jitter"), so that many clients failing together
 * do not retry in lockstep, yet none retries immediately.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const step = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
  return step / 2 + random() * (step / 2);
}

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
 *
 * @returns seconds to wait (0 for a date in the past), or `undefined` when absent or unparsable.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  // Only attempt dates that look like one; Date.parse accepts many odd strings.
  if (!/^[A-Za-z]{3},? /.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
