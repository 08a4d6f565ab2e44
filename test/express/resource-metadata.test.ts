import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import type { Express, Request, Response } from 'express';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import request from 'supertest';
import { m2mErrorHandler, requireM2M, requireScopes, type RequireM2MHandler } from '../../src/index.js';
import { protectedResourceMetadata, type ProtectedResourceMetadataOptions } from '../../src/express/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { express, expressMajor } from '../helpers/express.js';

const RESOURCE = 'https://api.example.com';
const DPOP_ALGS = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA'];
let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

function guard(options: Parameters<typeof requireM2M>[0] = {}): RequireM2MHandler {
  return requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: RESOURCE, ...options });
}

function appWith(metadata: ProtectedResourceMetadataOptions, auth?: RequireM2MHandler): Express {
  const app = express();
  app.use(protectedResourceMetadata(metadata));
  if (auth !== undefined) {
    app.get('/orders', auth, requireScopes('read:orders'), (_req: Request, res: Response) => {
      res.json({ ok: true });
    });
  }
  app.use(m2mErrorHandler());
  return app;
}

describe(`protectedResourceMetadata (Express ${expressMajor})`, () => {
  it('serves every member, cacheable and readable cross-origin', async () => {
    const auth = guard({ tokenLocations: ['header', 'body'] });
    await auth.ready();
    const app = appWith({
      resource: RESOURCE,
      auth,
      scopesSupported: ['read:orders', 'write:orders'],
      resourceName: 'Orders API',
      resourceDocumentation: 'https://docs.example.com/orders',
      resourcePolicyUri: 'https://example.com/policy',
      resourceTosUri: 'https://example.com/tos',
    });
    const res = await request(app).get('/.well-known/oauth-protected-resource');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('public, max-age=3600');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.body).toEqual({
      resource: RESOURCE,
      authorization_servers: [issuer.issuer],
      scopes_supported: ['read:orders', 'write:orders'],
      bearer_methods_supported: ['header', 'body'],
      dpop_signing_alg_values_supported: DPOP_ALGS,
      dpop_bound_access_tokens_required: false,
      tls_client_certificate_bound_access_tokens: true,
      resource_name: 'Orders API',
      resource_documentation: 'https://docs.example.com/orders',
      resource_policy_uri: 'https://example.com/policy',
      resource_tos_uri: 'https://example.com/tos',
    });
  });

  it('follows the DPoP and mTLS settings and an explicit list of authorization servers', async () => {
    const auth = guard({ dpop: { mode: 'required', algorithms: ['ES256'] }, mtls: { mode: 'off' } });
    const app = appWith({ resource: RESOURCE, auth, authorizationServers: ['https://login.example.com/'] });
    const res = await request(app).get('/.well-known/oauth-protected-resource');
    expect(res.body).toEqual({
      resource: RESOURCE,
      authorization_servers: ['https://login.example.com/'],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: ['ES256'],
      dpop_bound_access_tokens_required: true,
      tls_client_certificate_bound_access_tokens: false,
    });
    const off = appWith({ resource: 'https://other.example.com', auth: guard({ dpop: { mode: 'off' } }) });
    const offBody = (await request(off).get('/.well-known/oauth-protected-resource')).body;
    expect(offBody).not.toHaveProperty('dpop_signing_alg_values_supported');
    expect(offBody.dpop_bound_access_tokens_required).toBe(false);
  });

  it('lists every configured issuer as an authorization server', async () => {
    const second = await createTestIssuer();
    try {
      const auth = requireM2M({
        audience: RESOURCE,
        issuers: [{ issuerBaseURL: issuer.issuerBaseURL }, { issuer: second.issuer, jwksUri: second.jwksUri }],
      });
      await auth.ready();
      const res = await request(appWith({ resource: RESOURCE, auth })).get('/.well-known/oauth-protected-resource');
      expect(res.body.authorization_servers).toEqual([issuer.issuer, second.issuer]);
    } finally {
      await second.close();
    }
  });

  it('serves a resource with a path only at the path-inserted location', async () => {
    const app = appWith({ resource: `${RESOURCE}/orders`, authorizationServers: [issuer.issuer] });
    const res = await request(app).get('/.well-known/oauth-protected-resource/orders?x=1');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ resource: `${RESOURCE}/orders`, authorization_servers: [issuer.issuer] });
    expect((await request(app).get('/.well-known/oauth-protected-resource')).status).toBe(404);
    expect((await request(app).get('/.well-known/oauth-protected-resource/orders/x')).status).toBe(404);
  });

  it('answers HEAD and a CORS preflight, and leaves other methods to the app', async () => {
    const app = appWith({ resource: RESOURCE });
    const head = await request(app).head('/.well-known/oauth-protected-resource');
    expect(head.status).toBe(200);
    expect(head.headers['cache-control']).toBe('public, max-age=3600');
    const preflight = await request(app).options('/.well-known/oauth-protected-resource');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    expect(preflight.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS');
    expect((await request(app).post('/.well-known/oauth-protected-resource')).status).toBe(404);
  });

  it('makes every 401 of its requireM2M point at the document, and nothing else', async () => {
    const auth = guard();
    const app = appWith({ resource: RESOURCE, auth }, auth);
    const pointer = `resource_metadata="${RESOURCE}/.well-known/oauth-protected-resource"`;
    const missing = await request(app).get('/orders');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe(`Bearer realm="api", ${pointer}`);
    const expired = await issuer.mint({}, { expiresIn: -60, scope: 'read:orders' });
    const invalid = await request(app).get('/orders').set('Authorization', `Bearer ${expired}`);
    expect(invalid.status).toBe(401);
    expect(invalid.headers['www-authenticate']).toBe(
      `Bearer realm="api", error="invalid_token", error_description="token expired", ${pointer}`,
    );
    const noScope = await issuer.mint({}, { scope: 'write:orders' });
    const forbidden = await request(app).get('/orders').set('Authorization', `Bearer ${noScope}`);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['www-authenticate']).not.toContain('resource_metadata');
    const malformed = await request(app).get('/orders').set('Authorization', 'Bearer a b');
    expect(malformed.status).toBe(400);
    expect(malformed.headers['www-authenticate']).not.toContain('resource_metadata');
    const other = express();
    other.get('/orders', guard(), (_req: Request, res: Response) => res.json({}));
    other.use(m2mErrorHandler());
    expect((await request(other).get('/orders')).headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it('adds signed_metadata, a JWT that verifies with the key and carries the metadata', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const app = appWith({
      resource: RESOURCE,
      authorizationServers: [issuer.issuer],
      scopesSupported: ['read:orders'],
      signedMetadata: { privateKey: pem, kid: 'metadata-1' },
    });
    const res = await request(app).get('/.well-known/oauth-protected-resource');
    const { signed_metadata: jwt, ...plain } = res.body as Record<string, unknown>;
    expect(plain).toEqual({
      resource: RESOURCE,
      authorization_servers: [issuer.issuer],
      scopes_supported: ['read:orders'],
    });
    const { payload, protectedHeader } = await jwtVerify(jwt as string, publicKey, {
      issuer: RESOURCE,
      typ: 'oauth-protected-resource+jwt',
      algorithms: ['ES256'],
    });
    expect(protectedHeader.kid).toBe('metadata-1');
    expect(payload).toMatchObject(plain);
    expect(typeof payload.iat).toBe('number');
    const again = await request(app).get('/.well-known/oauth-protected-resource');
    expect(again.body.signed_metadata).toBe(jwt);
    const other = appWith({
      resource: RESOURCE,
      signedMetadata: { privateKey: pem, issuer: 'https://security.example.com' },
    });
    const otherJwt = (await request(other).get('/.well-known/oauth-protected-resource')).body.signed_metadata;
    expect(decodeProtectedHeader(otherJwt).kid).toBeUndefined();
    await expect(jwtVerify(otherJwt, publicKey, { issuer: 'https://security.example.com' })).resolves.toBeDefined();
  });

  it('puts the percent-encoded document URL in challenges', async () => {
    const auth = guard();
    const app = appWith({ resource: 'https://api.example.com/caf%C3%A9', auth }, auth);
    const res = await request(app).get('/orders');
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/caf%C3%A9"',
    );
  });
});

