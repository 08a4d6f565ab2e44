/**
 * A revocation list shared by a fleet through Redis: every instance holds the whole list in
 * memory (checks stay synchronous) and follows changes on a pub/sub channel.
 *
 * @module
 */
import { StoreUnavailableError } from '../errors.js';
import type {
  RevocationEntry,
  RevocationEntryIdentity,
  RevocationRecord,
  RevokeClientOptions,
  RevokeOptions,
} from '../revocation-entry.js';
import { buildEntry, parseRecord, removalId } from '../revocation-entry.js';
import { entryRecord, RevocationIndex, tombstoneRecord } from '../revocation-index.js';
import type { RevocationList } from '../revocation-list.js';
import type { RedisClientLike, RedisSubscription } from './client.js';
import { adaptRedisClient, withTimeout } from './client.js';
import { LOAD_RECORDS, PUT_RECORD } from './scripts.js';

/** Options of {@link createRedisRevocationList}. */
export interface RedisRevocationListOptions {
  /** Prefix of the Redis keys (default `'express-m2m:revocations:'`); the list is the hash `prefix + 'entries'`. */
  prefix?: string;
  /** Pub/sub channel of changes (default `prefix + 'changes'`). */
  channel?: string;
  /** Seconds to wait for each Redis command before failing (default 2). */
  timeout?: number;
  /**
   * Seconds between full loads of the list (default 30; 0 turns them off). A safety net for a
   * subscription that died silently — an idle connection dropped by a NAT or firewall, which
   * neither end notices — so that such an instance misses a change for at most this long.
   */
  resyncInterval?: number;
  /** Called when a merge with Redis failed (it is retried); for logs and alerts. A hook that throws is ignored. */
  onError?: (error: StoreUnavailableError) => void;
  /** Clock in epoch milliseconds (default `Date.now`); every instance's clock orders concurrent changes. */
  now?: () => number;
}

/** A {@link RevocationList} kept in Redis: writes return promises; checks stay local and synchronous. */
export interface RedisRevocationList extends RevocationList {
  /** Subscribes to changes and loads the list from Redis (merging in what this instance knows); waits up to `timeout` for a client still connecting. */
  ready(): Promise<void>;
  revokeClient(clientId: string, options?: RevokeClientOptions): Promise<RevocationEntry>;
  revokeToken(jti: string, options?: RevokeOptions): Promise<RevocationEntry>;
  revokeKey(kid: string, options?: RevokeOptions): Promise<RevocationEntry>;
  remove(entry: RevocationEntryIdentity): Promise<boolean>;
  /** Unsubscribes and stops merging. The application's Redis client is left open. */
  close(): Promise<void>;
}

/** A published record is small; anything larger on the channel is not ours. */
const MAX_MESSAGE_LENGTH = 16_384;
const MAX_WRITE_ATTEMPTS = 3;
const RETRY_DELAYS_MS = [100, 250, 500, 1000, 2000, 5000];

/**
 * Creates a revocation list shared through Redis. Call `await list.ready()` at startup.
 *
 * - Every instance holds the whole list and checks it locally (`isRevoked` is synchronous),
 *   and applies the changes other instances publish within milliseconds.
 * - `revoke*` and `remove` write to Redis first (they reject with StoreUnavailableError while
 *   Redis is unreachable), then apply locally.
 * - On each (re)connection the instance merges both ways: records in Redis are loaded, and
 *   unexpired records it holds that Redis lacks — after a Redis restart without
 *   persistence — are written back. A removal is kept as a tombstone until the removed
 *   entry would have expired, so a merge never brings it back.
 * - Every `resyncInterval` seconds (default 30) it loads the list again, so a change missed
 *   on a subscription that died without either end noticing is applied all the same.
 * - While Redis is down, the last known list keeps applying.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { createRedisRevocationList } from 'express-m2m/redis';
 * const redis = await createClient({ url: process.env.REDIS_URL }).on('error', log).connect();
 * const revocations = createRedisRevocationList(redis);
 * await revocations.ready();
 * app.use(requireM2M({ ...options, revocations }));
 * await revocations.revokeClient('billing-service'); // refused by every instance
 * ```
 */
