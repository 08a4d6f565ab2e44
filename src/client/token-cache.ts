/**
 * The token cache: one token at a time, one shared request for all concurrent callers
 * (single flight), and a bound on refreshes an API can force by refusing tokens.
 *
 * @module
 */
import type { ObtainedToken } from './token-response.js';

/**
 * Shortest interval between two refreshes forced by an API's 401 `invalid_token`, in ms. An API
 * that refuses every token (wrong audience, clock far off, a hostile or broken endpoint) would
 * otherwise turn each call into one more token request — and token endpoints bill and rate-limit
 * per request. Five seconds still lets a revoked or rotated token be replaced at once.
 */
export const MIN_FORCED_REFRESH_INTERVAL_MS = 5000;

/** Caches the token obtained by `request`; `now` is the clock (ms). */
export class TokenCache {
  readonly #request: () => Promise<ObtainedToken>;
  readonly #now: () => number;
  #cached: ObtainedToken | undefined;
  /** The most recently obtained token, even once dropped: tells a stale refusal from a current one. */
  #latest: string | undefined;
  #inflight: Promise<string> | undefined;
  #lastForcedRefresh = -Infinity;

  constructor(request: () => Promise<ObtainedToken>, now: () => number) {
    this.#request = request;
    this.#now = now;
  }

  /**
   * The cached token while it is fresh, else the result of a request shared with every caller
   * that arrives while it is under way. `forceRefresh` skips the cached token (a failed forced
   * refresh leaves it in place).
   */
  get(forceRefresh = false): Promise<string> {
    const cached = this.#cached;
    if (!forceRefresh && cached !== undefined && this.#now() < cached.refreshAt) {
      return Promise.resolve(cached.accessToken);
    }
    this.#inflight ??= this.#request()
      .then((token) => {
        this.#cached = token;
        this.#latest = token.accessToken;
        return token.accessToken;
      })
      .finally(() => {
        this.#inflight = undefined;
      });
    return this.#inflight;
  }

  /**
   * An API refused `token`. Returns the token to retry with — a newer one when another caller
   * already replaced it, a new one otherwise — or `undefined` when no retry is worthwhile:
   * a refresh was already forced less than {@link MIN_FORCED_REFRESH_INTERVAL_MS} ago.
   */
  replaceRefused(token: string): Promise<string> | undefined {
    // Concurrent refusals of one token: the first one refreshes, the others use what it gets.
    if (this.#inflight !== undefined || token !== this.#latest) return this.get();
    const now = this.#now();
    if (now - this.#lastForcedRefresh < MIN_FORCED_REFRESH_INTERVAL_MS) return undefined;
    this.#lastForcedRefresh = now;
    if (this.#cached?.accessToken === token) this.#cached = undefined;
    return this.get();
  }
}
