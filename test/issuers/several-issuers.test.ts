import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Express, Request, Response } from 'express';
import request from 'supertest';
import { createVerifier, m2mErrorHandler, requireM2M, type RequireM2MHandler } from '../../src/index.js';
import type { IssuerConfig } from '../../src/options/types.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { express, expressMajor } from '../helpers/express.js';
import { json, startServer, type StubServer } from '../helpers/servers.js';

const AUDIENCE = 'https://api.example.com';
const LEGACY_SECRET = 'legacy-shared-secret-of-at-least-32-bytes!';

let tenantA: TestIssuer;
let tenantB: TestIssuer;
let legacy: TestIssuer;
let partner: TestIssuer;

beforeAll(async () => {
  [tenantA, tenantB, legacy, partner] = await Promise.all([
    createTestIssuer(),
    createTestIssuer({ profile: 'rfc9068' }),
    createTestIssuer({ secret: LEGACY_SECRET }),
    createTestIssuer(),
  ]);
});
afterAll(async () => {
  await Promise.all([tenantA.close(), tenantB.close(), legacy.close(), partner.close()]);
});

function resetCounts(): void {
  for (const issuer of [tenantA, tenantB, legacy, partner]) issuer.resetCounts();
}

function appWith(issuers: IssuerConfig[]): { app: Express; auth: RequireM2MHandler } {
  const app = express();
  const auth = requireM2M({ audience: AUDIENCE, issuers });
  app.use(auth);
  app.get('/orders', (req: Request, res: Response) => {
    res.json({ issuer: req.auth?.issuer, clientId: req.auth?.clientId });
  });
  app.use(m2mErrorHandler());
  return { app, auth };
}

const call = (app: Express, token: string) => request(app).get('/orders').set('Authorization', `Bearer ${token}`);

describe(`several issuers side by side (Express ${expressMajor})`, () => {
  let app: Express;

  beforeAll(() => {
    ({ app } = appWith([
      { issuerBaseURL: tenantA.issuerBaseURL },
      { issuerBaseURL: tenantB.issuerBaseURL },
      { issuer: legacy.issuer, secret: LEGACY_SECRET },
      { issuer: partner.issuer, publicKey: partner.publicJwks() },
    ]));
  });

  it('accepts each issuer’s tokens, naming the issuer in req.auth; the static ones fetch nothing', async () => {
    resetCounts();
    const cases: [TestIssuer, string][] = [
      [tenantA, await tenantA.mint({}, { clientId: 'worker-a' })],
      [tenantB, await tenantB.mint({}, { clientId: 'worker-b' })],
      [legacy, await legacy.mint({}, { clientId: 'worker-legacy', alg: 'HS256' })],
      [partner, await partner.mint({}, { clientId: 'worker-partner' })],
    ];
    for (const [issuer, token] of cases) {
      const res = await call(app, token);
      expect(res.status).toBe(200);
      expect(res.body.issuer).toBe(issuer.issuer);
    }
    expect(legacy.requestCounts).toEqual({ discovery: 0, jwks: 0, token: 0, introspection: 0 });
    expect(partner.requestCounts).toEqual({ discovery: 0, jwks: 0, token: 0, introspection: 0 });
    expect(tenantA.requestCounts).toMatchObject({ discovery: 1, jwks: 1 });
    expect(tenantB.requestCounts).toMatchObject({ discovery: 1, jwks: 1 });
  });

  it("refuses a token claiming one issuer but signed with another's key or algorithm", async () => {
    const forgeries = [
      // B's key, A's iss.
      await tenantB.mint({ iss: tenantA.issuer }),
      // The partner's static key set does not hold A's keys.
      await tenantA.mint({ iss: partner.issuer }),
      // HS256 is only for the legacy issuer: A's entry refuses it before any key lookup.
      await legacy.mint({ iss: tenantA.issuer }, { alg: 'HS256' }),
      // The legacy issuer's own RSA key is not its secret.
      await legacy.mint(),
      // The right algorithm with a secret that is not the legacy one.
      await legacy.mint({}, { alg: 'HS256', foreignKey: true }),
    ];
    for (const token of forgeries) {
      const res = await call(app, token);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_token');
    }
  });

  it('refuses a token of an issuer that is not listed', async () => {
    const stranger = await createTestIssuer();
    try {
      const res = await call(app, await stranger.mint());
      expect(res.status).toBe(401);
      expect(res.body.error_description).toBe('unexpected issuer');
      expect(stranger.requestCounts).toEqual({ discovery: 0, jwks: 0, token: 0, introspection: 0 });
    } finally {
      await stranger.close();
    }
  });
});

