/**
 * `err.details`: which claim check failed, with what was expected and what the token had,
 * for server logs. Values are claims or configuration, never the token or a signature, and
 * strings are cut so a hostile claim cannot flood a log line.
 *
 * @module
 */

/** The claim check that failed. */
export interface ErrorDetails {
  /** The claim (or header parameter) checked: `aud`, `iss`, `exp`, `scope`, … */
  readonly claim: string;
  /** What the configuration asked for. */
  readonly expected: unknown;
  /** What the token carried (`undefined` when absent). */
  readonly actual: unknown;
}

/** Longest string kept in details. */
export const MAX_DETAIL_CHARS = 200;
const MAX_DETAIL_ITEMS = 20;

/** A copy of `details` with strings cut to {@link MAX_DETAIL_CHARS} characters and lists to 20 items. */
export function clipDetail(details: ErrorDetails): ErrorDetails {
  return Object.freeze({
    claim: clip(details.claim) as string,
    expected: clip(details.expected),
    actual: clip(details.actual),
  });
}

function clip(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.length > MAX_DETAIL_CHARS ? value.slice(0, MAX_DETAIL_CHARS) : value;
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? '[function]' : value;
  if (Array.isArray(value) && depth === 0) return value.slice(0, MAX_DETAIL_ITEMS).map((item) => clip(item, 1));
  // Nested structures are summarised as (cut) JSON rather than copied.
  let json: string;
  try {
    json = JSON.stringify(value) ?? '';
  } catch {
    json = '[unserialisable]';
  }
  return clip(json, 1);
}
