import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Express, Request, Response } from 'express';
import request from 'supertest';
import { m2mErrorHandler, requireM2M, type RequireM2MHandler } from '../../src/index.js';
import type { RequireM2MOptions } from '../../src/options/types.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { express, expressMajor } from '../helpers/express.js';

const AUDIENCE = 'https://api.example.com';
let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

function appWith(options: RequireM2MOptions = {}, setup?: (app: Express) => void): Express {
  const app = express();
  setup?.(app);
  app.use(requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, ...options }));
  const echo = (req: Request, res: Response): void => {
    res.json({ auth: req.auth === undefined ? null : { clientId: req.auth.clientId, scopes: req.auth.scopes } });
  };
  app.get('/orders', echo);
  app.post('/orders', echo);
  app.use(m2mErrorHandler());
  return app;
}

describe(`requireM2M (Express ${expressMajor})`, () => {
  let app: Express;
  beforeAll(() => {
    app = appWith();
  });

  it('lets a valid token through and sets req.auth', async () => {
    const token = await issuer.mint({}, { clientId: 'worker', scope: 'read:orders' });
    const res = await request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ auth: { clientId: 'worker', scopes: ['read:orders'] } });
  });

  it('answers 401 without error code when no token is sent', async () => {
    const res = await request(app).get('/orders');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ error: 'unauthorized', error_description: 'authentication required' });
  });

  it('treats another scheme as no token', async () => {
    const res = await request(app).get('/orders').set('Authorization', 'Basic dXNlcjpwYXNz');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it('answers 400 invalid_request for a malformed Authorization header', async () => {
    const res = await request(app).get('/orders').set('Authorization', 'Bearer a b');
    expect(res.status).toBe(400);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="invalid_request", error_description="malformed token"',
    );
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'malformed token' });
  });

  it('answers 401 invalid_token for an expired token', async () => {
    const token = await issuer.mint({}, { expiresIn: -60 });
    const res = await request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="invalid_token", error_description="token expired"',
    );
    expect(res.body).toEqual({ error: 'invalid_token', error_description: 'token expired' });
  });

  it('answers 401 invalid_token for a token that is not M2M', async () => {
    const token = await issuer.mint({ gty: undefined, sub: 'auth0|user' });
    const res = await request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="invalid_token", error_description="token was not issued to a client (client-credentials grant)"',
    );
  });

  it('accepts a lower-case scheme', async () => {
    const res = await request(app)
      .get('/orders')
      .set('Authorization', `bearer ${await issuer.mint()}`);
    expect(res.status).toBe(200);
  });

  it('reads the Authorization header as an earlier middleware left it in req.headers', async () => {
    const token = await issuer.mint({}, { clientId: 'gateway', scope: 'read:orders' });
    const translated = appWith({}, (app) => {
      app.use((req, _res, next) => {
        // A gateway's own header moved to where requireM2M reads the token.
        const forwarded = req.headers['x-forwarded-authorization'];
        if (typeof forwarded === 'string') req.headers.authorization = forwarded;
        delete req.headers['x-forwarded-authorization'];
        if (req.headers['x-drop-authorization'] !== undefined) delete req.headers.authorization;
        next();
      });
    });
    const moved = await request(translated).get('/orders').set('X-Forwarded-Authorization', `Bearer ${token}`);
    expect(moved.status).toBe(200);
    expect(moved.body).toEqual({ auth: { clientId: 'gateway', scopes: ['read:orders'] } });
    const dropped = await request(translated)
      .get('/orders')
      .set('Authorization', `Bearer ${token}`)
      .set('X-Drop-Authorization', '1');
    expect(dropped.status).toBe(401);
    expect(dropped.body).toEqual({ error: 'unauthorized', error_description: 'authentication required' });
  });

  it('ignores query and body tokens by default', async () => {
    const token = await issuer.mint();
    expect((await request(app).get(`/orders?access_token=${token}`)).status).toBe(401);
  });

  it('uses the configured realm', async () => {
    const res = await request(appWith({ realm: 'orders' })).get('/orders');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="orders"');
  });

  it('exposes the verifier and ready()', async () => {
    const middleware: RequireM2MHandler = requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE });
    await expect(middleware.ready()).resolves.toBeUndefined();
    await expect(middleware.verifier.verify(await issuer.mint())).resolves.toMatchObject({ clientId: 'test-client' });
  });

  it('fails fast when misconfigured', () => {
    const saved = { ...process.env };
    delete process.env.ISSUER_BASE_URL;
    delete process.env.AUDIENCE;
    try {
      expect(() => requireM2M({ audience: AUDIENCE })).toThrow(/ISSUER_BASE_URL/);
      expect(() => requireM2M({ issuerBaseURL: issuer.issuerBaseURL })).toThrow(/AUDIENCE/);
      expect(() =>
        requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, tokenLocations: ['cookie' as never] }),
      ).toThrow(/tokenLocations/);
    } finally {
      process.env = saved;
    }
  });

  it('reads ISSUER_BASE_URL and AUDIENCE from the environment', async () => {
    const saved = { ...process.env };
    process.env.ISSUER_BASE_URL = issuer.issuerBaseURL;
    process.env.AUDIENCE = AUDIENCE;
    try {
      const envApp = express();
      envApp.use(requireM2M());
      envApp.get('/', (_req, res) => {
        res.send('ok');
      });
      const res = await request(envApp)
        .get('/')
        .set('Authorization', `Bearer ${await issuer.mint()}`);
      expect(res.status).toBe(200);
    } finally {
      process.env = saved;
    }
  });
});

