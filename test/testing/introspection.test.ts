import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  createLocalJWKSet,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose';
import { createDPoPKey, createTestIssuer, type TestIssuer } from '../../src/testing/index.js';

const API = 'https://api.example.com';
const SECRET = 'introspect-s3cret';
const HS_SECRET = 'a-shared-secret-of-at-least-32-bytes!';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

let issuer: TestIssuer;
let signerKey: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  signerKey = pair.privateKey;
  issuer = await createTestIssuer({
    secret: HS_SECRET,
    clients: [
      { clientId: 'api', clientSecret: SECRET, grants: {} },
      { clientId: 'signer', publicJwk: await exportJWK(pair.publicKey), grants: {} },
      { clientId: 'worker', clientSecret: 'w', grants: { [API]: ['read:orders'] } },
      { clientId: 'opaque-worker', clientSecret: 'o', tokenFormat: 'opaque', grants: { [API]: ['read:orders'] } },
    ],
  });
});
afterAll(() => issuer.close());

async function introspect(
  body: Record<string, string>,
  headers: Record<string, string> = {},
  auth: Record<string, string> = { client_id: 'api', client_secret: SECRET },
): Promise<Answer> {
  const res = await fetch(issuer.introspectionEndpoint, {
    method: 'POST',
    headers,
    body: new URLSearchParams({ ...auth, ...body }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: JSON.parse(text) as Record<string, unknown> };
}

async function issued(clientId: string, secret: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(issuer.tokenEndpoint, {
    method: 'POST',
    headers,
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: secret,
      audience: API,
    }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('POST /oauth/introspect', () => {
  it('is advertised in discovery and exposed as introspectionEndpoint', async () => {
    expect(issuer.introspectionEndpoint).toBe(`${issuer.issuerBaseURL}/oauth/introspect`);
    const doc = (await (await fetch(`${issuer.issuerBaseURL}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(doc).toMatchObject({
      introspection_endpoint: issuer.introspectionEndpoint,
      introspection_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'private_key_jwt'],
    });
  });

  it('answers an active JWT with its claims, client_id and token_type, uncacheable', async () => {
    const token = await issuer.mint({}, { clientId: 'worker', scope: 'read:orders' });
    const claims = decodeJwt(token);
    const res = await introspect({ token, token_type_hint: 'access_token' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.json).toEqual({
      active: true,
      iss: issuer.issuer,
      aud: API,
      sub: 'worker@clients',
      azp: 'worker',
      gty: 'client-credentials',
      client_id: 'worker',
      scope: 'read:orders',
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
      token_type: 'Bearer',
    });
  });

  it('answers tokens from the token endpoint and HS256 tokens signed with the secret', async () => {
    expect((await introspect({ token: await issued('worker', 'w') })).json).toMatchObject({
      active: true,
      client_id: 'worker',
    });
    expect((await introspect({ token: await issuer.mint({}, { alg: 'HS256' }) })).json.active).toBe(true);
  });

  it('answers { active: false } for unknown, forged, unsigned, expired and not-yet-valid tokens', async () => {
    const inactive = [
      'not-a-token-we-know',
      await issuer.mint({}, { foreignKey: true }),
      await issuer.mint({}, { alg: 'HS256', foreignKey: true }),
      await issuer.mint({}, { alg: 'none' }),
      await issuer.mint({}, { expiresIn: -10 }),
      await issuer.mint({}, { notBefore: 600 }),
      await issuer.mint({}, { expiresIn: -10, format: 'opaque' }),
    ];
    for (const token of inactive) {
      const res = await introspect({ token });
      expect({ status: res.status, json: res.json }).toEqual({ status: 200, json: { active: false } });
    }
  });

  it('reports a DPoP-bound token as token_type DPoP with its cnf', async () => {
    const key = await createDPoPKey();
    const token = await issued('worker', 'w', { dpop: await key.proof('POST', issuer.tokenEndpoint) });
    expect((await introspect({ token })).json).toMatchObject({
      active: true,
      token_type: 'DPoP',
      cnf: { jkt: key.jkt },
    });
    const minted = await issuer.mint({ cnf: { jkt: key.jkt } });
    expect((await introspect({ token: minted })).json).toMatchObject({ token_type: 'DPoP', cnf: { jkt: key.jkt } });
  });

  it.each<[string, Record<string, string>, Record<string, string>, number, string]>([
    ['no client authentication', {}, {}, 401, 'invalid_client'],
    ['a wrong secret', { client_id: 'api', client_secret: 'wrong' }, {}, 401, 'invalid_client'],
    ['an unknown client', { client_id: 'nobody', client_secret: SECRET }, {}, 401, 'invalid_client'],
    [
      'bad Basic credentials',
      {},
      { authorization: `Basic ${Buffer.from('api:wrong').toString('base64')}` },
      401,
      'invalid_client',
    ],
  ])('refuses %s', async (_name, auth, headers, status, error) => {
    const token = await issuer.mint();
    const res = await introspect({ token }, headers, auth);
    expect(res.status).toBe(status);
    expect(res.json.error).toBe(error);
    expect(JSON.stringify(res.json)).not.toContain(token);
    expect(JSON.stringify(res.json)).not.toContain('active');
  });

  it('challenges with Basic after bad Basic credentials, accepts good ones', async () => {
    const bad = await introspect(
      { token: 'x' },
      { authorization: `Basic ${Buffer.from('api:wrong').toString('base64')}` },
      {},
    );
    expect(bad.headers.get('www-authenticate')).toBe('Basic realm="test-issuer"');
    const good = await introspect(
      { token: 'x' },
      { authorization: `Basic ${Buffer.from(`api:${SECRET}`).toString('base64')}` },
      {},
    );
    expect(good.json).toEqual({ active: false });
  });

  it('accepts private_key_jwt with aud = the introspection endpoint', async () => {
    const assertion = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('signer')
      .setSubject('signer')
      .setAudience(issuer.introspectionEndpoint)
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(signerKey);
    const res = await introspect(
      { token: await issuer.mint() },
      {},
      { client_assertion_type: ASSERTION_TYPE, client_assertion: assertion },
    );
    expect(res.json.active).toBe(true);
  });

  it('wants a token parameter and a POST', async () => {
    const res = await introspect({});
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
    const get = await fetch(issuer.introspectionEndpoint);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('counts introspection requests', async () => {
    const before = issuer.requestCounts.introspection;
    await introspect({ token: 'a' });
    await introspect({ token: 'b' }, {}, {});
    expect(issuer.requestCounts.introspection).toBe(before + 2);
  });
});

describe('RFC 9701 signed introspection responses', () => {
  const accept = { accept: 'application/token-introspection+jwt' };

  it('signs the answer with the current key: typ, iss, aud = the caller, claims under token_introspection', async () => {
    const token = await issuer.mint({}, { clientId: 'worker', scope: 'read:orders' });
    const res = await fetch(issuer.introspectionEndpoint, {
      method: 'POST',
      headers: accept,
      body: new URLSearchParams({ client_id: 'api', client_secret: SECRET, token }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/token-introspection+jwt');
    const jwt = await res.text();
    const jwks = createLocalJWKSet((await (await fetch(issuer.jwksUri)).json()) as { keys: JWK[] });
    const { payload, protectedHeader } = await jwtVerify(jwt, jwks, {
      typ: 'token-introspection+jwt',
      issuer: issuer.issuer,
      audience: 'api',
    });
    expect(protectedHeader.kid).toBe(issuer.currentKid());
    expect(payload.token_introspection).toMatchObject({ active: true, client_id: 'worker', scope: 'read:orders' });
  });

  it('wraps an inactive answer too', async () => {
    const res = await fetch(issuer.introspectionEndpoint, {
      method: 'POST',
      headers: accept,
      body: new URLSearchParams({ client_id: 'api', client_secret: SECRET, token: 'unknown' }),
    });
    expect(decodeJwt(await res.text()).token_introspection).toEqual({ active: false });
  });
});

describe('opaque tokens and revocation', () => {
  it('mint({ format: "opaque" }) returns a random string whose claims introspection reveals', async () => {
    const token = await issuer.mint(
      { org_id: 'org_1' },
      { clientId: 'worker', scope: 'read:orders', format: 'opaque' },
    );
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await issuer.mint({}, { format: 'opaque' })).not.toBe(token);
    expect((await introspect({ token })).json).toMatchObject({
      active: true,
      client_id: 'worker',
      scope: 'read:orders',
      org_id: 'org_1',
      iss: issuer.issuer,
      aud: API,
      token_type: 'Bearer',
    });
    await expect(issuer.mint({}, { format: 'paseto' as 'opaque' })).rejects.toThrow(TypeError);
  });

  it('a client with tokenFormat opaque gets opaque tokens from the token endpoint, DPoP-bound on request', async () => {
    const token = await issued('opaque-worker', 'o');
    expect(token).not.toContain('.');
    expect((await introspect({ token })).json).toMatchObject({
      active: true,
      client_id: 'opaque-worker',
      scope: 'read:orders',
    });
    const key = await createDPoPKey();
    const bound = await issued('opaque-worker', 'o', { dpop: await key.proof('POST', issuer.tokenEndpoint) });
    expect((await introspect({ token: bound })).json).toMatchObject({ token_type: 'DPoP', cnf: { jkt: key.jkt } });
  });

  it('revoke() makes a JWT or an opaque token inactive, and only that token', async () => {
    const jwt = await issuer.mint();
    const sibling = await issuer.mint();
    const opaque = await issuer.mint({}, { format: 'opaque' });
    expect((await introspect({ token: jwt })).json.active).toBe(true);
    issuer.revoke(jwt);
    issuer.revoke(opaque);
    issuer.revoke('never-issued');
    expect((await introspect({ token: jwt })).json).toEqual({ active: false });
    expect((await introspect({ token: opaque })).json).toEqual({ active: false });
    expect((await introspect({ token: sibling })).json.active).toBe(true);
    expect(() => issuer.revoke('')).toThrow(TypeError);
  });
});

describe('introspection with the rfc9068 profile', () => {
  it('answers client_id and no Auth0 claims', async () => {
    const rfc = await createTestIssuer({ profile: 'rfc9068', clients: [{ clientId: 'rs', clientSecret: 'r' }] });
    try {
      const token = await rfc.mint({}, { clientId: 'worker' });
      const res = await fetch(rfc.introspectionEndpoint, {
        method: 'POST',
        body: new URLSearchParams({ client_id: 'rs', client_secret: 'r', token }),
      });
      const json = (await res.json()) as Record<string, unknown>;
      expect(json).toMatchObject({ active: true, client_id: 'worker', sub: 'worker', token_type: 'Bearer' });
      expect(json).not.toHaveProperty('gty');
      expect(json).not.toHaveProperty('azp');
    } finally {
      await rfc.close();
    }
  });
});
