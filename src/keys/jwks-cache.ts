/**
 * The JWKS cache: one shared fetch at a time, a background refresh after `cacheMaxAge`, a refetch on an
 * unknown `kid` at most once per `cooldown`, and stale-if-error (a failed refresh keeps the
 * last good key set). Key selection and import are jose's `createLocalJWKSet`, so a JWK's
 * own `alg`, `use`, `key_ops`, `kty` and `crv` must agree with the token.
 *
 * @module
 */
import { KeyObject } from 'node:crypto';
import { createLocalJWKSet, errors, type CryptoKey, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import { emit, type KeySetEvent } from './events.js';
import { fetchJson, KeyFetchError } from './fetch-json.js';

/** A verification key: node:crypto's form of the key jose selected and imported. */
export type VerificationKey = KeyObject;

/** Thrown while no key set has ever been obtained (cold start with the issuer unreachable). */
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
  onEvent?: ((event: KeySetEvent) => void) | undefined;
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

interface LoadedKeySet {
  select: LocalKeySet;
  /** Keys already selected from this set, by {@link selectionKey}: lets known keys be found without awaiting. */
  selected: Map<string, VerificationKey>;
  url: string;
  fetchedAt: number;
}

/** jose selects by `alg` and `kid` only; `alg` never contains `#`. */
function selectionKey(alg: unknown, kid: unknown): string | undefined {
  if (typeof alg !== 'string') return undefined;
  if (kid === undefined) return alg;
  return typeof kid === 'string' ? `${alg}#${kid}` : undefined;
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
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly locate: () => Promise<string>,
    private readonly settings: JwksCacheSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** When the key set in use was fetched (ms since epoch), if any. */
  get fetchedAt(): number | undefined {
    return this.current?.fetchedAt;
  }

  /** Loads the key set unless one is known; rejects with the reason when it cannot be obtained. */
  async ready(): Promise<void> {
    if (this.current !== undefined) return;
    await this.refresh();
    if (this.current === undefined) throw this.unavailable();
  }

  /**
   * The key for this `alg` and `kid` when it was selected before from a key set that is still
   * fresh; `undefined` when {@link getKey} must run (first use, refresh due, no key set).
   */
  peekKey(alg: unknown, kid: unknown): VerificationKey | undefined {
    const keySet = this.current;
    if (keySet === undefined || this.now() - keySet.fetchedAt >= this.settings.cacheMaxAge * 1000) return undefined;
    const key = selectionKey(alg, kid);
    return key === undefined ? undefined : keySet.selected.get(key);
  }

  /**
   * The key that verifies a token with this protected header.
   *
   * @throws {@link KeySetUnavailableError} while no key set was ever obtained;
   *   jose's `JWKSNoMatchingKey` / `JWKSMultipleMatchingKeys` / `JOSENotSupported` otherwise.
   */
  async getKey(header: JWSHeaderParameters): Promise<VerificationKey> {
    if (this.current === undefined) {
      if (!this.mayFetch()) throw this.unavailable();
      await this.refresh();
      if (this.current === undefined) throw this.unavailable();
    } else if (
      this.now() - this.current.fetchedAt >= this.settings.cacheMaxAge * 1000 &&
      this.mayFetch(this.settings.cacheMaxAge)
    ) {
      // Stale-while-revalidate: the refresh runs in the background and this request goes on
      // with the keys it has, so a slow or hanging issuer never delays verification.
      void this.refresh();
    }
    const keySet = this.current as LoadedKeySet;
    this.reportStale(keySet);
    try {
      return await select(keySet, header);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || !this.mayFetch()) throw error;
    }
    // An unknown kid may be a freshly rotated key: refetch, at most once per cooldown.
    await this.refresh();
    return select(this.current as LoadedKeySet, header);
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
      const document = await fetchJson(url, this.settings);
      const select = createKeySet(document);
      this.current = { select, selected: new Map(), url, fetchedAt: this.now() };
      this.lastError = undefined;
      emit(this.settings.onEvent, {
        type: 'fetched',
        resource: 'jwks',
        url,
        keys: (document as JSONWebKeySet).keys.length,
      });
    } catch (error) {
      this.lastError = error instanceof Error ? error : new KeyFetchError('key set fetch failed');
      if (url !== '') {
        emit(this.settings.onEvent, {
          type: 'fetch_failed',
          resource: 'jwks',
          url,
          error: this.lastError,
          servingStale: this.current !== undefined,
        });
      }
    }
  }

  /** Reports a key set past `cacheMaxAge`, at most once per cooldown so logs are not flooded. */
  private reportStale(keySet: LoadedKeySet): void {
    if (this.settings.onEvent === undefined) return;
    const now = this.now();
    const age = now - keySet.fetchedAt;
    if (age < this.settings.cacheMaxAge * 1000 || now - this.lastStaleReportAt < this.settings.cooldown * 1000) return;
    this.lastStaleReportAt = now;
    emit(this.settings.onEvent, { type: 'serving_stale', url: keySet.url, age: Math.floor(age / 1000) });
  }
}

/** Selects and imports with jose (which checks `kty`, `alg`, `use`, `key_ops`, `crv` against the token), then remembers the result. */
async function select(keySet: LoadedKeySet, header: JWSHeaderParameters): Promise<VerificationKey> {
  const cryptoKey: CryptoKey = await keySet.select(header);
  const key = KeyObject.from(cryptoKey as Parameters<typeof KeyObject.from>[0]);
  const memo = selectionKey(header.alg, header.kid);
  if (memo !== undefined) keySet.selected.set(memo, key);
  return key;
}

function createKeySet(document: unknown): LocalKeySet {
  try {
    return createLocalJWKSet(document as JSONWebKeySet);
  } catch (error) {
    throw new KeyFetchError('response is not a valid JSON Web Key Set', { cause: error });
  }
}
