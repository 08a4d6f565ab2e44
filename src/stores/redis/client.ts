/**
 * One small interface over the two Redis clients in use: `redis` (node-redis 4/5) and
 * `ioredis` 5. The client is recognised by its shape; neither package is imported here, so
 * an application pays only for the client it already has.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { StoreUnavailableError } from '../errors.js';

/**
 * A connected Redis client: a node-redis 4/5 client (`createClient()`, after `connect()`) or
 * an ioredis 5 instance (`new Redis()`). Cluster clients are not supported.
 */
export type RedisClientLike = object;

/** A subscription on its own connection, duplicated from the application's client. */
export interface RedisSubscription {
  /**
   * Settles once subscribed the first time. While Redis is unreachable it stays pending (the
   * client keeps reconnecting in the background): race it with a timeout.
   */
  readonly subscribed: Promise<void>;
  /** Unsubscribes and closes the duplicated connection, also while it is still connecting. */
  close(): Promise<void>;
}

/** Callbacks of {@link RedisAdapter.subscribe}. */
export interface SubscriptionHandlers {
  onMessage(message: string): void;
  /** Subscribed, or the subscriber connection is ready again: messages may have been missed meanwhile. */
  onReady(): void;
}

/** What the stores need from a Redis client. */
export interface RedisAdapter {
  readonly kind: 'node-redis' | 'ioredis';
  /** True when the client is connected and would send a command now rather than queue it. */
  isReady(): boolean;
  /** Sends one command (`['SET', key, value]`) and resolves with the raw reply. */
  command(args: readonly string[]): Promise<unknown>;
  /** Calls `listener` each time the application's client becomes ready; returns a function that stops it. */
  onReady(listener: () => void): () => void;
  /** Subscribes to `channel` on a duplicated connection; see {@link RedisSubscription.subscribed}. */
  subscribe(channel: string, handlers: SubscriptionHandlers): RedisSubscription;
}

interface NodeRedisClient extends EventEmitter {
  isReady: boolean;
  isOpen: boolean;
  sendCommand(args: string[]): Promise<unknown>;
  duplicate(): NodeRedisClient;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  destroy?(): void;
  disconnect(): Promise<void>;
}

interface IORedisClient extends EventEmitter {
  status: string;
  call(command: string, ...args: string[]): Promise<unknown>;
  duplicate(): IORedisClient;
  connect(): Promise<void>;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  disconnect(): void;
}

/**
 * Wraps a node-redis or ioredis client. Throws TypeError for anything else.
 *
 * @example
 * ```ts
 * const adapter = adaptRedisClient(client);
 * await adapter.command(['SET', 'k', '1', 'NX', 'EX', '60']);
 * ```
 */
export function adaptRedisClient(client: unknown): RedisAdapter {
  if (isIORedis(client)) return adaptIORedis(client);
  if (isNodeRedis(client)) return adaptNodeRedis(client);
  throw new TypeError('expected a node-redis 4/5 client (createClient()) or an ioredis 5 instance (new Redis())');
}

/** Rejects with {@link StoreUnavailableError} when `promise` takes longer than `seconds`; never keeps the process alive. */
export function withTimeout<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new StoreUnavailableError(`Redis did not answer ${what} within ${seconds} s`)),
      seconds * 1000,
    );
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(
          error instanceof StoreUnavailableError
            ? error
            : new StoreUnavailableError(`Redis ${what} failed`, { cause: error }),
        );
      },
    );
  });
}

function isEmitter(value: unknown): value is EventEmitter {
  return typeof value === 'object' && value !== null && typeof (value as EventEmitter).on === 'function';
}

function isIORedis(value: unknown): value is IORedisClient {
  if (!isEmitter(value)) return false;
  const client = value as unknown as Partial<IORedisClient>;
  return (
    typeof client.call === 'function' && typeof client.duplicate === 'function' && typeof client.status === 'string'
  );
}

function isNodeRedis(value: unknown): value is NodeRedisClient {
  if (!isEmitter(value)) return false;
  const client = value as unknown as Partial<NodeRedisClient>;
  return (
    typeof client.sendCommand === 'function' &&
    typeof client.duplicate === 'function' &&
    typeof client.isReady === 'boolean'
  );
}

/** Delay before trying to subscribe again after a failure (Redis unreachable). */
const RESUBSCRIBE_DELAY_MS = 250;

/**
 * Runs `attempt` until it succeeds, waiting between failures, so that a subscription made
 * while Redis is down still happens once it is back. Rejects only when closed first.
 */
function retryUntilDone(attempt: () => Promise<void>, isClosed: () => boolean): Promise<void> {
  const done = new Promise<void>((resolve, reject) => {
    const run = () => {
      if (isClosed()) {
        reject(new StoreUnavailableError('the subscription was closed'));
        return;
      }
      attempt().then(resolve, () => setTimeout(run, RESUBSCRIBE_DELAY_MS).unref());
    };
    run();
  });
  done.catch(() => {});
  return done;
}

function listenReady(client: EventEmitter, listener: () => void): () => void {
  client.on('ready', listener);
  return () => client.off('ready', listener);
}

function adaptNodeRedis(client: NodeRedisClient): RedisAdapter {
  return {
    kind: 'node-redis',
    isReady: () => client.isReady,
    command: (args) => client.sendCommand([...args]),
    onReady: (listener) => listenReady(client, listener),
    subscribe(channel, handlers) {
      const subscriber = client.duplicate();
      // Errors surface through the stores' own results; without a listener one would crash the process.
      subscriber.on('error', () => {});
      subscriber.on('ready', () => handlers.onReady());
      let closed = false;
      const subscribed = retryUntilDone(
        async () => {
          // Once open, the client reconnects by itself and queues the SUBSCRIBE until it is ready.
          if (!subscriber.isOpen) await subscriber.connect();
          await subscriber.subscribe(channel, (message) => handlers.onMessage(message));
          handlers.onReady();
        },
        () => closed,
      );
      return {
        subscribed,
        async close() {
          if (closed) return;
          closed = true;
          if (subscriber.isReady) await withTimeout(subscriber.unsubscribe(channel), 1, 'UNSUBSCRIBE').catch(() => {});
          try {
            if (typeof subscriber.destroy === 'function') subscriber.destroy();
            else await subscriber.disconnect();
          } catch {
            // Already closed.
          }
        },
      };
    },
  };
}

function adaptIORedis(client: IORedisClient): RedisAdapter {
  return {
    kind: 'ioredis',
    isReady: () => client.status === 'ready',
    command: ([name, ...args]) => client.call(name as string, ...args),
    onReady: (listener) => listenReady(client, listener),
    subscribe(channel, handlers) {
      const subscriber = client.duplicate();
      subscriber.on('error', () => {});
      subscriber.on('ready', () => handlers.onReady());
      subscriber.on('message', (from: string, message: string) => {
        if (from === channel) handlers.onMessage(message);
      });
      let closed = false;
      const subscribed = retryUntilDone(
        async () => {
          // After a failed first connect the client keeps reconnecting by itself.
          if (subscriber.status === 'wait') await subscriber.connect();
          await subscriber.subscribe(channel);
          handlers.onReady();
        },
        () => closed,
      );
      return {
        subscribed,
        async close() {
          if (closed) return;
          closed = true;
          if (subscriber.status === 'ready')
            await withTimeout(subscriber.unsubscribe(channel), 1, 'UNSUBSCRIBE').catch(() => {});
          subscriber.disconnect();
        },
      };
    },
  };
}
