// How a soak run is judged and printed: the violations it collected, the verdict and exit code,
// and the number formats of the results.

const MAX_SHOWN = 50;

/**
 * A list of violations that stops growing after 50 entries (one more line says so), so a run
 * that fails on every request still prints a readable report.
 *
 * @returns `add(text)` and `list` (the texts, in order)
 */
export function createViolations() {
  const list = [];
  return {
    list,
    add(text) {
      if (list.length < MAX_SHOWN) list.push(text);
      else if (list.length === MAX_SHOWN) list.push('… (more violations not shown)');
    },
  };
}

/**
 * Records the driver's own unhandled rejections (each one is a violation at the end of the run).
 *
 * @returns the reasons, as strings, growing as rejections happen
 */
export function watchUnhandledRejections() {
  const reasons = [];
  process.on('unhandledRejection', (reason) => reasons.push(String(reason)));
  return reasons;
}

/**
 * Prints the verdict: every violation and FAILED, or PASSED with what was shown.
 *
 * @param violations from createViolations
 * @param passed what a pass means, printed after "PASSED: "
 * @returns the exit code: 1 on any violation, else 0
 */
export function printVerdict(violations, passed) {
  if (violations.list.length > 0) {
    console.log(`\n[soak] FAILED: ${violations.list.length} violation(s)`);
    for (const text of violations.list) console.log(`  - ${text}`);
    return 1;
  }
  console.log(`\n[soak] PASSED: ${passed}`);
  return 0;
}

/** Counts keyed by "kind status", as JSON with the keys sorted (stable across runs). */
export function sortedCounts(counts) {
  return JSON.stringify(Object.fromEntries(Object.entries(counts).sort()));
}

/** The sum of the counts: the number of requests answered. */
export function totalCount(counts) {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** Bytes as megabytes with one decimal: `mb(3 * 1024 * 1024)` is "3.0 MB". */
export function mb(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Like mb, with a sign: "+2.8 MB", "-0.4 MB". */
export function signedMb(bytes) {
  return `${bytes >= 0 ? '+' : ''}${mb(bytes)}`;
}
