/**
 * Errors for expected refusals, built without a stack trace.
 *
 * A refused token (forged, expired, for another audience) is an expected outcome, not a bug:
 * its stack would only point into this package. Yet V8 walks the stack for every `Error` it
 * constructs, and on Node 20 that was most of the cost of refusing a forged token — about
 * 3–8 µs for each of the three errors one refusal builds (jose's, the internal refusal, the
 * HTTP error), against ~1 µs without the walk. Refusing junk cheaply is part of withstanding a
 * flood of it.
 *
 * @module
 */

/**
 * Sets `Error.stackTraceLimit` to 0 until the returned function is called: for a constructor,
 * where `super()` cannot be wrapped in a callback. Call it in a `finally`.
 *
 * @example
 * ```ts
 * const resume = pauseStackTraces();
 * try {
 *   super(message);
 * } finally {
 *   resume();
 * }
 * ```
 */
export function pauseStackTraces(): () => void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  return () => {
    Error.stackTraceLimit = limit;
  };
}

/**
 * Runs `build` with stack traces paused, so errors constructed inside carry only their
 * `Name: message` line. Synchronous; the previous limit is restored even if `build` throws.
 *
 * @example
 * ```ts
 * throw withoutStack(() => new errors.JWSSignatureVerificationFailed());
 * ```
 */
export function withoutStack<T>(build: () => T): T {
  const resume = pauseStackTraces();
  try {
    return build();
  } finally {
    resume();
  }
}

/**
 * The base of errors that stand for expected refusals: its constructor captures no stack trace,
 * so `stack` is the `Name: message` line alone. Subclasses construct as they would `Error`.
 *
 * @example
 * ```ts
 * class Refusal extends StacklessError {}
 * new Refusal('invalid signature').stack; // 'Error: invalid signature'
 * ```
 */
export class StacklessError extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    const resume = pauseStackTraces();
    try {
      super(message, options);
    } finally {
      resume();
    }
  }
}