describe('protectedResourceMetadata options', () => {
  const fails = (options: unknown, message: string): void => {
    expect(() => protectedResourceMetadata(options as ProtectedResourceMetadataOptions)).toThrow(
      new RegExp(message.replace(/[.*+?^${}()|[\]\\`]/g, '\\$&')),
    );
  };

  it('refuses unknown options, a missing, insecure or query-carrying resource, and a foreign auth', () => {
    fails({ resource: RESOURCE, scopes: ['a'] }, 'unknown option `scopes`');
    fails({}, '`resource` is required');
    fails({ resource: 'http://api.example.com' }, '`resource` must be an https URL (http only on loopback)');
    fails({ resource: `${RESOURCE}/?tenant=a` }, '`resource` must not have a query or fragment');
    fails({ resource: `${RESOURCE}#x` }, '`resource` must not have a query or fragment');
    for (const resource of [`${RESOURCE}/a"b`, `${RESOURCE}/a\r\nX-Evil: 1`, `${RESOURCE}/a b`]) {
      fails({ resource }, '`resource` must not contain spaces, quotes, control characters');
    }
    fails({ resource: RESOURCE, auth: () => undefined }, '`auth` must be the middleware returned by requireM2M()');
    fails({ resource: RESOURCE, resourceDocumentation: 'docs' }, '`resourceDocumentation` is not a valid URL');
    fails({ resource: RESOURCE, signedMetadata: { privateKey: 'nope' } }, '`signedMetadata.privateKey` must be');
    expect(() => protectedResourceMetadata({ resource: 'http://127.0.0.1:3000' })).not.toThrow();
  });

  it('one document per requireM2M', () => {
    const auth = guard();
    protectedResourceMetadata({ resource: RESOURCE, auth });
    expect(() => protectedResourceMetadata({ resource: RESOURCE, auth })).not.toThrow();
    fails({ resource: `${RESOURCE}/other`, auth }, 'one document per requireM2M');
  });
});
