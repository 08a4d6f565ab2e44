// What every fleet child process (test/fleet/fixtures, test/stores/fixtures) shares: dying with
// its parent, a clock comparable across processes, and a Redis connection of either client kind.
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createClient } from 'redis';

/** Exits when the parent goes away: a child must never outlive it. */
export function exitWithParent() {
  process.on('disconnect', () => process.exit(0));
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export const preciseNow = () => performance.timeOrigin + performance.now();

/**
 * A connected Redis client on 127.0.0.1:`port`: `ioredis` or node-redis (`kind`), retrying every
 * 50 ms while Redis is down, errors silenced (the stores report them).
 */
export async function connectRedis(kind, port) {
  const client =
    kind === 'ioredis'
      ? new Redis(Number(port), '127.0.0.1', { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 1 })
      : createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: () => 50 } });
  client.on('error', () => {});
  await client.connect();
  return client;
}
