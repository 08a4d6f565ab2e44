/**
 * Human-readable times for claims: "2026-11-29 15:46:40 UTC (in 59 min)", "expired 3 h ago".
 *
 * @module
 */

/**
 * A duration in whole units, rounded down: `42 s`, `59 min`, `3 h`, `2 d` (hours up to two
 * days, so "36 h" stays more telling than "1 d").
 */
export function formatDuration(seconds: number): string {
  const abs = Math.floor(Math.abs(seconds));
  if (abs < 60) return `${abs} s`;
  if (abs < 3_600) return `${Math.floor(abs / 60)} min`;
  if (abs < 2 * 86_400) return `${Math.floor(abs / 3_600)} h`;
  return `${Math.floor(abs / 86_400)} d`;
}

/** `in 59 min` for a time ahead of `now`, `3 h ago` for one behind it (both in epoch seconds). */
export function relativeTime(at: number, now: number): string {
  const delta = at - now;
  if (Math.abs(delta) < 1) return 'now';
  return delta >= 0 ? `in ${formatDuration(delta)}` : `${formatDuration(delta)} ago`;
}

/** An epoch-seconds claim as `2026-11-29 15:46:40 UTC`, or `undefined` when it is not a usable date. */
export function formatDate(epochSeconds: unknown): string | undefined {
  if (typeof epochSeconds !== 'number' || !Number.isFinite(epochSeconds)) return undefined;
  const date = new Date(epochSeconds * 1000);
  if (Number.isNaN(date.getTime())) return undefined;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `1764430000 (2026-11-29 15:46:40 UTC, in 59 min)`; the raw value alone when it is not a date. */
export function describeTime(epochSeconds: unknown, now: number): string {
  const date = formatDate(epochSeconds);
  if (date === undefined) return JSON.stringify(epochSeconds) ?? 'absent';
  return `${epochSeconds as number} (${date}, ${relativeTime(epochSeconds as number, now)})`;
}