describe('requireM2M: 503 on a cold start with the issuer down', () => {
  it('answers 503 temporarily_unavailable with Retry-After', async () => {
    const down = await createTestIssuer();
    const token = await down.mint();
    const { issuerBaseURL } = down;
    await down.close();
    const res = await request(appWith({ issuerBaseURL, jwks: { cooldown: 7.2, timeout: 1 } }))
      .get('/orders')
      .set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('8');
    expect(res.body).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'signing keys are temporarily unavailable',
    });
  });
});

describe('requireM2M: authRequired: false', () => {
  let app: Express;
  beforeAll(() => {
    app = appWith({ authRequired: false });
  });

  it('lets a request without token continue with req.auth unset', async () => {
    const res = await request(app).get('/orders');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ auth: null });
  });

  it('still refuses an invalid token', async () => {
    const res = await request(app).get('/orders').set('Authorization', 'Bearer not.a.token');
    expect(res.status).toBe(401);
  });

  it('still verifies a valid token', async () => {
    const res = await request(app)
      .get('/orders')
      .set('Authorization', `Bearer ${await issuer.mint({}, { clientId: 'w' })}`);
    expect(res.body.auth.clientId).toBe('w');
  });
});

describe('requireM2M: tokenLocations', () => {
  it('reads access_token from the query when enabled', async () => {
    const app = appWith({ tokenLocations: ['header', 'query'] });
    const token = await issuer.mint({}, { clientId: 'q' });
    const res = await request(app).get(`/orders?access_token=${token}`);
    expect(res.status).toBe(200);
    expect(res.body.auth.clientId).toBe('q');
  });

  it('reads access_token from a form body parsed by express.urlencoded()', async () => {
    const app = appWith({ tokenLocations: ['header', 'body'] }, (a) => a.use(express.urlencoded({ extended: false })));
    const token = await issuer.mint({}, { clientId: 'b' });
    const res = await request(app).post('/orders').type('form').send({ access_token: token });
    expect(res.status).toBe(200);
    expect(res.body.auth.clientId).toBe('b');
  });

  it('ignores access_token in a JSON body', async () => {
    const app = appWith({ tokenLocations: ['body'] }, (a) => a.use(express.json()));
    const res = await request(app)
      .post('/orders')
      .send({ access_token: await issuer.mint() });
    expect(res.status).toBe(401);
  });

  it('refuses a token sent in two places with 400 invalid_request', async () => {
    const app = appWith({ tokenLocations: ['header', 'query'] });
    const token = await issuer.mint();
    const res = await request(app).get(`/orders?access_token=${token}`).set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_request',
      error_description: 'more than one method used to send the token',
    });
  });
});

describe('requireM2M without m2mErrorHandler', () => {
  it("renders through Express's default handler with the status and WWW-Authenticate", async () => {
    const app = express();
    app.use(requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE }));
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    const res = await request(app).get('/').set('Authorization', 'Bearer x.y.z');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="invalid_token", error_description="malformed token"',
    );
  });
});
