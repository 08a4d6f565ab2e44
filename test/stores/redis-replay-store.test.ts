import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisReplayStore } from '../../src/redis.js';
import { StoreUnavailableError } from '../../src/stores/errors.js';
import { adaptRedisClient } from '../../src/stores/redis/client.js';
import { CLIENT_KINDS, connectClient, startRedis, waitFor } from '../helpers/redis.js';
import type { RedisServer, TestClient } from '../helpers/redis.js';

let server: RedisServer;
const clients: TestClient[] = [];

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  if (!server.running) await server.start(); // a test that stopped Redis must not break the next one
});
afterAll(async () => {
  await server.stop();
});

async function connect(kind: (typeof CLIENT_KINDS)[number]): Promise<TestClient> {
  const client = await connectClient(kind, server.port);
  clients.push(client);
  return client;
}

/** Runs `promise` and returns what it rejected with, or fails when it resolved. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe.each(CLIENT_KINDS)('createRedisReplayStore with %s', (kind) => {
  it('records a key once, refuses it from any instance, and stores it with its ttl', async () => {
    const [a, b, admin] = [await connect(kind), await connect(kind), await connect(kind)];
    const storeA = createRedisReplayStore(a.client);
    const storeB = createRedisReplayStore(b.client);
    const key = `jti-${kind}-${Date.now()}`;
    await expect(storeA.add(key, 70)).resolves.toBe(true);
    await expect(storeA.add(key, 70)).resolves.toBe(false);
    await expect(storeB.add(key, 70)).resolves.toBe(false);
    const ttl = Number(await admin.command('TTL', `express-m2m:dpop:${key}`));
    expect(ttl).toBeGreaterThan(65);
    expect(ttl).toBeLessThanOrEqual(70);
    // A fractional ttl is rounded up, never down to 0.
    const short = createRedisReplayStore(a.client, { prefix: 'other:' });
    await expect(short.add(key, 0.3)).resolves.toBe(true);
    expect(Number(await admin.command('TTL', `other:${key}`))).toBe(1);
  });

  it('fails closed with StoreUnavailableError when Redis answers slower than timeout', async () => {
    const [client, admin] = [await connect(kind), await connect(kind)];
    const store = createRedisReplayStore(client.client, { timeout: 0.2 });
    // Writes stall on the server (a real slow Redis); the admin connection can still unpause it.
    await admin.command('CLIENT', 'PAUSE', '5000', 'WRITE');
    const started = Date.now();
    const error = await rejection(store.add(`slow-${kind}`, 60));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).reason).toBe('store_unavailable');
    expect(Date.now() - started).toBeLessThan(1000);
    await admin.command('CLIENT', 'UNPAUSE');
  });

  it('fails closed while Redis is down, and recovers when it is back without a restart of the app', async () => {
    const client = await connect(kind);
    const store = createRedisReplayStore(client.client);
    await server.stop();
    const started = Date.now();
    const error = await rejection(store.add(`down-${kind}`, 60));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(1000);
    await server.start();
    await waitFor(() => adaptRedisClient(client.client).isReady(), 'the client to reconnect', 10_000);
    await expect(store.add(`down-${kind}`, 60)).resolves.toBe(true);
    await expect(store.add(`down-${kind}`, 60)).resolves.toBe(false);
  });

  it('rejects bad arguments with TypeError', async () => {
    const client = await connect(kind);
    const store = createRedisReplayStore(client.client);
    await expect(store.add('', 60)).rejects.toThrow(TypeError);
    await expect(store.add('k', 0)).rejects.toThrow(TypeError);
    await expect(store.add('k', Number.POSITIVE_INFINITY)).rejects.toThrow(TypeError);
    expect(() => createRedisReplayStore(client.client, { timeout: 0 })).toThrow(TypeError);
    expect(() => createRedisReplayStore(client.client, { prefix: 5 as unknown as string })).toThrow(TypeError);
  });
});

describe('Redis client detection', () => {
  it.each([
    ['null', null],
    ['a plain object', {}],
    ['an object with get/set only', { get: () => null, set: () => 'OK', on: () => undefined }],
  ])('refuses %s with TypeError', (_name, value) => {
    expect(() => createRedisReplayStore(value as object)).toThrow(TypeError);
  });

  it.each(CLIENT_KINDS)('recognises %s', async (kind) => {
    const client = await connect(kind);
    expect(adaptRedisClient(client.client).kind).toBe(kind);
  });
});
