/**
 * Findings of an outside security review, each replayed through a real Express app (Express 5
 * or 4) and a real test issuer on 127.0.0.1: organization confusion, oversized tokens pinning
 * the verified-token cache, header values built from options, and — through a verifier —
 * discovery documents that name another issuer or downgrade the key set to plain HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { m2mErrorHandler, requireM2M, ServiceUnavailableError, type RequireM2MOptions } from '../../src/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { createVerifier } from '../../src/verifier.js';
import { express } from '../helpers/express.js';

const AUDIENCE = 'https://api.example.com';
let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await createTestIssuer();
});

afterAll(() => issuer.close());

function appWith(options: RequireM2MOptions) {
  const app = express();
  app.get('/api', requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, ...options }), (req, res) => {
    res.json({ organization: req.auth?.organization ?? null });
  });
  app.use(m2mErrorHandler());
  return app;
}

describe('organization confusion: an id entry is compared with org_id only, exactly', () => {
  it.each([
    ['an org_name spelling the allowed id', { org_id: 'org_attacker', org_name: 'org_victim' }],
    ['the same in upper case', { org_id: 'org_attacker', org_name: 'ORG_VICTIM' }],
    ['an org_name alone', { org_name: 'org_victim' }],
  ])('refuses %s with 403', async (_name, claims) => {
    const token = await issuer.mint(claims);
    const res = await request(appWith({ organization: 'org_victim' }))
      .get('/api')
      .set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: 'insufficient_scope', error_description: 'organization not allowed' });
  });

  it('refuses the lower-cased form of a mixed-case id', async () => {
    const token = await issuer.mint({ org_id: 'org_abc123' });
    const res = await request(appWith({ organization: 'org_AbC123' }))
      .get('/api')
      .set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(403);
  });

  it('accepts the exact id, and a name entry by its normalised org_name', async () => {
    const byId = await issuer.mint({ org_id: 'org_victim' });
    const byName = await issuer.mint({ org_id: 'org_x', org_name: 'Acme' });
    const app = appWith({ organization: ['org_victim', 'acme'] });
    const first = await request(app).get('/api').set('Authorization', `Bearer ${byId}`);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ organization: 'org_victim' });
    expect((await request(app).get('/api').set('Authorization', `Bearer ${byName}`)).status).toBe(200);
  });
});

describe('discovery documents', () => {
  it('refuses metadata whose issuer is not the configured tenant (503 on a cold start, no keys fetched)', async () => {
    const verifier = createVerifier({
      issuerBaseURL: 'https://tenant.example.com',
      audience: AUDIENCE,
      jwks: { onEvent: () => undefined },
      fetch: async () => Response.json({ issuer: 'https://attacker.example.com/', jwks_uri: issuer.jwksUri }),
    });
    const token = await issuer.mint({ iss: 'https://tenant.example.com/' });
    issuer.resetCounts();
    await expect(verifier.verify(token)).rejects.toMatchObject({ status: 503, reason: 'keys_unavailable' });
    expect(issuer.requestCounts.jwks).toBe(0);
  });

  it('refuses an http: jwks_uri from an https: issuer (503 on a cold start)', async () => {
    let fetchedKeys = 0;
    const verifier = createVerifier({
      issuerBaseURL: 'https://tenant.example.com',
      audience: AUDIENCE,
      jwks: { onEvent: () => undefined },
      fetch: async (input) => {
        if (String(input).includes('jwks')) fetchedKeys++;
        return Response.json({ issuer: 'https://tenant.example.com/', jwks_uri: 'http://tenant.example.com/jwks' });
      },
    });
    const token = await issuer.mint({ iss: 'https://tenant.example.com/' });
    await expect(verifier.verify(token)).rejects.toMatchObject({ status: 503 });
    expect(fetchedKeys).toBe(0);
  });
});

describe('header values built from options', () => {
  it.each([NaN, Infinity, -1, 0.2])('a 503 built with retryAfter %p still sends a valid Retry-After', (retryAfter) => {
    const header = new ServiceUnavailableError('x', { retryAfter }).headers['Retry-After'];
    expect(header).toMatch(/^[1-9]\d*$/);
  });
});
