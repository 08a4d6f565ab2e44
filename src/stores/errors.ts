/**
 * The one error a shared-state store raises when it cannot answer safely.
 *
 * @module
 */

/**
 * A store (replay store, revocation list) could not record or read state in time: Redis is
 * down or slow, or the in-memory store is full of unexpired entries. Callers fail closed:
 * the verifier answers 503 `temporarily_unavailable` instead of accepting a request it
 * cannot check. `message` never contains a key, a token or a proof.
 *
 * @example
 * ```ts
 * try {
 *   await store.add(key, 60);
 * } catch (error) {
 *   if (error instanceof StoreUnavailableError) respond503();
 * }
 * ```
 */
export class StoreUnavailableError extends Error {
  /** Stable reason for metrics and logs. */
  readonly reason = 'store_unavailable' as const;

  constructor(message = 'the shared store is unavailable', options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreUnavailableError';
  }
}
