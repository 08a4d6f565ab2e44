import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Express, Request, Response } from 'express';
import request from 'supertest';
import { m2mErrorHandler, requireM2M, requireScopes } from '../../src/index.js';
import { middlewareFor } from '../../src/express/middleware.js';
import { resolveOptions } from '../../src/options/resolve.js';
import type { RequireM2MOptions } from '../../src/options/types.js';
import { createDPoPKey, createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { Verifier } from '../../src/verifier.js';
import { express, expressMajor } from '../helpers/express.js';
import { manualClock } from '../helpers/time.js';

const AUDIENCE = 'https://api.example.com';
const API_CLIENT = { clientId: 'orders-api', clientSecret: 'orders-api-secret' };
let issuer: TestIssuer;
let partner: TestIssuer;

beforeAll(async () => {
  [issuer, partner] = await Promise.all([
    createTestIssuer({ clients: [{ ...API_CLIENT, grants: {} }] }),
    createTestIssuer({ clients: [{ ...API_CLIENT, grants: {} }] }),
  ]);
});
afterAll(async () => {
  await issuer.close();
  await partner.close();
});
beforeEach(() => {
  issuer.resetCounts();
  partner.resetCounts();
});

function serve(app: Express): Express {
  app.get('/orders', requireScopes('read:orders'), (req: Request, res: Response) => {
    const auth = req.auth!;
    res.json({
      clientId: auth.clientId,
      scopes: auth.scopes,
      issuer: auth.issuer,
      header: auth.header,
      introspected: auth.introspected ?? false,
      binding: auth.binding ?? null,
    });
  });
  app.use(m2mErrorHandler());
  return app;
}

function appWith(options: RequireM2MOptions): Express {
  const app = express();
  app.use(requireM2M(options));
  return serve(app);
}

const introspected = (mode: 'opaque' | 'always' = 'opaque'): RequireM2MOptions => ({
  issuerBaseURL: issuer.issuerBaseURL,
  audience: AUDIENCE,
  introspection: { ...API_CLIENT, mode },
});

describe(`opaque tokens through introspection (Express ${expressMajor})`, () => {
  it('accepts an active opaque token at the discovered endpoint; req.auth says so', async () => {
    const token = await issuer.mint({}, { clientId: 'worker', scope: 'read:orders', format: 'opaque' });
    const res = await request(appWith(introspected())).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      clientId: 'worker',
      scopes: ['read:orders'],
      issuer: issuer.issuer,
      header: {},
      introspected: true,
      binding: null,
    });
    expect(issuer.requestCounts.introspection).toBe(1);
  });

  it('an unknown or inactive opaque token is 401 invalid_token', async () => {
    const expired = await issuer.mint({}, { scope: 'read:orders', expiresIn: -10, format: 'opaque' });
    for (const token of ['not-a-token-the-issuer-knows', expired]) {
      const res = await request(appWith(introspected())).get('/orders').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="api", error="invalid_token", error_description="token is not active"',
      );
    }
  });

  it('without introspection an opaque token stays a malformed token, and nothing is asked', async () => {
    const token = await issuer.mint({}, { scope: 'read:orders', format: 'opaque' });
    const app = appWith({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE });
    const res = await request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(issuer.requestCounts.introspection).toBe(0);
  });

  it('the guards apply to introspected tokens', async () => {
    const token = await issuer.mint({}, { scope: 'write:orders', format: 'opaque' });
    const res = await request(appWith(introspected())).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(403);
  });

  it('a token revoked at the server is refused once the cached answer expires', async () => {
    const clock = manualClock();
    const verifier = new Verifier(
      resolveOptions({ ...introspected(), introspection: { ...API_CLIENT, cacheMaxAge: 30 } }, {}),
      clock.now,
    );
    const app = serve(
      ((a: Express) => {
        a.use(middlewareFor(verifier, true, ['header']));
        return a;
      })(express()),
    );
    const token = await issuer.mint({}, { scope: 'read:orders', format: 'opaque' });
    const call = () => request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect((await call()).status).toBe(200);
    issuer.revoke(token);
    expect((await call()).status).toBe(200);
    clock.advance(30_000);
    expect((await call()).status).toBe(401);
    expect(issuer.requestCounts.introspection).toBe(2);
  });

  it("mode 'always': a valid JWT revoked at the server is refused", async () => {
    const app = appWith({
      ...introspected('always'),
      introspection: { ...API_CLIENT, mode: 'always', cacheMaxAge: 0 },
    });
    const token = await issuer.mint({}, { scope: 'read:orders' });
    const first = await request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ introspected: true, header: { alg: 'RS256' } });
    issuer.revoke(token);
    const second = await request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(second.status).toBe(401);
    expect(second.body).toEqual({ error: 'invalid_token', error_description: 'token is not active' });
    expect(issuer.requestCounts.introspection).toBe(2);
  });

  it("mode 'always' in an issuer resolver's answer", async () => {
    const app = appWith({
      audience: AUDIENCE,
      issuers: (iss) =>
        iss === issuer.issuer
          ? { issuerBaseURL: issuer.issuerBaseURL, introspection: { ...API_CLIENT, mode: 'always', cacheMaxAge: 0 } }
          : undefined,
    });
    const token = await issuer.mint({}, { scope: 'read:orders' });
    expect((await request(app).get('/orders').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    issuer.revoke(token);
    expect((await request(app).get('/orders').set('Authorization', `Bearer ${token}`)).status).toBe(401);
    expect(issuer.requestCounts.introspection).toBe(2);
  });

  it("mode 'opaque' leaves JWTs alone: a JWT revoked at the server still passes", async () => {
    const app = appWith(introspected());
    const token = await issuer.mint({}, { scope: 'read:orders' });
    issuer.revoke(token);
    const res = await request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body.introspected).toBe(false);
    expect(issuer.requestCounts.introspection).toBe(0);
  });

  it('with several issuers, an opaque token is asked of each endpoint in turn until one says active', async () => {
    const app = appWith({
      audience: AUDIENCE,
      issuers: [
        { issuerBaseURL: issuer.issuerBaseURL, introspection: API_CLIENT },
        { issuerBaseURL: partner.issuerBaseURL, introspection: API_CLIENT },
      ],
    });
    const token = await partner.mint({}, { clientId: 'partner-worker', scope: 'read:orders', format: 'opaque' });
    const res = await request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ clientId: 'partner-worker', issuer: partner.issuer, introspected: true });
    expect([issuer.requestCounts.introspection, partner.requestCounts.introspection]).toEqual([1, 1]);
    const unknown = await request(app).get('/orders').set('Authorization', 'Bearer unknown-to-both');
    expect(unknown.status).toBe(401);
    expect([issuer.requestCounts.introspection, partner.requestCounts.introspection]).toEqual([2, 2]);
  });

  it('an active answer from one issuer naming another issuer is refused', async () => {
    // The partner's endpoint answers for a token claiming the first issuer: `iss` must be the asking issuer's.
    const app = appWith({
      audience: AUDIENCE,
      issuers: [{ issuerBaseURL: partner.issuerBaseURL, introspection: API_CLIENT }],
    });
    const token = await partner.mint({ iss: issuer.issuer }, { scope: 'read:orders', format: 'opaque' });
    const res = await request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body.error_description).toBe('unexpected issuer');
  });

  it('a cnf.jkt-bound opaque token needs its DPoP proof', async () => {
    const key = await createDPoPKey();
    const app = appWith({ ...introspected(), dpop: { origin: AUDIENCE } });
    const token = await issuer.mint({ cnf: { jkt: key.jkt } }, { scope: 'read:orders', format: 'opaque' });
    const bearer = await request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(bearer.status).toBe(401);
    expect(bearer.headers['www-authenticate']).toMatch(/^DPoP /);
    const proof = await key.proof('GET', `${AUDIENCE}/orders`, { accessToken: token });
    const bound = await request(app).get('/orders').set('Authorization', `DPoP ${token}`).set('DPoP', proof);
    expect(bound.status).toBe(200);
    expect(bound.body.binding).toEqual({ type: 'dpop', thumbprint: key.jkt });
    const other = await createDPoPKey();
    const stolen = await request(app)
      .get('/orders')
      .set('Authorization', `DPoP ${token}`)
      .set('DPoP', await other.proof('GET', `${AUDIENCE}/orders`, { accessToken: token }));
    expect(stolen.status).toBe(401);
  });

  it("authenticates with private_key_jwt, the token client's client authentication", async () => {
    const { generateKeyPair, exportJWK } = await import('jose');
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    issuer.addClient({ clientId: 'signed-api', publicJwk: await exportJWK(publicKey), grants: {} });
    const app = appWith({
      issuerBaseURL: issuer.issuerBaseURL,
      audience: AUDIENCE,
      introspection: { clientId: 'signed-api', privateKey: await exportJWK(privateKey) },
    });
    // Two introspections: a fresh assertion each time, since the test issuer refuses a replayed jti.
    for (let i = 0; i < 2; i++) {
      const token = await issuer.mint({}, { scope: 'read:orders', format: 'opaque' });
      expect((await request(app).get('/orders').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    }
    expect(issuer.requestCounts.introspection).toBe(2);
  });

  it('the revocation list applies to introspected tokens', async () => {
    const { createRevocationList } = await import('../../src/index.js');
    const revocations = createRevocationList();
    const app = appWith({ ...introspected(), revocations });
    const token = await issuer.mint({}, { clientId: 'leaky', scope: 'read:orders', format: 'opaque' });
    expect((await request(app).get('/orders').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    revocations.revokeClient('leaky', { issuer: issuer.issuer, issuedBefore: Math.floor(Date.now() / 1000) + 60 });
    const res = await request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body.error_description).toBe('token revoked');
  });
});
