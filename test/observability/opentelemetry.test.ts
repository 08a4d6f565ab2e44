import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Express } from 'express';
import request from 'supertest';
import { m2mErrorHandler, requireM2M, requireScopes } from '../../src/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { express, expressMajor } from '../helpers/express.js';
import { traceVerifications } from './recipes/opentelemetry.js';

const AUDIENCE = 'https://api.example.com';
let issuer: TestIssuer;
let app: Express;
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let stopTracing: () => void;

beforeAll(async () => {
  issuer = await createTestIssuer();
  app = express();
  app.use(requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE }));
  app.get('/orders', requireScopes('read:orders'), (_req, res) => {
    res.json({ ok: true });
  });
  app.use(m2mErrorHandler());
  stopTracing = traceVerifications(provider.getTracer('express-m2m-test'));
});
afterAll(async () => {
  stopTracing();
  await provider.shutdown();
  await issuer.close();
});
beforeEach(() => exporter.reset());

const call = (token?: string) => {
  const req = request(app).get('/orders');
  return token === undefined ? req : req.set('Authorization', `Bearer ${token}`);
};

function spans() {
  return exporter.getFinishedSpans().map((span) => ({
    name: span.name,
    status: span.status.code,
    attributes: span.attributes,
    ended: span.ended,
  }));
}

describe(`the OpenTelemetry recipe (Express ${expressMajor})`, () => {
  it('makes one ended span per verification, waited for or answered from the cache', async () => {
    const token = await issuer.mint({}, { clientId: 'billing', scope: 'read:orders' });
    expect((await call(token)).status).toBe(200);
    expect((await call(token)).status).toBe(200);
    const ok = {
      name: 'express-m2m verify',
      status: SpanStatusCode.UNSET,
      ended: true,
    };
    expect(spans()).toEqual([
      {
        ...ok,
        attributes: {
          'express_m2m.cached': false,
          'express_m2m.client_id': 'billing',
          'express_m2m.issuer': issuer.issuer,
        },
      },
      {
        ...ok,
        attributes: {
          'express_m2m.cached': true,
          'express_m2m.client_id': 'billing',
          'express_m2m.issuer': issuer.issuer,
        },
      },
    ]);
  });

  it('marks refused verifications with their reason, refused at once or after waiting', async () => {
    const stranger = await createTestIssuer();
    try {
      const refused = [
        'not-a-jwt', // refused synchronously
        await stranger.mint(), // unexpected issuer, synchronously
        await issuer.mint({}, { expiresIn: -60 }), // after the signature check
        await issuer.mint({}, { foreignKey: true }), // after a key lookup
      ];
      for (const token of refused) expect((await call(token)).status).toBe(401);
    } finally {
      await stranger.close();
    }
    expect(spans().map((span) => [span.status, span.attributes['express_m2m.reason']])).toEqual([
      [SpanStatusCode.ERROR, 'malformed_token'],
      [SpanStatusCode.ERROR, 'unexpected_issuer'],
      [SpanStatusCode.ERROR, 'expired'],
      [SpanStatusCode.ERROR, 'unknown_key'],
    ]);
    expect(
      exporter.getFinishedSpans().every((span) => span.status.message === span.attributes['express_m2m.reason']),
    ).toBe(true);
  });

  it('sees no verification for a request without a token, and none after unsubscribing', async () => {
    expect((await call()).status).toBe(401);
    expect(spans()).toEqual([]);
    const stop = traceVerifications(provider.getTracer('second'));
    stop();
    expect((await call(await issuer.mint({}, { scope: 'read:orders' }))).status).toBe(200);
    expect(spans()).toHaveLength(1);
  });
});
