/**
 * Replay store: remembers one-time values (DPoP proof `jti`s) for as long as a replay could
 * still be accepted, and refuses a second use.
 *
 * @module
 */
import { StoreUnavailableError } from './errors.js';

/** Records one-time keys. Implemented in memory here and on Redis by `express-m2m/redis`. */
export interface ReplayStore {
  /**
   * Records `key` for `ttl` seconds. Resolves true on first use, false when `key` is still
   * recorded (a replay). Throws or rejects with {@link StoreUnavailableError} when it cannot
   * answer safely; the caller must then refuse the request.
   */
  add(key: string, ttl: number): boolean | Promise<boolean>;
}

/** Options of {@link createMemoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /** Most keys held at once (default 1,000,000). A full store refuses new keys rather than forget one. */
  max?: number;
  /** Clock in epoch milliseconds (default `Date.now`); injected by tests. */
  now?: () => number;
}

/** The in-memory replay store: synchronous `add`. */
export interface MemoryReplayStore extends ReplayStore {
  /** Synchronous: true on first use, false on a replay; throws {@link StoreUnavailableError} when full. */
  add(key: string, ttl: number): boolean;
  /** Keys currently held (expired keys not yet dropped included). */
  readonly size: number;
}

const DEFAULT_MAX = 1_000_000;

/**
 * Creates a bounded in-memory {@link ReplayStore} for a single process.
 *
 * Keys expire after their `ttl`. Expired keys are dropped in whole-second buckets on each
 * `add` (amortised O(1), no timer, so nothing keeps the process alive). When the store holds
 * `max` unexpired keys, `add` of a new key throws {@link StoreUnavailableError} — fail closed
 * (the API answers 503) — because forgetting an unexpired key would let its replay through.
 * A fleet of several processes needs a shared store (`createRedisReplayStore`).
 *
 * @example
 * ```ts
 * const store = createMemoryReplayStore({ max: 100_000 });
 * store.add('proof-jti', 70); // true
 * store.add('proof-jti', 70); // false: replayed
 * ```
 */
export function createMemoryReplayStore(options: MemoryReplayStoreOptions = {}): MemoryReplayStore {
  const max = options.max ?? DEFAULT_MAX;
  if (!Number.isSafeInteger(max) || max < 1) throw new TypeError('max must be a positive integer');
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('now must be a function returning epoch milliseconds');

  /** key → expiry (epoch ms). */
  const expiries = new Map<string, number>();
  /** Expiry second → keys that expire within it; a key re-added later may still be listed in an old bucket. */
  const buckets = new Map<number, string[]>();
  /** Every bucket up to this second (exclusive) has been dropped. */
  let sweptUntil = -Infinity;
  /** Clock reading of the last full-store check, so a flood of adds while full does not rescan. */
  let lastFullCheck = NaN;

  function dropBucket(second: number, keys: string[]): void {
    buckets.delete(second);
    for (const key of keys) {
      const expiry = expiries.get(key);
      // A key re-added after expiry lives in a later bucket: keep it.
      if (expiry !== undefined && bucketOf(expiry) === second) expiries.delete(key);
    }
  }

  /** Drops every bucket whose keys have all expired. Cost: min(elapsed seconds, buckets) plus the keys dropped. */
  function sweep(nowMs: number): void {
    // Bucket s holds expiries up to s*1000, so every bucket s <= floor(now / 1000) has expired.
    const limit = Math.floor(nowMs / 1000) + 1;
    if (limit <= sweptUntil) return;
    if (limit - sweptUntil <= buckets.size) {
      for (let second = sweptUntil; second < limit; second++) {
        const keys = buckets.get(second);
        if (keys !== undefined) dropBucket(second, keys);
      }
    } else {
      for (const [second, keys] of buckets) if (second < limit) dropBucket(second, keys);
    }
    sweptUntil = limit;
  }

  /** When full, the bucket still running may hold keys that expired this very second: drop them. */
  function dropExpiredInRunningBucket(nowMs: number): void {
    if (nowMs === lastFullCheck) return;
    lastFullCheck = nowMs;
    const second = bucketOf(nowMs);
    const keys = buckets.get(second);
    if (keys === undefined) return;
    const kept = keys.filter((key) => {
      const expiry = expiries.get(key);
      if (expiry === undefined || bucketOf(expiry) !== second) return false;
      if (expiry > nowMs) return true;
      expiries.delete(key);
      return false;
    });
    buckets.set(second, kept);
  }

  return {
    add(key: string, ttl: number): boolean {
      if (typeof key !== 'string' || key.length === 0) throw new TypeError('key must be a non-empty string');
      if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
        throw new TypeError('ttl must be a positive number of seconds');
      }
      const nowMs = now();
      sweep(nowMs);
      const expiry = expiries.get(key);
      if (expiry !== undefined && expiry > nowMs) return false;
      if (expiry === undefined && expiries.size >= max) dropExpiredInRunningBucket(nowMs);
      if (expiry === undefined && expiries.size >= max) {
        throw new StoreUnavailableError('the replay store is full of unexpired entries');
      }
      const newExpiry = nowMs + ttl * 1000;
      expiries.set(key, newExpiry);
      const second = bucketOf(newExpiry);
      const bucket = buckets.get(second);
      if (bucket === undefined) buckets.set(second, [key]);
      else bucket.push(key);
      return true;
    },
    get size() {
      return expiries.size;
    },
  };
}

/** The bucket an expiry belongs to: once this second has passed, every key in it has expired. */
function bucketOf(expiryMs: number): number {
  // Bucket s holds expiries in (s*1000 - 1000, s*1000]; a key is expired once now >= expiry.
  return Math.ceil(expiryMs / 1000);
}
