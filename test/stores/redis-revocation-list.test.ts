import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisRevocationList } from '../../src/redis.js';
import type { RedisRevocationList } from '../../src/redis.js';
import { StoreUnavailableError } from '../../src/stores/errors.js';
import type { RevocationCheck } from '../../src/stores/revocation-list.js';
import { CLIENT_KINDS, connectClient, startRedis, startTcpProxy, waitFor } from '../helpers/redis.js';
import type { ClientKind, RedisServer, TcpProxy, TestClient } from '../helpers/redis.js';

let server: RedisServer;
const cleanups: (() => Promise<void>)[] = [];
const HASH = 'express-m2m:revocations:entries';

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  if (!server.running) await server.start();
  const admin = await connectClient('ioredis', server.port);
  await admin.command('FLUSHALL');
  await admin.close();
});
afterAll(async () => {
  await server.stop();
});

const nowSeconds = () => Date.now() / 1000;
function token(overrides: Partial<RevocationCheck> = {}): RevocationCheck {
  return {
    issuer: 'https://issuer.example.com/',
    clientId: 'billing',
    iat: 1000,
    jti: 'jti-1',
    keyId: 'k1',
    ...overrides,
  };
}

async function client(kind: ClientKind, port = server.port): Promise<TestClient> {
  const connected = await connectClient(kind, port);
  cleanups.push(() => connected.close());
  return connected;
}

