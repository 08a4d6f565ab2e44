/**
 * Time in tests: a clock the test moves by hand (for lifetimes, cooldowns and caches), and a
 * bounded wait for an effect that happens on its own (a background refresh, another process).
 */

/** A clock (epoch milliseconds) that only moves when the test says so. */
export interface ManualClock {
  now: () => number;
  advance(ms: number): void;
}

/** A manual clock starting at the real current time (tokens minted now are valid at its start). */
export function manualClock(start = Date.now()): ManualClock {
  let current = start;
  return {
    now: () => current,
    advance(ms) {
      current += ms;
    },
  };
}

/**
 * Resolves once `check` returns true; rejects after `timeoutMs`. For effects with no event to
 * await (a background fetch finishing, a message from another process); never a lifetime.
 */
export async function eventually(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
