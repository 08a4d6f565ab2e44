/**
 * An API instance starting up: the application's Redis client may still be connecting when
 * the revocation list is asked to load (an ioredis client connects by itself after
 * `new Redis()`). `ready()` waits for it rather than failing the start.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { createRedisRevocationList } from '../../src/redis.js';
import { CLIENT_KINDS, connectClient, startRedis, waitFor } from '../helpers/redis.js';
import type { ClientKind, RedisServer, TestClient } from '../helpers/redis.js';

const CHANNEL = 'express-m2m:revocations:changes';

let redis: RedisServer;
let admin: TestClient;

beforeAll(async () => {
  redis = await startRedis();
  admin = await connectClient('ioredis', redis.port);
});
afterAll(async () => {
  await admin?.close();
  await redis?.stop();
});

/** A client of `kind` that has not connected yet, and how to connect and close it. */
function unconnectedClient(kind: ClientKind) {
  if (kind === 'ioredis') {
    const client = new Redis(redis.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    return { client, connect: () => client.connect(), close: async () => client.disconnect() };
  }
  const client = createClient({ url: redis.url });
  client.on('error', () => {});
  return {
    client,
    connect: async () => void (await client.connect()),
    close: async () => {
      if (client.isOpen) client.destroy();
    },
  };
}

describe.each(CLIENT_KINDS)('revocation list start-up with %s', (kind) => {
  it('ready() waits for a client that connects only after the subscription is in place', async () => {
    const { client, connect, close } = unconnectedClient(kind);
    const list = createRedisRevocationList(client);
    try {
      const ready = list.ready();
      const outcome = ready.then(
        () => 'ready',
        (error: Error) => `failed: ${error.message}`,
      );
      // The list subscribes on a connection of its own; the application's client connects after that.
      const subscribed = async () => ((await admin.command('PUBSUB', 'NUMSUB', CHANNEL)) as [string, number])[1] === 1;
      await waitFor(subscribed, 'the list to subscribe', 5000, 5);
      await connect();
      await expect(outcome).resolves.toBe('ready');
      // It works: a revocation is written and read back.
      await list.revokeClient('late-start');
      expect(list.list()).toEqual([expect.objectContaining({ type: 'client', clientId: 'late-start' })]);
    } finally {
      await list.close();
      await close();
      await admin.command('FLUSHALL');
    }
  });

  it('ready() still fails (closed) when the client never connects', async () => {
    const { client, close } = unconnectedClient(kind);
    const list = createRedisRevocationList(client, { timeout: 0.3 });
    try {
      await expect(list.ready()).rejects.toMatchObject({ name: 'StoreUnavailableError' });
    } finally {
      await list.close();
      await close();
    }
  });
});

describe('resyncInterval', () => {
  it('is a number of seconds, 0 turning the periodic load off', async () => {
    const { client, close } = unconnectedClient('ioredis');
    try {
      for (const resyncInterval of [-1, Number.NaN, Number.POSITIVE_INFINITY, '30'] as unknown as number[]) {
        expect(() => createRedisRevocationList(client, { resyncInterval })).toThrow(
          new TypeError('resyncInterval must be a number of seconds (0 turns it off)'),
        );
      }
      expect(() => createRedisRevocationList(client, { resyncInterval: 0 })).not.toThrow();
    } finally {
      await close();
    }
  });
});