/** A ready list on its own client (through `proxy` when given). */
async function instance(kind: ClientKind, proxy?: TcpProxy): Promise<RedisRevocationList> {
  const connected = await client(kind, proxy?.port);
  const list = createRedisRevocationList(connected.client, { timeout: 1 });
  cleanups.push(() => list.close());
  await list.ready();
  return list;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe.each(CLIENT_KINDS)('createRedisRevocationList with %s', (kind) => {
  it('applies a revocation made by one instance on another within milliseconds, and its removal', async () => {
    const [a, b] = [await instance(kind), await instance(kind)];
    const started = Date.now();
    const entry = await a.revokeClient('billing');
    expect(a.isRevoked(token(), nowSeconds())).toBe(true);
    await waitFor(() => b.isRevoked(token(), nowSeconds()), 'the revocation to reach B', 500, 1);
    expect(Date.now() - started).toBeLessThan(500);
    expect(b.list()).toEqual([entry]);
    await expect(b.remove(entry)).resolves.toBe(true);
    await waitFor(() => !a.isRevoked(token(), nowSeconds()), 'the removal to reach A', 500, 1);
    await expect(a.remove(entry)).resolves.toBe(false);
  });

  it('ready() loads the list already in Redis', async () => {
    const a = await instance(kind);
    await a.revokeKey('k1', { issuer: 'https://issuer.example.com/' });
    await a.revokeToken('jti-9');
    const late = await instance(kind);
    expect(late.isRevoked(token(), nowSeconds())).toBe(true);
    expect(late.isRevoked(token({ keyId: 'k2', jti: 'jti-9' }), nowSeconds())).toBe(true);
    expect(late.list()).toHaveLength(2);
  });

  it('close() unsubscribes', async () => {
    const admin = await client(kind);
    const a = await instance(kind);
    const channel = 'express-m2m:revocations:changes';
    expect(await admin.command('PUBSUB', 'NUMSUB', channel)).toEqual([channel, 1]);
    await a.close();
    await waitFor(
      async () => JSON.stringify(await admin.command('PUBSUB', 'NUMSUB', channel)) === JSON.stringify([channel, 0]),
      'the subscription to end',
    );
    await expect(a.revokeClient('billing')).rejects.toThrow(StoreUnavailableError);
  });

  it('while Redis is down, keeps applying the last known list and rejects changes; recovers when it is back', async () => {
    const [a, b] = [await instance(kind), await instance(kind)];
    const entry = await a.revokeClient('billing');
    await waitFor(() => b.isRevoked(token(), nowSeconds()), 'the revocation to reach B', 500, 1);
    await server.stop();
    expect(b.isRevoked(token(), nowSeconds())).toBe(true);
    expect(a.isRevoked(token(), nowSeconds())).toBe(true);
    expect(await rejection(a.revokeToken('jti-2'))).toBeInstanceOf(StoreUnavailableError);
    expect(await rejection(b.remove(entry))).toBeInstanceOf(StoreUnavailableError);
    expect(a.isRevoked(token({ clientId: 'other', jti: 'jti-2' }), nowSeconds())).toBe(false);

    // Redis comes back empty (no persistence): the instances write the list back.
    await server.start();
    const admin = await client(kind);
    await waitFor(
      async () => Number(await admin.command('HLEN', HASH)) === 1,
      'the list to be written back',
      10_000,
      20,
    );
    const late = await instance(kind);
    expect(late.isRevoked(token(), nowSeconds())).toBe(true);
    // And changes flow again between the instances that lived through the outage.
    await waitFor(
      () =>
        a.revokeToken('jti-3').then(
          () => true,
          () => false,
        ),
      'a write to succeed once the client has reconnected',
      10_000,
      50,
    );
    await waitFor(() => b.isRevoked(token({ clientId: 'x', jti: 'jti-3' }), nowSeconds()), 'jti-3 to reach B', 5000, 1);
  });

  it('a removed entry does not come back when an instance that missed the removal meets a Redis restarted empty', async () => {
    const proxy = await startTcpProxy(server.port);
    cleanups.push(() => proxy.close());
    const a = await instance(kind);
    const stale = await instance(kind, proxy);
    const removed = await a.revokeClient('billing');
    const kept = await a.revokeKey('k7');
    await waitFor(() => stale.list().length === 2, 'both entries to reach the stale instance', 500, 1);

    proxy.cut(); // the stale instance is partitioned from Redis
    await expect(a.remove(removed)).resolves.toBe(true);
    await server.stop();
    await server.start(); // empty: no persistence
    const admin = await client(kind);
    await waitFor(
      async () => Number(await admin.command('HLEN', HASH)) === 2,
      'A to write back its entry and its tombstone',
      10_000,
      20,
    );
    expect(stale.isRevoked(token(), nowSeconds())).toBe(true); // it still holds its last known list

    proxy.restore(); // the stale instance reconnects and merges
    await waitFor(() => !stale.isRevoked(token({ keyId: 'k1' }), nowSeconds()), 'the removal to reach it', 10_000, 5);
    expect(stale.isRevoked(token({ clientId: 'x', keyId: 'k7' }), nowSeconds())).toBe(true);
    const late = await instance(kind);
    expect(late.list()).toEqual([kept]);
    expect(a.list()).toEqual([kept]);
  });

  it('a change made without having seen a newer version (a clock ahead elsewhere) is written on top of it', async () => {
    const ahead = createRedisRevocationList((await client(kind)).client, { now: () => Date.now() + 3_600_000 });
    cleanups.push(() => ahead.close());
    await ahead.ready();
    await ahead.revokeClient('billing', { issuedBefore: 500 });
    // This instance never loaded the list, so its first version is older than the one in Redis.
    const behind = createRedisRevocationList((await client(kind)).client);
    cleanups.push(() => behind.close());
    const entry = await behind.revokeClient('billing', { issuedBefore: 2000 });
    expect(behind.list()).toEqual([entry]);
    await waitFor(() => ahead.isRevoked(token({ iat: 1000 }), nowSeconds()), 'the later change to win', 1000, 1);
    expect(await (await instance(kind)).list()).toEqual([entry]);
  });

  it('ready() fails with StoreUnavailableError while Redis is down, and the list catches up once it is back', async () => {
    const a = await instance(kind);
    await a.revokeToken('jti-1');
    const connected = await client(kind);
    await server.stop();
    const late = createRedisRevocationList(connected.client, { timeout: 0.3 });
    cleanups.push(() => late.close());
    expect(await rejection(late.ready())).toBeInstanceOf(StoreUnavailableError);
    await server.start();
    // A writes its list back; the late instance subscribes and loads it on its own.
    await waitFor(() => late.isRevoked(token(), nowSeconds()), 'the late instance to load the list', 10_000, 10);
  });

  it('a merge that times out is reported to onError and retried', async () => {
    const errors: unknown[] = [];
    const list = createRedisRevocationList((await client(kind)).client, {
      timeout: 0.3,
      onError: (error) => errors.push(error),
    });
    cleanups.push(() => list.close());
    await list.ready();
    // A record this instance has not heard of (written without a publish), then a stalled Redis.
    const admin = await client(kind);
    const expiresAt = Math.floor(nowSeconds()) + 3600;
    const entry = { type: 'token', jti: 'jti-1', expiresAt, revokedAt: nowSeconds() };
    const id = JSON.stringify(['token', null, 'jti-1']);
    await admin.command('HSET', HASH, id, JSON.stringify({ id, at: Date.now(), expiresAt, entry }));
    await admin.command('CLIENT', 'PAUSE', '5000', 'WRITE');
    try {
      expect(await rejection(list.ready())).toBeInstanceOf(StoreUnavailableError);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(StoreUnavailableError);
      expect(list.isRevoked(token(), nowSeconds())).toBe(false);
    } finally {
      await admin.command('CLIENT', 'UNPAUSE');
    }
    await waitFor(() => list.isRevoked(token(), nowSeconds()), 'the retried merge', 5000, 5);
  });

  it('loads only well-formed records and ignores junk on the channel', async () => {
    const admin = await client(kind);
    await admin.command('HSET', 'express-m2m:revocations:entries', 'junk', '{"id":"junk"', 'x', '{"id":"x","at":1}');
    const a = await instance(kind);
    await admin.command('PUBLISH', 'express-m2m:revocations:changes', 'not json');
    await admin.command('PUBLISH', 'express-m2m:revocations:changes', JSON.stringify({ id: 'y', at: 1, expiresAt: 2 }));
    await a.revokeToken('jti-1');
    expect(a.list().map((entry) => entry.type)).toEqual(['token']);
  });

  it('rejects bad arguments with TypeError', async () => {
    const connected = await client(kind);
    expect(() => createRedisRevocationList(connected.client, { timeout: -1 })).toThrow(TypeError);
    expect(() => createRedisRevocationList(connected.client, { channel: '' })).toThrow(TypeError);
    const list = await instance(kind);
    await expect(list.revokeClient('')).rejects.toThrow(TypeError);
    await expect(list.revokeToken('j', { expiresAt: 1 })).rejects.toThrow(TypeError);
  });
});
