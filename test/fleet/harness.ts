/**
 * The shared setup of the fleet tests: the package compiled for the API processes, one real
 * redis-server (random port, no persistence), a test issuer, and API processes started per
 * test and checked and stopped after it (no 500, no unhandled rejection in any of them).
 */
import { afterAll, afterEach, beforeAll, expect } from '@jest/globals';
import { createTestIssuer } from '../../src/testing/index.js';
import type { TestIssuer } from '../../src/testing/index.js';
import { connectClient, startRedis } from '../helpers/redis.js';
import type { ClientKind, RedisServer } from '../helpers/redis.js';
import { buildPackage } from './build.js';
import { AUDIENCE, FLEET_ORIGIN, startApi } from './instances.js';
import type { ApiInstance, FleetConfig } from './instances.js';

/** The client registered at the test issuer's token endpoint. */
export const WORKER = { clientId: 'orders-worker', clientSecret: 'orders-worker-secret' };

export interface Fleet {
  readonly redis: RedisServer;
  readonly issuer: TestIssuer;
  /** Starts two API processes using Redis clients of `kind`. */
  startPair(kind: ClientKind): Promise<[ApiInstance, ApiInstance]>;
  /** Starts one API process; `redisPort` (default: the Redis's) may be a proxy's. */
  startOne(
    kind: ClientKind,
    overrides?: Partial<Pick<FleetConfig, 'resyncInterval'>> & { redisPort?: number },
  ): Promise<ApiInstance>;
}

/** Registers the hooks of a fleet test file and returns the fleet they manage. */
export function useFleet(): Fleet {
  let buildDir: string;
  let redis: RedisServer | undefined;
  let issuer: TestIssuer | undefined;
  const instances: ApiInstance[] = [];

  beforeAll(async () => {
    [buildDir, redis, issuer] = await Promise.all([
      buildPackage(),
      startRedis(),
      createTestIssuer({ clients: [{ ...WORKER, grants: { [AUDIENCE]: ['read:orders'] } }] }),
    ]);
  }, 180_000);
  afterEach(async () => {
    const running = instances.splice(0);
    try {
      for (const instance of running) {
        const stats = await instance.call<{ serverErrors: number; unhandled: number }>('stats');
        expect(stats).toMatchObject({ serverErrors: 0, unhandled: 0 });
      }
    } finally {
      await Promise.all(running.map((instance) => instance.kill()));
      const server = redis as RedisServer;
      if (!server.running) await server.start();
      const admin = await connectClient('ioredis', server.port);
      await admin.command('FLUSHALL');
      await admin.close();
    }
  }, 30_000);
  afterAll(async () => {
    await Promise.all(instances.splice(0).map((instance) => instance.kill()));
    await Promise.all([redis?.stop(), issuer?.close()]);
  });

  const config = (): FleetConfig => {
    const { issuer: iss, jwksUri } = issuer as TestIssuer;
    return { issuer: iss, jwksUri, audience: AUDIENCE, origin: FLEET_ORIGIN };
  };

  return {
    get redis() {
      return redis as RedisServer;
    },
    get issuer() {
      return issuer as TestIssuer;
    },
    async startOne(kind, overrides = {}) {
      const { redisPort = (redis as RedisServer).port, ...rest } = overrides;
      const instance = await startApi(buildDir, kind, redisPort, { ...config(), ...rest });
      instances.push(instance);
      return instance;
    },
    async startPair(kind) {
      const started = await Promise.allSettled([this.startOne(kind), this.startOne(kind)]);
      const failed = started.find((result) => result.status === 'rejected');
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
      return started.map((result) => (result as PromiseFulfilledResult<ApiInstance>).value) as [
        ApiInstance,
        ApiInstance,
      ];
    },
  };
}
