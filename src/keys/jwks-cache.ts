/**
 * The JWKS cache: one shared fetch at a time, a background refresh after `cacheMaxAge`, a
 * refetch on an unknown `kid` at most once per `cooldown`, stale-if-error (a failed refresh
 * keeps the last good key set) bounded by `maxStale`, past which the key set is no longer used.
 *
 * @module
 */
import { errors, type JWSHeaderParameters } from 'jose';
import type { EventSink } from './events.js';
import { fetchJson, KeyFetchError } from './fetch-json.js';
import { createKeySet, type KeySet, type VerificationKey } from './key-set.js';

export type { VerificationKey } from './key-set.js';

/** Thrown while no usable key set is available (cold start with the issuer unreachable, or stale past `maxStale`). */
export class KeySetUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeySetUnavailableError';
  }
}

/** Settings of a {@link JwksCache} (seconds and bytes). */
export interface JwksCacheSettings {
  cacheMaxAge: number;
  cooldown: number;
  timeout: number;
  maxBytes: number;
  /** Seconds past `fetchedAt + cacheMaxAge` a key set that cannot be refreshed is still used. */
  maxStale: number;
  fetch?: typeof globalThis.fetch;
}

interface LoadedKeySet {
  keys: KeySet;
  url: string;
  fetchedAt: number;
}

/**
 * A remote key set. `locate` yields the JWKS URL (running discovery if needed); it is
 * called inside the shared fetch, so discovery is shared and rate-limited the same way.
 */
