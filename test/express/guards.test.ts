import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Express, RequestHandler } from 'express';
import request from 'supertest';
import {
  m2mErrorHandler,
  requireAnyScope,
  requireClaim,
  requireClient,
  requireM2M,
  requireScopes,
} from '../../src/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { express, expressMajor } from '../helpers/express.js';

const AUDIENCE = 'https://api.example.com';
let issuer: TestIssuer;
let app: Express;

function route(path: string, ...guards: RequestHandler[]): void {
  app.get(path, ...guards, (_req, res) => {
    res.json({ ok: true });
  });
}

beforeAll(async () => {
  issuer = await createTestIssuer();
  app = express();
  app.use(requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, realm: 'orders' }));
  route('/all', requireScopes('read:orders', 'write:orders'));
  route('/all-array', requireScopes(['read:orders', 'write:orders']));
  route('/any', requireAnyScope('read:orders', 'admin'));
  route('/client', requireClient('billing', 'worker'));
  route('/claim-scalar', requireClaim('org_id', 'org_1'));
  route('/claim-array', requireClaim('roles', 'admin'));
  route('/claim-object', requireClaim('meta', { tier: 'gold', regions: ['eu'] }));
  route(
    '/claim-predicate',
    requireClaim('tier', (value) => value === 'gold' || value === 'platinum'),
  );
  route(
    '/claim-throws',
    requireClaim('tier', () => {
      throw new Error('boom');
    }),
  );
  app.use(m2mErrorHandler());
});
afterAll(() => issuer.close());

async function call(path: string, claims: Record<string, unknown> = {}, scope?: string, clientId?: string) {
  const token = await issuer.mint(claims, {
    ...(scope !== undefined && { scope }),
    ...(clientId !== undefined && { clientId }),
  });
  return request(app).get(path).set('Authorization', `Bearer ${token}`);
}

describe(`requireScopes (Express ${expressMajor})`, () => {
  it('passes when every scope is granted, by strings or by array', async () => {
    expect((await call('/all', {}, 'write:orders read:orders')).status).toBe(200);
    expect((await call('/all-array', { permissions: ['write:orders'] }, 'read:orders')).status).toBe(200);
  });

  it('answers 403 insufficient_scope with the required scopes in the challenge', async () => {
    const res = await call('/all', {}, 'read:orders');
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="orders", error="insufficient_scope", error_description="missing required scope", scope="read:orders write:orders"',
    );
    expect(res.body).toEqual({ error: 'insufficient_scope', error_description: 'missing required scope' });
  });

  it('refuses invalid scope names at construction', () => {
    expect(() => requireScopes()).toThrow(/one or more/);
    expect(() => requireScopes('a b')).toThrow(
      "requireScopes: pass scopes as separate arguments: requireScopes('a', 'b'), not one space-separated string",
    );
    expect(() => requireScopes('a"b')).toThrow(/printable ASCII/);
  });
});

describe('requireAnyScope', () => {
  it('passes with one of the scopes', async () => {
    expect((await call('/any', {}, 'admin')).status).toBe(200);
  });

  it('answers 403 listing the accepted scopes', async () => {
    const res = await call('/any', {}, 'other');
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toContain('scope="read:orders admin"');
  });
});

describe('requireClient', () => {
  it('passes for a listed client', async () => {
    expect((await call('/client', {}, undefined, 'worker')).status).toBe(200);
  });

  it('answers 403 without a scope attribute for another client', async () => {
    const res = await call('/client', {}, undefined, 'intruder');
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="orders", error="insufficient_scope", error_description="client not allowed"',
    );
  });
});

describe('requireClaim', () => {
  it.each<[string, Record<string, unknown>, number]>([
    ['/claim-scalar', { org_id: 'org_1' }, 200],
    ['/claim-scalar', { org_id: 'org_2' }, 403],
    ['/claim-scalar', {}, 403],
    ['/claim-array', { roles: ['reader', 'admin'] }, 200],
    ['/claim-array', { roles: ['reader'] }, 403],
    ['/claim-object', { meta: { regions: ['eu'], tier: 'gold' } }, 200],
    ['/claim-object', { meta: { regions: ['eu', 'us'], tier: 'gold' } }, 403],
    ['/claim-object', { meta: { tier: 'gold' } }, 403],
    ['/claim-predicate', { tier: 'platinum' }, 200],
    ['/claim-predicate', { tier: 'silver' }, 403],
    ['/claim-throws', { tier: 'gold' }, 403],
  ])('%s with %j answers %i', async (path, claims, status) => {
    const res = await call(path, claims);
    expect(res.status).toBe(status);
    if (status === 403) {
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="orders", error="insufficient_scope", error_description="required claim not satisfied"',
      );
    }
  });

  it('refuses a missing name or expectation at construction', () => {
    expect(() => requireClaim('', 'x')).toThrow(/claim name/);
    expect(() => requireClaim('x', undefined as never)).toThrow(/expected/);
  });
});

describe('guards without requireM2M fail closed', () => {
  it.each([
    ['requireScopes', requireScopes('a')],
    ['requireAnyScope', requireAnyScope('a')],
    ['requireClient', requireClient('a')],
    ['requireClaim', requireClaim('a', 1)],
  ])('%s answers 401 when no verified token is present', async (_name, guard) => {
    const bare = express();
    bare.use((req, _res, next) => {
      // Something else set req.auth: the guard must not trust it.
      req.auth = { clientId: 'a', scopes: ['a'], payload: { a: 1 } } as never;
      next();
    });
    bare.get('/', guard, (_req, res) => {
      res.send('reached');
    });
    bare.use(m2mErrorHandler());
    const res = await request(bare).get('/');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it('answers 401 after requireM2M with authRequired: false and no token', async () => {
    const optional = express();
    optional.use(
      requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, authRequired: false, realm: 'r' }),
    );
    optional.get('/', requireScopes('a'), (_req, res) => {
      res.send('reached');
    });
    optional.use(m2mErrorHandler());
    const res = await request(optional).get('/');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="r"');
  });
});

describe('guard misuse and what operators see', () => {
  it('refuses requireClaim with several expected values, pointing to a predicate', () => {
    expect(() => (requireClaim as (...args: unknown[]) => unknown)('roles', 'ops', 'admin')).toThrow(
      /requireClaim takes one expected value; to accept any of several, pass a predicate/,
    );
  });

  it('gives each 403 a reason and details for logs, never in the response', async () => {
    const seen: { reason: string; details: unknown }[] = [];
    const logged = express();
    logged.use(requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE }));
    logged.get('/scoped', requireScopes('write:orders'), (_req, res) => {
      res.json({ ok: true });
    });
    logged.get('/client', requireClient('billing'), (_req, res) => {
      res.json({ ok: true });
    });
    logged.use(m2mErrorHandler({ onError: (error) => seen.push({ reason: error.reason, details: error.details }) }));
    const token = await issuer.mint({}, { clientId: 'worker', scope: 'read:orders' });
    const scoped = await request(logged).get('/scoped').set('Authorization', `Bearer ${token}`);
    await request(logged).get('/client').set('Authorization', `Bearer ${token}`);
    expect(scoped.status).toBe(403);
    expect(JSON.stringify(scoped.body) + scoped.headers['www-authenticate']).not.toContain('read:orders');
    expect(seen).toEqual([
      {
        reason: 'insufficient_scope',
        details: { claim: 'scope', expected: ['write:orders'], actual: ['read:orders'] },
      },
      { reason: 'client_not_allowed', details: { claim: 'client_id', expected: ['billing'], actual: 'worker' } },
    ]);
  });
});
