/**
 * Key-set events: what an operator logs or alerts on.
 *
 * @module
 */

/** Emitted through `jwks.onEvent`. Never contains a token. */
export type KeySetEvent =
  | {
      /** A discovery document or key set was fetched and accepted. */
      type: 'fetched';
      resource: 'discovery' | 'jwks';
      url: string;
      /** Number of keys in the set (for `jwks`). */
      keys?: number;
    }
  | {
      /** A discovery or key-set fetch failed. */
      type: 'fetch_failed';
      resource: 'discovery' | 'jwks';
      url: string;
      /** What went wrong, without any secret. */
      error: Error;
      /** True when a previously fetched key set keeps being served (stale-if-error). */
      servingStale: boolean;
    }
  | {
      /** Tokens are being verified with a key set older than `jwks.cacheMaxAge`, because refreshing failed. */
      type: 'serving_stale';
      url: string;
      /** Age of the key set in seconds. */
      age: number;
    };

/** Calls the operator's hook, shielding verification from a hook that throws. */
export function emit(hook: ((event: KeySetEvent) => void) | undefined, event: KeySetEvent): void {
  if (hook === undefined) return;
  try {
    hook(event);
  } catch {
    // A logging hook must never change an authorization decision.
  }
}