export class JwksCache {
  private current: LoadedKeySet | undefined;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private lastError: Error | undefined;
  private lastStaleReportAt = Number.NEGATIVE_INFINITY;
  /** Throttled apart from `serving_stale`, so that routine report never holds back this alert. */
  private lastMaxStaleReportAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly locate: () => Promise<string>,
    private readonly settings: JwksCacheSettings,
    private readonly events: EventSink,
    private readonly now: () => number = Date.now,
  ) {}

  /** When the key set in use was fetched (ms since epoch), if any. */
  get fetchedAt(): number | undefined {
    return this.current?.fetchedAt;
  }

  /** Loads the key set unless one is known; rejects with the reason when it cannot be obtained. */
  async ready(): Promise<void> {
    if (this.usable() !== undefined) return;
    await this.refresh();
    if (this.usable() === undefined) throw this.unavailable();
  }

  /** The `kid` the key set gives `key`, if any. */
  keyId(key: VerificationKey): string | undefined {
    return this.current?.keys.keyId(key);
  }

  /**
   * The key for this `alg` and `kid` when it was selected before from a key set that is still
   * fresh; `undefined` when {@link getKey} must run (first use, refresh due, no key set).
   */
  peekKey(alg: unknown, kid: unknown): VerificationKey | undefined {
    const keySet = this.current;
    if (keySet === undefined || this.now() - keySet.fetchedAt >= this.settings.cacheMaxAge * 1000) return undefined;
    return keySet.keys.peek(alg, kid);
  }

  /**
   * The key that verifies a token with this protected header.
   *
   * @throws {@link KeySetUnavailableError} while no usable key set is available;
   *   jose's `JWKSNoMatchingKey` / `JWKSMultipleMatchingKeys` / `JOSENotSupported` otherwise.
   */
  async getKey(header: JWSHeaderParameters): Promise<VerificationKey> {
    if (this.usable() === undefined) {
      if (!this.mayFetch()) throw this.unavailable();
      await this.refresh();
      if (this.usable() === undefined) throw this.unavailable();
    } else if (this.isDue() && this.mayFetch(this.settings.cacheMaxAge)) {
      // Stale-while-revalidate: the refresh runs in the background and this request goes on
      // with the keys it has, so a slow or hanging issuer never delays verification.
      void this.refresh();
    }
    const keySet = this.current as LoadedKeySet;
    this.reportStale(keySet);
    try {
      return await keySet.keys.select(header);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || !this.mayFetch()) throw error;
    }
    // An unknown kid may be a freshly rotated key: refetch, at most once per cooldown.
    await this.refresh();
    const refreshed = this.usable();
    if (refreshed === undefined) throw this.unavailable();
    return refreshed.keys.select(header);
  }

  /** Loads the key set when none is usable and the cooldown allows; never rejects. */
  async warm(): Promise<void> {
    if (this.usable() === undefined && this.mayFetch()) await this.refresh();
  }

  private isDue(): boolean {
    return this.current !== undefined && this.now() - this.current.fetchedAt >= this.settings.cacheMaxAge * 1000;
  }

  /** The key set, unless there is none or it is stale past `maxStale`. */
  private usable(): LoadedKeySet | undefined {
    const keySet = this.current;
    if (keySet === undefined) return undefined;
    const { cacheMaxAge, maxStale } = this.settings;
    if (this.now() - keySet.fetchedAt <= (cacheMaxAge + maxStale) * 1000) return keySet;
    return undefined;
  }

  /**
   * A fetch may start when the cooldown since the last attempt is over; one already running
   * can always be joined. A scheduled refresh (`maxWait` = cacheMaxAge) is not held back by a
   * cooldown longer than the cache age, but retries after a failed one are.
   */
  private mayFetch(maxWait = Number.POSITIVE_INFINITY): boolean {
    const wait = Math.min(this.settings.cooldown, maxWait) * 1000;
    return this.inflight !== undefined || this.now() - this.lastAttemptAt >= wait;
  }

  private unavailable(): KeySetUnavailableError {
    const stale = this.current;
    if (stale !== undefined && this.usable() === undefined) {
      const now = this.now();
      if (now - this.lastMaxStaleReportAt >= this.settings.cooldown * 1000) {
        this.lastMaxStaleReportAt = now;
        this.events.report({
          type: 'max_stale_exceeded',
          url: stale.url,
          age: Math.floor((now - stale.fetchedAt) / 1000),
        });
      }
      return new KeySetUnavailableError('the key set could not be refreshed for longer than `jwks.maxStale`', {
        cause: this.lastError,
      });
    }
    return new KeySetUnavailableError(this.lastError?.message ?? 'signing keys unavailable', { cause: this.lastError });
  }

  /** Fetches the key set; concurrent callers share one fetch. Never rejects: failures keep the last good set. */
  private refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(): Promise<void> {
    this.lastAttemptAt = this.now();
    let url = '';
    try {
      url = await this.locate();
      let keys: KeySet;
      try {
        keys = createKeySet(await fetchJson(url, this.settings));
      } catch (error) {
        throw new KeyFetchError(`${url}: ${error instanceof Error ? error.message : 'failed'}`, { cause: error });
      }
      this.current = { keys, url, fetchedAt: this.now() };
      this.lastError = undefined;
      this.events.report({ type: 'fetched', resource: 'jwks', url, keys: keys.size });
    } catch (error) {
      this.lastError = error instanceof Error ? error : new KeyFetchError('key set fetch failed');
      // A discovery failure was reported by `locate` itself.
      if (url !== '') {
        this.events.report({
          type: 'fetch_failed',
          resource: 'jwks',
          url,
          error: this.lastError,
          servingStale: this.usable() !== undefined,
        });
      }
    }
  }

  /** Reports a key set past `cacheMaxAge`, at most once per cooldown so logs are not flooded. */
  private reportStale(keySet: LoadedKeySet): void {
    const now = this.now();
    const age = now - keySet.fetchedAt;
    if (age < this.settings.cacheMaxAge * 1000 || now - this.lastStaleReportAt < this.settings.cooldown * 1000) return;
    this.lastStaleReportAt = now;
    this.events.report({ type: 'serving_stale', url: keySet.url, age: Math.floor(age / 1000) });
  }
}
