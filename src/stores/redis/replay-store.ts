/**
 * A replay store shared by every instance of a fleet through Redis.
 *
 * @module
 */
import { StoreUnavailableError } from '../errors.js';
import type { ReplayStore } from '../replay-store.js';
import type { RedisClientLike } from './client.js';
import { adaptRedisClient, withTimeout } from './client.js';

/** Options of {@link createRedisReplayStore}. */
export interface RedisReplayStoreOptions {
  /** Prefix of every key (default `'express-m2m:dpop:'`). */
  prefix?: string;
  /** Seconds to wait for Redis before failing closed (default 0.5). */
  timeout?: number;
}

/** A {@link ReplayStore} on Redis: `add` always returns a promise. */
export interface RedisReplayStore extends ReplayStore {
  /** Resolves true on first use, false on a replay; rejects with StoreUnavailableError when Redis cannot answer in time. */
  add(key: string, ttl: number): Promise<boolean>;
}

/**
 * Creates a {@link ReplayStore} on Redis (`SET prefix+key 1 NX EX ttl`), so a proof replayed
 * against any instance of the fleet is refused. Fails closed: a Redis error, a disconnected
 * client or a reply slower than `timeout` rejects with {@link StoreUnavailableError}, which the
 * verifier answers with 503. The TTL is rounded up to whole seconds.
 *
 * `redis` is a connected node-redis 4/5 client or an ioredis 5 instance; give it an `error`
 * listener (an unhandled client error would end the process).
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { createRedisReplayStore } from 'express-m2m/redis';
 * const redis = await createClient({ url: process.env.REDIS_URL }).on('error', log).connect();
 * app.use(requireM2M({ ...options, dpop: { replayStore: createRedisReplayStore(redis) } }));
 * ```
 */
export function createRedisReplayStore(
  redis: RedisClientLike,
  options: RedisReplayStoreOptions = {},
): RedisReplayStore {
  const adapter = adaptRedisClient(redis);
  const { prefix = 'express-m2m:dpop:', timeout = 0.5 } = options;
  if (typeof prefix !== 'string') throw new TypeError('prefix must be a string');
  if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout)) {
    throw new TypeError('timeout must be a positive number of seconds');
  }
  return {
    async add(key, ttl) {
      if (typeof key !== 'string' || key.length === 0) throw new TypeError('key must be a non-empty string');
      if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
        throw new TypeError('ttl must be a positive number of seconds');
      }
      // A disconnected client would queue the command until Redis is back: answer now instead.
      if (!adapter.isReady()) throw new StoreUnavailableError('Redis is not connected');
      const args = ['SET', prefix + key, '1', 'NX', 'EX', String(Math.ceil(ttl))];
      const reply = await withTimeout(adapter.command(args), timeout, 'SET NX');
      if (reply === 'OK') return true;
      if (reply === null) return false;
      throw new StoreUnavailableError('Redis gave an unexpected reply to SET NX');
    },
  };
}
