// The soak's time line: seconds since the load started, log lines stamped with them, and the
// scheduled events (rotation, outage, revocation, restart) of a run.
import { performance } from 'node:perf_hooks';

/**
 * A clock that counts seconds from `start()` (from its creation until then).
 *
 * @example
 * ```js
 * const clock = createClock();
 * clock.start();
 * clock.log('keys rotated'); // "[soak   1.3 s] keys rotated"
 * ```
 * @returns `start()`, `elapsed()` (s), `fromEpoch(ms)` (an epoch reading, e.g. another process's
 *   `performance.timeOrigin + performance.now()`, in seconds on this clock) and `log(text)`
 */
export function createClock() {
  let origin = performance.now();
  const elapsed = () => (performance.now() - origin) / 1000;
  return {
    start() {
      origin = performance.now();
    },
    elapsed,
    fromEpoch: (epochMs) => (epochMs - performance.timeOrigin - origin) / 1000,
    log: (text) => console.log(`[soak ${elapsed().toFixed(1).padStart(5)} s] ${text}`),
  };
}

/**
 * Timed actions of a run. An action that throws or rejects is reported through `onError`
 * instead of crashing the driver.
 *
 * @param onError receives `schedule: <error>`
 * @returns `at(seconds, action)` (from now) and `clear()` (cancels what has not run yet)
 */
export function createSchedule(onError) {
  const timers = [];
  return {
    at(seconds, action) {
      timers.push(
        setTimeout(() => Promise.resolve(action()).catch((error) => onError(`schedule: ${error}`)), seconds * 1000),
      );
    },
    clear() {
      for (const timer of timers) clearTimeout(timer);
    },
  };
}