describe('one issuer’s trouble stays with it', () => {
  it('a kid flood on one issuer neither delays nor fetches for another', async () => {
    // The flooded issuer publishes tenantA's keys; its refetches hang until the test lets them go.
    let hold: Promise<void> | undefined;
    let release!: () => void;
    const flooded: StubServer = await startServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration') {
        return json(res, { issuer: `${flooded.url}/`, jwks_uri: `${flooded.url}/jwks` });
      }
      void (hold ?? Promise.resolve()).then(() => json(res, tenantA.publicJwks()));
    });
    try {
      const verifier = createVerifier({
        audience: AUDIENCE,
        issuers: [{ issuerBaseURL: flooded.url, jwks: { cooldown: 0 } }, { issuerBaseURL: tenantB.issuerBaseURL }],
      });
      await verifier.ready();
      resetCounts();
      hold = new Promise((resolve) => (release = resolve));
      const flood = await Promise.all(
        Array.from({ length: 50 }, () => tenantA.mint({ iss: `${flooded.url}/` }, { foreignKey: true })),
      );
      let floodSettled = false;
      const flooding = Promise.allSettled(flood.map((token) => verifier.verify(token))).then((results) => {
        floodSettled = true;
        return results;
      });
      // While the flooded issuer's refetch hangs, the other issuer answers at once, fetching nothing.
      await expect(verifier.verify(await tenantB.mint())).resolves.toMatchObject({ issuer: tenantB.issuer });
      expect(floodSettled).toBe(false);
      expect(tenantB.requestCounts).toMatchObject({ discovery: 0, jwks: 0 });
      release();
      const results = await flooding;
      expect(results.every((r) => r.status === 'rejected' && (r.reason as { status: number }).status === 401)).toBe(
        true,
      );
      expect(flooded.hits.get('/jwks')).toBe(2);
      expect(tenantB.requestCounts).toMatchObject({ discovery: 0, jwks: 0 });
    } finally {
      release?.();
      await flooded.close();
    }
  });

  it('ready() names the issuer that failed', async () => {
    const dead = await startServer(() => undefined);
    await dead.close();
    const { auth } = appWith([
      { issuerBaseURL: tenantA.issuerBaseURL },
      { issuerBaseURL: dead.url, jwks: { onEvent: () => undefined } },
      { issuer: partner.issuer, publicKey: partner.publicJwks() },
    ]);
    const message = await auth.ready().then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    expect(message).toBe(
      `express-m2m: cannot obtain the signing keys of ${dead.url}: discovery failed for ${dead.url}: ` +
        `${dead.url}/.well-known/openid-configuration and ${dead.url}/.well-known/oauth-authorization-server: ECONNREFUSED`,
    );
    expect(message).not.toContain(tenantA.issuerBaseURL);
  });
});

describe(`Auth0 custom domain: two entries for one tenant (Express ${expressMajor})`, () => {
  it('accepts tokens issued under the canonical domain and under the custom domain, telling them apart', async () => {
    // Auth0 serves the same tenant (same keys) at its canonical domain and at the custom domain, and
    // a token's iss is the domain the client asked for its token.
    const customDomain: StubServer = await startServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration') {
        return json(res, { issuer: `${customDomain.url}/`, jwks_uri: `${customDomain.url}/.well-known/jwks.json` });
      }
      if (req.url === '/.well-known/jwks.json') return json(res, tenantA.publicJwks());
      json(res, {}, 404);
    });
    try {
      const { app } = appWith([{ issuerBaseURL: tenantA.issuerBaseURL }, { issuerBaseURL: customDomain.url }]);
      const canonical = await call(app, await tenantA.mint());
      expect(canonical.status).toBe(200);
      expect(canonical.body.issuer).toBe(tenantA.issuer);
      const custom = await call(app, await tenantA.mint({ iss: `${customDomain.url}/` }));
      expect(custom.status).toBe(200);
      expect(custom.body.issuer).toBe(`${customDomain.url}/`);
      // With only the canonical entry, a custom-domain token is refused: both entries are needed.
      const { app: canonicalOnly } = appWith([{ issuerBaseURL: tenantA.issuerBaseURL }]);
      const refused = await call(canonicalOnly, await tenantA.mint({ iss: `${customDomain.url}/` }));
      expect(refused.status).toBe(401);
      expect(refused.body.error_description).toBe('unexpected issuer');
    } finally {
      await customDomain.close();
    }
  });
});
