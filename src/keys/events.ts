/**
 * Key-set events: what an operator logs or alerts on. They go to `jwks.onEvent` when it is
 * set, to the `express-m2m:jwks` diagnostics channel when anyone subscribes, and — so that a
 * misconfigured issuer is visible without any hook — failures without `onEvent` become a
 * process warning (type `ExpressM2MWarning`), at most once per cooldown.
 *
 * @module
 */
import { jwksChannel } from '../diagnostics.js';

/** Emitted through `jwks.onEvent` and the `express-m2m:jwks` channel. Never contains a token. */
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
    }
  | {
      /** The key set could not be refreshed for longer than `jwks.maxStale`: it is no longer used (503). */
      type: 'max_stale_exceeded';
      url: string;
      /** Age of the key set in seconds. */
      age: number;
    };

/** Where one issuer's key-set events go. */
export interface EventSink {
  report(event: KeySetEvent): void;
}

/**
 * The event sink of one issuer.
 *
 * @param onEvent - the operator's hook; when absent, failures become process warnings.
 * @param cooldown - seconds between two warnings.
 */
export function createEventSink(
  onEvent: ((event: KeySetEvent) => void) | undefined,
  cooldown: number,
  now: () => number = Date.now,
): EventSink {
  let lastWarningAt = Number.NEGATIVE_INFINITY;
  return {
    report(event) {
      if (jwksChannel.hasSubscribers) jwksChannel.publish(event);
      if (onEvent !== undefined) {
        try {
          onEvent(event);
        } catch {
          // A logging hook must never change an authorization decision.
        }
        return;
      }
      const warning = warningFor(event);
      if (warning === undefined || now() - lastWarningAt < cooldown * 1000) return;
      lastWarningAt = now();
      process.emitWarning(warning, { type: 'ExpressM2MWarning', code: 'EXPRESS_M2M_KEYS_UNAVAILABLE' });
    },
  };
}

function warningFor(event: KeySetEvent): string | undefined {
  if (event.type === 'fetch_failed' && !event.servingStale) {
    return `express-m2m: no signing keys: ${event.error.message} (requests are answered 503 until this succeeds; set jwks.onEvent to handle these events yourself)`;
  }
  if (event.type === 'max_stale_exceeded') {
    return `express-m2m: the key set from ${event.url} could not be refreshed for ${event.age} s, longer than jwks.maxStale allows; requests are answered 503`;
  }
  return undefined;
}
