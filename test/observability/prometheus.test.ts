import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Express } from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import { m2mErrorHandler, requireM2M, requireScopes } from '../../src/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { express, expressMajor } from '../helpers/express.js';
import { startServer } from '../helpers/servers.js';
import { createM2MMetrics } from './recipes/prometheus.js';

const AUDIENCE = 'https://api.example.com';
let issuer: TestIssuer;
let registry: Registry;
let metrics: ReturnType<typeof createM2MMetrics>;

beforeAll(async () => {
  issuer = await createTestIssuer();
  registry = new Registry();
  metrics = createM2MMetrics(registry);
});
afterAll(async () => {
  metrics.close();
  await issuer.close();
});

function appWith(options: Parameters<typeof requireM2M>[0]): Express {
  const app = express();
  app.use(requireM2M(options));
  app.get('/orders', requireScopes('read:orders'), (_req, res) => {
    res.json({ ok: true });
  });
  app.use(m2mErrorHandler({ onError: metrics.onError }));
  return app;
}

/** `{ 'label=value,…': value }` of one metric, for readable assertions. */
async function valuesOf(name: string): Promise<Record<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values: Record<string, number> = {};
  for (const { labels, value, metricName } of (metric?.values ?? []) as {
    labels: Record<string, string | number>;
    value: number;
    metricName?: string;
  }[]) {
    const key = [metricName ?? name, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)].join(',');
    values[key] = value;
  }
  return values;
}

describe(`the prom-client recipe (Express ${expressMajor})`, () => {
  it('counts refusals by reason and status, guards included, and times verifications by outcome', async () => {
    const app = appWith({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE });
    const call = (token?: string) => {
      const req = request(app).get('/orders');
      return token === undefined ? req : req.set('Authorization', `Bearer ${token}`);
    };
    const good = await issuer.mint({}, { scope: 'read:orders' });
    expect((await call(good)).status).toBe(200);
    expect((await call(good)).status).toBe(200);
    expect((await call()).status).toBe(401);
    expect((await call(await issuer.mint({}, { scope: 'write:orders' }))).status).toBe(403);
    expect((await call(await issuer.mint({}, { expiresIn: -60 }))).status).toBe(401);

    expect(await valuesOf('express_m2m_refusals_total')).toEqual({
      'express_m2m_refusals_total,reason=missing_token,status=401': 1,
      'express_m2m_refusals_total,reason=insufficient_scope,status=403': 1,
      'express_m2m_refusals_total,reason=expired,status=401': 1,
    });
    const histogram = await valuesOf('express_m2m_verification_seconds');
    expect(
      Object.fromEntries(
        Object.entries(histogram).filter(([key]) => key.startsWith('express_m2m_verification_seconds_count')),
      ),
    ).toEqual({
      'express_m2m_verification_seconds_count,outcome=accepted,cached=false': 2,
      'express_m2m_verification_seconds_count,outcome=accepted,cached=true': 1,
      'express_m2m_verification_seconds_count,outcome=expired,cached=false': 1,
    });
    expect(histogram['express_m2m_verification_seconds_sum,outcome=accepted,cached=false']).toBeGreaterThan(0);
    expect(await valuesOf('express_m2m_key_set_events_total')).toMatchObject({
      'express_m2m_key_set_events_total,type=fetched,resource=discovery': 1,
      'express_m2m_key_set_events_total,type=fetched,resource=jwks': 1,
    });
    expect(await registry.metrics()).not.toContain(good);
  });

  it('counts 503s as keys_unavailable and the failed fetches as key-set events', async () => {
    const closed = await startServer(() => undefined);
    await closed.close();
    const app = appWith({
      issuer: issuer.issuer,
      jwksUri: `${closed.url}/jwks`,
      audience: AUDIENCE,
      jwks: { onEvent: () => undefined },
    });
    const res = await request(app)
      .get('/orders')
      .set('Authorization', `Bearer ${await issuer.mint()}`);
    expect(res.status).toBe(503);
    expect(await valuesOf('express_m2m_refusals_total')).toMatchObject({
      'express_m2m_refusals_total,reason=keys_unavailable,status=503': 1,
    });
    expect(await valuesOf('express_m2m_key_set_events_total')).toMatchObject({
      'express_m2m_key_set_events_total,type=fetch_failed,resource=jwks': 1,
    });
  });
});