export function createRedisRevocationList(
  redis: RedisClientLike,
  options: RedisRevocationListOptions = {},
): RedisRevocationList {
  const adapter = adaptRedisClient(redis);
  const { prefix = 'express-m2m:revocations:', timeout = 2, resyncInterval = 30, onError, now = Date.now } = options;
  const channel = options.channel ?? `${prefix}changes`;
  if (typeof prefix !== 'string') throw new TypeError('prefix must be a string');
  if (typeof channel !== 'string' || channel.length === 0) throw new TypeError('channel must be a non-empty string');
  if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout)) {
    throw new TypeError('timeout must be a positive number of seconds');
  }
  if (typeof resyncInterval !== 'number' || !(resyncInterval >= 0) || !Number.isFinite(resyncInterval)) {
    throw new TypeError('resyncInterval must be a number of seconds (0 turns it off)');
  }
  if (typeof now !== 'function') throw new TypeError('now must be a function returning epoch milliseconds');
  if (onError !== undefined && typeof onError !== 'function') throw new TypeError('onError must be a function');
  const hash = `${prefix}entries`;
  const index = new RevocationIndex();

  let subscription: RedisSubscription | undefined;
  let closed = false;
  let closing = Promise.resolve();
  let merging: Promise<void> | undefined;
  let mergeAgain = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let resyncTimer: NodeJS.Timeout | undefined;
  let failedMerges = 0;

  async function send(args: string[], what: string): Promise<unknown> {
    if (!adapter.isReady()) throw new StoreUnavailableError('Redis is not connected');
    return withTimeout(adapter.command(args), timeout, what);
  }

  /** Writes `record` unless Redis holds a newer version; true when written. */
  async function put(record: RevocationRecord): Promise<boolean> {
    const json = JSON.stringify(record);
    const args = ['EVAL', PUT_RECORD, '1', hash, record.id, json, String(record.at), channel, String(now() / 1000)];
    return (await send(args, 'a revocation write')) === 1;
  }

  /** Loads the records held in Redis (dropping expired ones there) and applies the newer ones here. */
  async function load(): Promise<Map<string, RevocationRecord>> {
    const nowMs = now();
    const reply = await send(['EVAL', LOAD_RECORDS, '1', hash, String(nowMs / 1000)], 'the revocation list load');
    if (!Array.isArray(reply)) throw new StoreUnavailableError('Redis gave an unexpected reply to the list load');
    const remote = new Map<string, RevocationRecord>();
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const field: unknown = reply[i];
      const value: unknown = reply[i + 1];
      const record = typeof value === 'string' ? parseRecord(value) : undefined;
      if (record === undefined || record.id !== field) continue;
      remote.set(record.id, record);
      index.apply(record, nowMs / 1000);
    }
    return remote;
  }

  /** Merges both ways: loads Redis, then writes back what this instance holds and Redis lacks. */
  async function mergeOnce(): Promise<void> {
    const remote = await load();
    for (const record of index.unexpiredRecords(now() / 1000)) {
      const held = remote.get(record.id);
      if (held === undefined || held.at < record.at) await put(record);
    }
  }

  /** Runs one merge at a time; a request during a merge runs another one after it. */
  function merge(): Promise<void> {
    if (closed) return Promise.resolve();
    if (merging !== undefined) {
      mergeAgain = true;
      return merging;
    }
    clearTimeout(retryTimer);
    merging = (async () => {
      try {
        do {
          mergeAgain = false;
          await mergeOnce();
        } while (mergeAgain && !closed);
        failedMerges = 0;
      } catch (error) {
        scheduleRetry();
        throw report(error, 'merge failed');
      } finally {
        merging = undefined;
      }
    })();
    return merging;
  }

  /** Tells the operator's hook that the list is out of sync with Redis; returns the error to throw. */
  function report(error: unknown, what: string): StoreUnavailableError {
    const unavailable =
      error instanceof StoreUnavailableError ? error : new StoreUnavailableError(what, { cause: error });
    try {
      onError?.(unavailable);
    } catch {
      // A failing hook must not stop the retries.
    }
    return unavailable;
  }

  function scheduleRetry(): void {
    if (closed) return;
    const delay = RETRY_DELAYS_MS[Math.min(failedMerges++, RETRY_DELAYS_MS.length - 1)] as number;
    retryTimer = setTimeout(() => merge().catch(() => {}), delay);
    retryTimer.unref();
  }

  function onMessage(message: string): void {
    if (message.length > MAX_MESSAGE_LENGTH) return;
    const record = parseRecord(message);
    if (record !== undefined) index.apply(record, now() / 1000);
  }

  const stopListening = adapter.onReady(() => merge().catch(() => {}));

  /**
   * Resolves once the application's client is ready. At startup it may still be connecting
   * (an ioredis client connects by itself after `new Redis()`), and the first load must not
   * fail for that alone; rejects after `timeout`.
   */
  function connected(): Promise<void> {
    if (adapter.isReady()) return Promise.resolve();
    let stop = () => {};
    const ready = new Promise<void>((resolve) => {
      stop = adapter.onReady(resolve);
    });
    return withTimeout(ready, timeout, 'the connection').finally(() => stop());
  }

  /** Writes a change to Redis, then applies it here. A newer version in Redis is loaded and the change retried on top. */
  async function write(makeRecord: () => RevocationRecord | undefined): Promise<RevocationRecord | undefined> {
    if (closed) throw new StoreUnavailableError('the revocation list is closed');
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const record = makeRecord();
      if (record === undefined) return undefined;
      if (await put(record)) {
        index.apply(record, now() / 1000);
        return record;
      }
      await load();
    }
    throw new StoreUnavailableError('the revocation list kept changing during the write');
  }

  async function revoke(type: RevocationEntry['type'], subject: string, revokeOptions?: RevokeClientOptions) {
    const entry = buildEntry(type, subject, revokeOptions, now());
    const record = await write(() => entryRecord(index, entry, now()));
    return record?.entry as RevocationEntry;
  }

  return {
    isRevoked: (token, nowSeconds) => index.isRevoked(token, nowSeconds),
    list: () => index.entries(now() / 1000),
    revokeClient: (clientId, revokeOptions) => revoke('client', clientId, revokeOptions),
    revokeToken: (jti, revokeOptions) => revoke('token', jti, revokeOptions),
    revokeKey: (kid, revokeOptions) => revoke('key', kid, revokeOptions),
    async remove(entry) {
      const id = removalId(entry);
      return (await write(() => tombstoneRecord(index, id, now()))) !== undefined;
    },
    async ready() {
      if (closed) throw new StoreUnavailableError('the revocation list is closed');
      subscription ??= adapter.subscribe(channel, { onMessage, onReady: () => void merge().catch(() => {}) });
      if (resyncInterval > 0 && resyncTimer === undefined) {
        resyncTimer = setInterval(() => merge().catch(() => {}), resyncInterval * 1000);
        resyncTimer.unref();
      }
      try {
        await withTimeout(subscription.subscribed, timeout, 'SUBSCRIBE');
        await connected();
      } catch (error) {
        throw report(error, 'Redis is not connected');
      }
      await merge();
    },
    close() {
      if (!closed) {
        closed = true;
        clearTimeout(retryTimer);
        clearInterval(resyncTimer);
        stopListening();
        closing = subscription?.close() ?? Promise.resolve();
      }
      return closing;
    },
  };
}
