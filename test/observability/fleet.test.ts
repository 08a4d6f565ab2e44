import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import request from 'supertest';
import { requireM2M, m2mErrorHandler } from '../../src/index.js';
import { createRedisReplayStore, createRedisRevocationList, type RedisRevocationList } from '../../src/redis.js';
import { createDPoPKey, createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { express, expressMajor } from '../helpers/express.js';
import { connectClient, startRedis, type RedisServer, type TestClient } from '../helpers/redis.js';
import { createFleetMetrics } from './recipes/fleet.js';
import { createM2MMetrics } from './recipes/prometheus.js';

const AUDIENCE = 'https://api.example.com';
const ORIGIN = 'https://api.example.com';
let issuer: TestIssuer;
let redis: RedisServer;
let clients: TestClient[];
let registry: Registry;
let metrics: ReturnType<typeof createM2MMetrics>;
let revocations: RedisRevocationList;
const logged: string[] = [];

beforeAll(async () => {
  [issuer, redis] = await Promise.all([createTestIssuer(), startRedis()]);
  clients = await Promise.all([connectClient('ioredis', redis.port), connectClient('ioredis', redis.port)]);
  registry = new Registry();
  metrics = createM2MMetrics(registry);
  const fleet = createFleetMetrics(registry, (message) => logged.push(message));
  revocations = createRedisRevocationList(clients[1]!.client, { timeout: 0.3, onError: fleet.onError });
  await revocations.ready();
});
afterAll(async () => {
  metrics.close();
  await revocations.close();
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all([redis.stop(), issuer.close()]);
});

async function counter(name: string): Promise<Record<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return Object.fromEntries(
    ((metric?.values ?? []) as { labels: Record<string, string>; value: number }[]).map(({ labels, value }) => [
      Object.values(labels).join(',') || 'total',
      value,
    ]),
  );
}

describe(`the fleet recipe on a real Redis (Express ${expressMajor})`, () => {
  it('counts store_unavailable refusals and revocation-list merge failures while Redis is down', async () => {
    const app = express();
    app.use(
      requireM2M({
        issuerBaseURL: issuer.issuerBaseURL,
        audience: AUDIENCE,
        revocations,
        dpop: { replayStore: createRedisReplayStore(clients[0]!.client, { timeout: 0.3 }), origin: ORIGIN },
      }),
    );
    app.get('/orders', (_req, res) => {
      res.json({ ok: true });
    });
    app.use(m2mErrorHandler({ onError: metrics.onError }));
    const key = await createDPoPKey();
    const token = await issuer.mint({ cnf: { jkt: key.jkt } });
    const call = async () =>
      request(app)
        .get('/orders')
        .set('Authorization', `DPoP ${token}`)
        .set('DPoP', await key.proof('GET', `${ORIGIN}/orders`, { accessToken: token }));

    expect((await call()).status).toBe(200);
    await redis.stop();
    const res = await call();
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('temporarily_unavailable');
    expect(await counter('express_m2m_refusals_total')).toEqual({ 'store_unavailable,503': 1 });

    await expect(revocations.ready()).rejects.toMatchObject({ name: 'StoreUnavailableError' });
    expect(await counter('express_m2m_revocation_list_errors_total')).toEqual({ total: 1 });
    expect(logged).toEqual([expect.stringMatching(/^express-m2m: revocation list out of sync with Redis: /)]);
  });
});
