/**
 * Two API processes sharing one real redis-server: what one instance records or revokes,
 * the other applies; Redis going down and coming back (empty) is survived without
 * restarting the processes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkRpc } from '../helpers/child-rpc.js';
import { buildStores } from '../helpers/dist.js';
import { CLIENT_KINDS, connectClient, startRedis, waitFor } from '../helpers/redis.js';
import type { ClientKind, RedisServer } from '../helpers/redis.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/fleet-instance.mjs');
const CALL_TIMEOUT_MS = 10_000;
const HASH = 'express-m2m:revocations:entries';

interface Instance {
  call<T = unknown>(op: string, ...args: unknown[]): Promise<T>;
  kill(): Promise<void>;
}

let buildDir: string;
let server: RedisServer;
const instances: Instance[] = [];

beforeAll(async () => {
  [buildDir, server] = await Promise.all([buildStores(), startRedis()]);
}, 120_000);
afterEach(async () => {
  await Promise.all(instances.splice(0).map((instance) => instance.kill()));
  if (!server.running) await server.start();
  const admin = await connectClient('ioredis', server.port);
  await admin.command('FLUSHALL');
  await admin.close();
});
afterAll(async () => {
  await server.stop();
});

/** Starts an instance process and waits until its revocation list is ready. */
async function spawnInstance(kind: ClientKind): Promise<Instance> {
  const child = forkRpc(FIXTURE, [buildDir, kind, String(server.port)]);
  const instance: Instance = {
    call: <T>(op: string, ...args: unknown[]) => child.call<T>(op, args, CALL_TIMEOUT_MS),
    kill: () => child.kill(),
  };
  instances.push(instance);
  await child.ready('the instance start', CALL_TIMEOUT_MS);
  return instance;
}

async function errorOf(promise: Promise<unknown>): Promise<{ name?: string; reason?: string }> {
  return promise.then(
    () => ({}),
    (error: { name?: string; reason?: string }) => error,
  );
}

describe.each(CLIENT_KINDS)('a fleet of two processes on one Redis, with %s', (kind) => {
  it('a DPoP proof jti recorded in one process is refused in the other', async () => {
    const [a, b] = await Promise.all([spawnInstance(kind), spawnInstance(kind)]);
    await expect(a.call('replayAdd', 'proof-1', 60)).resolves.toBe(true);
    await expect(b.call('replayAdd', 'proof-1', 60)).resolves.toBe(false);
    await expect(a.call('replayAdd', 'proof-1', 60)).resolves.toBe(false);
  });

  it('a revocation made in one process applies in the other within 500 ms (100 revocations measured)', async () => {
    const [a, b] = await Promise.all([spawnInstance(kind), spawnInstance(kind)]);
    const delays: number[] = [];
    for (let i = 0; i < 100; i++) {
      const clientId = `client-${i}`;
      await b.call('startWatch', clientId, 500);
      const { startedAt } = await a.call<{ startedAt: number }>('revokeClient', clientId);
      const seenAt = await b.call<number>('seenAt', clientId);
      delays.push(seenAt - startedAt);
    }
    delays.sort((x, y) => x - y);
    const median = ((delays[49] as number) + (delays[50] as number)) / 2;
    const max = delays[99] as number;
    console.log(`revocation propagation with ${kind}: median ${median.toFixed(2)} ms, max ${max.toFixed(2)} ms`);
    expect(max).toBeLessThan(500);
  }, 60_000);

  it('survives Redis going down and coming back empty, without restarting the processes', async () => {
    const [a, b] = await Promise.all([spawnInstance(kind), spawnInstance(kind)]);
    const { entry: kept } = await a.call<{ entry: object }>('revokeClient', 'kept');
    const { entry: removed } = await a.call<{ entry: object }>('revokeClient', 'removed');
    await waitFor(async () => (await b.call<unknown[]>('list')).length === 2, 'both entries to reach B', 2000, 5);
    await expect(b.call('remove', removed)).resolves.toBe(true);
    await waitFor(async () => !(await a.call('isRevoked', 'removed')), 'the removal to reach A', 2000, 5);

    await server.stop();
    // The replay store fails closed; the revocation list keeps applying and refuses changes.
    expect(await errorOf(a.call('replayAdd', 'proof-2', 60))).toMatchObject({
      name: 'StoreUnavailableError',
      reason: 'store_unavailable',
    });
    await expect(b.call('isRevoked', 'kept')).resolves.toBe(true);
    await expect(a.call('isRevoked', 'kept')).resolves.toBe(true);
    expect(await errorOf(a.call('revokeClient', 'during-outage'))).toMatchObject({ name: 'StoreUnavailableError' });

    await server.start(); // empty: no persistence
    const admin = await connectClient(kind, server.port);
    try {
      // The surviving instances write the list back, the removal included (as a tombstone).
      await waitFor(async () => Number(await admin.command('HLEN', HASH)) === 2, 'the list written back', 10_000, 20);
      for (const [name, instance] of [
        ['a', a],
        ['b', b],
      ] as const) {
        const recovered = () =>
          instance.call('replayAdd', `proof-after-${name}`, 60).then(
            (added) => added === true,
            () => false, // still unavailable: try again
          );
        await waitFor(recovered, `the replay store of ${name} to recover`, 10_000, 50);
      }
      await expect(b.call('replayAdd', 'proof-after-a', 60)).resolves.toBe(false);
      await expect(a.call('isRevoked', 'removed')).resolves.toBe(false);
      await expect(b.call('isRevoked', 'removed')).resolves.toBe(false);
      // A process started after the restart loads the list without the removed entry.
      const late = await spawnInstance(kind);
      await expect(late.call('list')).resolves.toEqual([kept]);
      // Changes flow between the processes that lived through the outage.
      await b.call('startWatch', 'after-restart', 2000);
      await a.call('revokeClient', 'after-restart');
      await expect(b.call('seenAt', 'after-restart')).resolves.toEqual(expect.any(Number));
    } finally {
      await admin.close();
    }
  }, 60_000);
});
