import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { requireM2M, requireScopes } from '../../src/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { express, expressMajor } from '../helpers/express.js';
import { startServer } from '../helpers/servers.js';
import { loggingErrorHandler } from './recipes/logging.js';

const AUDIENCE = 'https://api.example.com';
let issuer: TestIssuer;
let entries: Record<string, unknown>[];

beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());
beforeEach(() => {
  entries = [];
});

function appWith(options: Parameters<typeof requireM2M>[0]) {
  const app = express();
  app.use(requireM2M(options));
  app.get('/orders', requireScopes('read:orders'), (_req, res) => {
    res.json({ ok: true });
  });
  app.use(loggingErrorHandler((entry) => entries.push(entry)));
  return app;
}

describe(`the logging recipe (Express ${expressMajor})`, () => {
  it('logs the reason and the failed claim check, never the token, and still answers RFC 6750', async () => {
    const app = appWith({
      issuerBaseURL: issuer.issuerBaseURL,
      audience: AUDIENCE,
      tokenLocations: ['header', 'query'],
    });
    const wrongAudience = await issuer.mint({}, { audience: 'https://other.example.com' });
    const res = await request(app).get(`/orders?access_token=${wrongAudience}&page=2`);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_token', error_description: 'unexpected audience' });
    const narrow = await issuer.mint({}, { clientId: 'reporting', scope: 'read:invoices' });
    expect((await request(app).get('/orders').set('Authorization', `Bearer ${narrow}`)).status).toBe(403);
    expect(entries).toEqual([
      {
        msg: 'request refused by express-m2m',
        method: 'GET',
        path: '/orders',
        status: 401,
        reason: 'unexpected_audience',
        details: { claim: 'aud', expected: [AUDIENCE], actual: 'https://other.example.com' },
        clientId: undefined,
        cause: undefined,
      },
      {
        msg: 'request refused by express-m2m',
        method: 'GET',
        path: '/orders',
        status: 403,
        reason: 'insufficient_scope',
        details: expect.objectContaining({ claim: 'scope' }),
        clientId: 'reporting',
        cause: undefined,
      },
    ]);
    const logged = JSON.stringify(entries);
    for (const token of [wrongAudience, narrow]) {
      for (const part of token.split('.')) expect(logged).not.toContain(part);
    }
  });

  it('logs why a 503 happened', async () => {
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
    expect(entries).toEqual([
      expect.objectContaining({
        status: 503,
        reason: 'keys_unavailable',
        cause: `${closed.url}/jwks: ECONNREFUSED`,
      }),
    ]);
  });
});
