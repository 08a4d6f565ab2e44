// One API instance of the fleet (`--role fleet-api`): the DPoP replay store and the revocation
// list on a Redis shared with the other instance.
import { performance } from 'node:perf_hooks';
import { AUDIENCE, FLEET_ORIGIN } from './constants.mjs';
import { createOrdersApp, heapAfterGc, listen, reportAndExit, watchCrashes } from './api-app.mjs';

/**
 * Runs requireM2M with the Redis replay store and revocation list (client library and port
 * from SOAK_CONFIG), addressed as FLEET_ORIGIN (as behind a load balancer). Counts the 503s it
 * answers and the revocation-list merge failures; answers the driver's `heap`, `revoke` (revokes
 * a client through this instance) and `stop` messages; exits when the driver goes away.
 */
export async function runFleetApi() {
  const { requireM2M, requireScopes, m2mErrorHandler } = await import('../../dist/index.js');
  const { createRedisReplayStore, createRedisRevocationList } = await import('../../dist/redis.js');
  const { default: express } = await import('express');
  const config = JSON.parse(process.env.SOAK_CONFIG ?? '{}');
  const stats = { foreignErrors: 0, unhandled: 0, uncaught: 0, unavailable: 0, mergeFailures: 0, lastForeign: '' };
  watchCrashes(stats);
  process.on('disconnect', () => process.exit(0));

  const redis = await connectRedis(config.client, config.redisPort);
  const revocations = createRedisRevocationList(redis, { onError: () => stats.mergeFailures++ });
  await revocations.ready();
  const m2m = requireM2M({
    issuer: config.issuer,
    jwksUri: config.jwksUri,
    audience: AUDIENCE,
    revocations,
    dpop: { replayStore: createRedisReplayStore(redis), origin: FLEET_ORIGIN },
  });
  const errorHandler = m2mErrorHandler({ onError: (error) => error.status === 503 && stats.unavailable++ });
  const app = createOrdersApp({ express, m2m, requireScopes, errorHandler, stats });
  await m2m.ready();
  const server = await listen(app);

  process.on('message', async (message) => {
    if (message === 'heap') process.send({ type: 'heap', heapUsed: heapAfterGc() });
    if (message?.type === 'revoke') {
      const startedAt = performance.timeOrigin + performance.now();
      try {
        const entry = await revocations.revokeClient(message.clientId);
        process.send({ type: 'revoked', entry, startedAt });
      } catch (error) {
        process.send({ type: 'revoked', error: String(error) });
      }
    }
    if (message === 'stop') {
      await revocations.close();
      reportAndExit(server, stats);
    }
  });
  process.send({ type: 'ready', port: server.address().port });
}

/** A connected client of `kind` that reconnects quickly and never crashes the process on an error event. */
async function connectRedis(kind, port) {
  if (kind === 'ioredis') {
    const { Redis } = await import('ioredis');
    const client = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      retryStrategy: () => 50,
      maxRetriesPerRequest: 1,
    });
    client.on('error', () => {});
    await client.connect();
    return client;
  }
  const { createClient } = await import('redis');
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: () => 50 } });
  client.on('error', () => {});
  await client.connect();
  return client;
}
