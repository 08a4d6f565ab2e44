/**
 * `express-m2m/redis`: state shared by a fleet of API instances through Redis — a DPoP
 * replay store and a revocation list. Works with `redis` (node-redis 4/5) and `ioredis` 5,
 * whichever the application already uses; neither is imported by this package.
 *
 * @module
 */
export { createRedisReplayStore } from './stores/redis/replay-store.js';
export type { RedisReplayStore, RedisReplayStoreOptions } from './stores/redis/replay-store.js';
export { createRedisRevocationList } from './stores/redis/revocation-list.js';
export type { RedisRevocationList, RedisRevocationListOptions } from './stores/redis/revocation-list.js';
export type { RedisClientLike } from './stores/redis/client.js';
export { StoreUnavailableError } from './stores/errors.js';
