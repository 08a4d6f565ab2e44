import { afterEach, describe, expect, it } from '@jest/globals';
import type { Express, Request, Response } from 'express';
import request from 'supertest';
import { m2mErrorHandler, requireM2M } from '../../src/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { express, expressMajor } from '../helpers/express.js';

const API = 'https://api.example.com';

// The API a user would write: requireM2M with nothing but the issuer and audience, so the
// key-set cache and its 30 s unknown-kid cooldown are the defaults.
function apiFor(issuer: TestIssuer): Express {
  const app = express();
  app.use(requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: API }));
  app.get('/orders', (req: Request, res: Response) => {
    res.json({ caller: req.auth?.clientId });
  });
  app.use(m2mErrorHandler());
  return app;
}

describe(`rotateKeys with an API on default jwks options (Express ${expressMajor})`, () => {
  let issuer: TestIssuer | undefined;
  afterEach(async () => {
    await issuer?.close();
  });

  it('a token signed after the rotation is accepted at once, and the old one still is', async () => {
    issuer = await createTestIssuer();
    const app = apiFor(issuer);
    const oldToken = await issuer.mint({}, { clientId: 'worker' });
    await request(app).get('/orders').set('Authorization', `Bearer ${oldToken}`).expect(200, { caller: 'worker' });
    expect(issuer.requestCounts.jwks).toBe(1);

    await issuer.rotateKeys();
    const newToken = await issuer.mint({}, { clientId: 'worker' });
    await request(app).get('/orders').set('Authorization', `Bearer ${newToken}`).expect(200, { caller: 'worker' });
    await request(app).get('/orders').set('Authorization', `Bearer ${oldToken}`).expect(200);
    // The rotated key was already in the key set the API fetched first: no refetch was needed.
    expect(issuer.requestCounts.jwks).toBe(1);
  });

  it('tokens from the token endpoint keep working across a rotation', async () => {
    issuer = await createTestIssuer({
      clients: [{ clientId: 'worker', clientSecret: 's3cret', grants: { [API]: ['read:orders'] } }],
    });
    const app = apiFor(issuer);
    const tokenRequest = () =>
      fetch(issuer!.tokenEndpoint, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: 'worker',
          client_secret: 's3cret',
          audience: API,
        }),
      }).then(async (res) => ((await res.json()) as { access_token: string }).access_token);
    const before = await tokenRequest();
    await request(app).get('/orders').set('Authorization', `Bearer ${before}`).expect(200);
    await issuer.rotateKeys();
    const after = await tokenRequest();
    await request(app).get('/orders').set('Authorization', `Bearer ${after}`).expect(200);
    await request(app).get('/orders').set('Authorization', `Bearer ${before}`).expect(200);
  });

  it('without the next key published (publishNextKey: false) the rotated token is refused: the cooldown holds the refetch', async () => {
    issuer = await createTestIssuer({ publishNextKey: false });
    const app = apiFor(issuer);
    await request(app)
      .get('/orders')
      .set('Authorization', `Bearer ${await issuer.mint()}`)
      .expect(200);
    await issuer.rotateKeys();
    const res = await request(app)
      .get('/orders')
      .set('Authorization', `Bearer ${await issuer.mint()}`);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_token', error_description: 'no matching signing key' });
  });
});
