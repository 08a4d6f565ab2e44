import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import {
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';

const API = 'https://api.example.com';
const OTHER_API = 'https://other.example.com';
const SECRET = 'p@ss:w+rd/%é';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface TokenResponse {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  const part = token.split('.')[index] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function fetchJson(url: string): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

async function jwksOf(issuer: TestIssuer): Promise<ReturnType<typeof createLocalJWKSet>> {
  const res = await fetch(issuer.jwksUri);
  return createLocalJWKSet((await res.json()) as { keys: JWK[] });
}

async function postToken(
  issuer: TestIssuer,
  body: Record<string, string> | string,
  headers: Record<string, string> = {},
): Promise<TokenResponse> {
  const res = await fetch(issuer.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof body === 'string' ? body : new URLSearchParams(body).toString(),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

function basic(id: string, secret: string): string {
  const encode = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}

describe('createTestIssuer (auth0 profile)', () => {
  let issuer: TestIssuer;
  let clientKey: CryptoKey;
  let otherKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    clientKey = pair.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    issuer = await createTestIssuer({
      clients: [
        { clientId: 'worker', clientSecret: SECRET, grants: { [API]: ['read:orders', 'write:orders'] } },
        { clientId: 'signer', publicJwk: await exportJWK(pair.publicKey), grants: { [API]: ['read:orders'] } },
        { clientId: 'org-worker', clientSecret: 'org-secret', organization: 'org_abc', grants: { [OTHER_API]: [] } },
      ],
    });
  });

  afterAll(async () => {
    await issuer.close();
  });

  function assertion(
    clientId: string,
    overrides: { aud?: string; key?: CryptoKey; exp?: boolean; iss?: string; jti?: string } = {},
  ) {
    let jwt = new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(overrides.iss ?? clientId)
      .setSubject(clientId)
      .setAudience(overrides.aud ?? issuer.tokenEndpoint)
      .setIssuedAt()
      .setJti(overrides.jti ?? randomUUID());
    if (overrides.exp !== false) jwt = jwt.setExpirationTime('2m');
    return jwt.sign(overrides.key ?? clientKey);
  }

  describe('URLs and discovery', () => {
    it('exposes consistent URLs', () => {
      expect(issuer.issuerBaseURL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(issuer.issuer).toBe(`${issuer.issuerBaseURL}/`);
      expect(issuer.jwksUri).toBe(`${issuer.issuerBaseURL}/.well-known/jwks.json`);
      expect(issuer.tokenEndpoint).toBe(`${issuer.issuerBaseURL}/oauth/token`);
    });

    it('serves the OpenID and RFC 8414 documents', async () => {
      const oidc = await fetchJson(`${issuer.issuerBaseURL}/.well-known/openid-configuration`);
      expect(oidc.status).toBe(200);
      expect(oidc.headers.get('content-type')).toBe('application/json');
      expect(oidc.json).toMatchObject({
        issuer: issuer.issuer,
        jwks_uri: issuer.jwksUri,
        token_endpoint: issuer.tokenEndpoint,
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'private_key_jwt'],
        response_types_supported: ['token'],
      });
      expect(oidc.json.token_endpoint_auth_signing_alg_values_supported).toContain('ES256');
      expect(oidc.json.id_token_signing_alg_values_supported).toContain('RS256');
      const rfc8414 = await fetchJson(`${issuer.issuerBaseURL}/.well-known/oauth-authorization-server`);
      expect(rfc8414.json).toEqual(oidc.json);
    });

    it('serves only public key material in the JWKS', async () => {
      const { status, json } = await fetchJson(issuer.jwksUri);
      expect(status).toBe(200);
      const keys = json.keys as JWK[];
      expect(keys.length).toBeGreaterThanOrEqual(1);
      for (const key of keys) {
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(member);
        expect(key.use).toBe('sig');
        expect(typeof key.kid).toBe('string');
        expect(typeof key.alg).toBe('string');
      }
      const rsa = keys.find((k) => k.kid === issuer.currentKid());
      expect(rsa).toMatchObject({ kty: 'RSA', alg: 'RS256', e: 'AQAB' });
      expect(json).toEqual(issuer.publicJwks());
    });

    it('answers unknown paths with 404 JSON and wrong methods with 405', async () => {
      const missing = await fetchJson(`${issuer.issuerBaseURL}/nope?x=1`);
      expect(missing.status).toBe(404);
      expect(missing.json.error).toBe('not_found');
      const res = await fetch(issuer.tokenEndpoint);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    });
  });

  describe('POST /oauth/token', () => {
    it('issues a token with client_secret_post and all granted scopes', async () => {
      const res = await postToken(issuer, {
        grant_type: 'client_credentials',
        client_id: 'worker',
        client_secret: SECRET,
        audience: API,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(res.json).toMatchObject({ token_type: 'Bearer', expires_in: 86400, scope: 'read:orders write:orders' });
      const { payload, protectedHeader } = await jwtVerify(res.json.access_token as string, await jwksOf(issuer), {
        issuer: issuer.issuer,
        audience: API,
      });
      expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: issuer.currentKid() });
      expect(payload).toMatchObject({
        sub: 'worker@clients',
        azp: 'worker',
        gty: 'client-credentials',
        scope: 'read:orders write:orders',
      });
    });

    it('narrows scopes to the requested ones and accepts JSON bodies', async () => {
      const res = await fetch(issuer.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({
          grant_type: 'client_credentials',
          client_id: 'worker',
          client_secret: SECRET,
          audience: API,
          scope: 'write:orders',
        }),
      });
      expect(res.status).toBe(200);
      const json = (await res.json()) as Record<string, unknown>;
      expect(json.scope).toBe('write:orders');
      expect(decodePart(json.access_token as string, 1).scope).toBe('write:orders');
    });

    it('accepts client_secret_basic with form-encoded credentials', async () => {
      const res = await postToken(
        issuer,
        { grant_type: 'client_credentials', audience: API },
        {
          authorization: basic('worker', SECRET),
        },
      );
      expect(res.status).toBe(200);
      expect(res.json.token_type).toBe('Bearer');
    });

    it('accepts private_key_jwt with aud = token endpoint or issuer, once per jti', async () => {
      const jti = randomUUID();
      const body = (clientAssertion: string) => ({
        grant_type: 'client_credentials',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: clientAssertion,
        audience: API,
      });
      const first = await postToken(issuer, body(await assertion('signer', { jti })));
      expect(first.status).toBe(200);
      expect(decodePart(first.json.access_token as string, 1)).toMatchObject({ azp: 'signer', scope: 'read:orders' });
      const replay = await postToken(issuer, body(await assertion('signer', { jti })));
      expect(replay.status).toBe(401);
      expect(replay.json.error).toBe('invalid_client');
      const toIssuer = await postToken(issuer, body(await assertion('signer', { aud: issuer.issuer })));
      expect(toIssuer.status).toBe(200);
    });

    type AssertionChange = { otherKey?: boolean; aud?: string; exp?: boolean; iss?: string };
    it.each<[string, AssertionChange]>([
      ['signed with another key', { otherKey: true }],
      ['for another audience', { aud: 'https://elsewhere.example.com' }],
      ['without exp', { exp: false }],
      ['with iss different from sub', { iss: 'someone-else' }],
    ])('rejects a client assertion %s', async (_name, { otherKey: useOtherKey, ...overrides }) => {
      const token = await assertion('signer', { ...overrides, key: useOtherKey === true ? otherKey : clientKey });
      const res = await postToken(issuer, {
        grant_type: 'client_credentials',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: token,
        audience: API,
      });
      expect(res.status).toBe(401);
      expect(res.json.error).toBe('invalid_client');
      expect(JSON.stringify(res.json)).not.toContain(token);
    });

    const good = { grant_type: 'client_credentials', client_id: 'worker', client_secret: SECRET, audience: API };
    it.each<[string, Record<string, string> | string, number, string]>([
      ['missing grant_type', { ...good, grant_type: '' }, 400, 'invalid_request'],
      ['another grant_type', { ...good, grant_type: 'password' }, 400, 'unsupported_grant_type'],
      ['an unknown client', { ...good, client_id: 'nobody' }, 401, 'invalid_client'],
      ['a wrong secret', { ...good, client_secret: 'wrong-secret' }, 401, 'invalid_client'],
      [
        'no client authentication',
        { grant_type: 'client_credentials', client_id: 'worker', audience: API },
        401,
        'invalid_client',
      ],
      [
        'a secret and an assertion',
        { ...good, client_assertion_type: ASSERTION_TYPE, client_assertion: 'a.b.c' },
        400,
        'invalid_request',
      ],
      [
        'a malformed assertion',
        {
          grant_type: 'client_credentials',
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: 'garbage',
          audience: API,
        },
        401,
        'invalid_client',
      ],
      [
        'an unknown assertion type',
        { grant_type: 'client_credentials', client_assertion_type: 'urn:x', client_assertion: 'a.b.c', audience: API },
        400,
        'invalid_request',
      ],
      ['missing audience', { ...good, audience: '' }, 400, 'invalid_request'],
      ['an ungranted audience', { ...good, audience: OTHER_API }, 403, 'access_denied'],
      ['an ungranted scope', { ...good, scope: 'read:orders delete:orders' }, 400, 'invalid_scope'],
      [
        'repeated parameters',
        `${new URLSearchParams(good).toString()}&audience=${encodeURIComponent(API)}`,
        400,
        'invalid_request',
      ],
    ])('rejects %s', async (_name, body, status, error) => {
      const res = await postToken(issuer, body);
      expect(res.status).toBe(status);
      expect(res.json.error).toBe(error);
      expect(typeof res.json.error_description).toBe('string');
      expect(res.json.error_description).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]*$/);
      expect(JSON.stringify(res.json)).not.toContain(SECRET);
      expect(JSON.stringify(res.json)).not.toContain('wrong-secret');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('www-authenticate')).toBeNull();
    });

    it('echoes the audience, never the secret, when access is denied', async () => {
      const res = await postToken(issuer, { ...good, audience: OTHER_API });
      expect(res.json.error_description).toBe(`Client is not authorized to access ${OTHER_API}`);
    });

    it('challenges with Basic when Basic credentials fail', async () => {
      for (const authorization of [
        basic('worker', 'wrong'),
        basic('nobody', SECRET),
        'Basic !!!not-base64',
        'Basic Zm9v',
      ]) {
        const res = await postToken(issuer, { grant_type: 'client_credentials', audience: API }, { authorization });
        expect(res.status).toBe(401);
        expect(res.json.error).toBe('invalid_client');
        expect(res.headers.get('www-authenticate')).toBe('Basic realm="test-issuer"');
      }
    });

    it('rejects Basic combined with client_secret_post, or a mismatched client_id', async () => {
      const both = await postToken(issuer, good, { authorization: basic('worker', SECRET) });
      expect(both.status).toBe(400);
      expect(both.json.error).toBe('invalid_request');
      const mismatch = await postToken(
        issuer,
        { grant_type: 'client_credentials', client_id: 'other', audience: API },
        {
          authorization: basic('worker', SECRET),
        },
      );
      expect(mismatch.status).toBe(400);
      expect(mismatch.json.error).toBe('invalid_request');
    });

    it('survives malformed bodies', async () => {
      const badJson = await fetch(issuer.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"grant_type":',
      });
      expect(badJson.status).toBe(400);
      const nonString = await fetch(issuer.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...good, audience: [API] }),
      });
      expect(nonString.status).toBe(400);
      const wrongType = await postToken(issuer, 'x', { 'content-type': 'text/plain' });
      expect(wrongType.status).toBe(400);
      expect(wrongType.json.error).toBe('invalid_request');
      const bad = await postToken(issuer, '%E0%A4%A=%zz&&==');
      expect(bad.status).toBe(400);
    });

    it('refuses bodies over 64 KB with 413', async () => {
      const res = await postToken(issuer, `${new URLSearchParams(good).toString()}&pad=${'x'.repeat(70_000)}`);
      expect(res.status).toBe(413);
    });

    it('adds org_id for a matching organization and rejects a different one', async () => {
      const request = {
        grant_type: 'client_credentials',
        client_id: 'org-worker',
        client_secret: 'org-secret',
        audience: OTHER_API,
      };
      const ok = await postToken(issuer, { ...request, organization: 'org_abc' });
      expect(ok.status).toBe(200);
      expect(ok.json).not.toHaveProperty('scope');
      const claims = decodePart(ok.json.access_token as string, 1);
      expect(claims.org_id).toBe('org_abc');
      expect(claims).not.toHaveProperty('scope');
      const wrong = await postToken(issuer, { ...request, organization: 'org_xyz' });
      expect(wrong.status).toBe(400);
      expect(wrong.json.error).toBe('invalid_request');
    });

    it('serves clients registered later with addClient', async () => {
      issuer.addClient({ clientId: 'late', clientSecret: 'late-secret', grants: { [OTHER_API]: ['x'] } });
      const res = await postToken(issuer, {
        grant_type: 'client_credentials',
        client_id: 'late',
        client_secret: 'late-secret',
        audience: OTHER_API,
      });
      expect(res.status).toBe(200);
      expect(res.json.scope).toBe('x');
    });
  });

  describe('mint', () => {
    it('mints Auth0-shaped tokens by default', async () => {
      const token = await issuer.mint();
      const { payload, protectedHeader } = await jwtVerify(token, await jwksOf(issuer), {
        issuer: issuer.issuer,
        audience: API,
      });
      expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'JWT', kid: issuer.currentKid() });
      expect(Object.keys(payload).sort()).toEqual(['aud', 'azp', 'exp', 'gty', 'iat', 'iss', 'jti', 'sub']);
      expect(payload).toMatchObject({
        iss: issuer.issuer,
        sub: 'test-client@clients',
        aud: API,
        azp: 'test-client',
        gty: 'client-credentials',
      });
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(86400);
      expect(typeof payload.jti).toBe('string');
      expect(payload.jti).not.toBe(decodePart(await issuer.mint(), 1).jti);
    });

    it('applies audience, scope and clientId options', async () => {
      const token = await issuer.mint({}, { audience: [API, OTHER_API], scope: ['a', 'b'], clientId: 'svc' });
      expect(decodePart(token, 1)).toMatchObject({
        aud: [API, OTHER_API],
        scope: 'a b',
        sub: 'svc@clients',
        azp: 'svc',
      });
      expect(decodePart(await issuer.mint({}, { scope: 'read' }), 1).scope).toBe('read');
    });

    it('merges caller claims last, removes undefined ones, keeps odd types', async () => {
      const token = await issuer.mint({ gty: undefined, exp: '123', custom: { a: 1 }, sub: 'someone' });
      const claims = decodePart(token, 1);
      expect(claims).not.toHaveProperty('gty');
      expect(claims.exp).toBe('123');
      expect(claims.custom).toEqual({ a: 1 });
      expect(claims.sub).toBe('someone');
    });

    it('makes expired tokens and tokens without exp', async () => {
      const jwks = await jwksOf(issuer);
      const expired = await issuer.mint({}, { expiresIn: -60 });
      await expect(jwtVerify(expired, jwks)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
      const noExp = await issuer.mint({}, { expiresIn: null });
      expect(decodePart(noExp, 1)).not.toHaveProperty('exp');
      await expect(jwtVerify(noExp, jwks)).resolves.toBeDefined();
      const notYet = await issuer.mint({}, { notBefore: 120 });
      const claims = decodePart(notYet, 1);
      expect(claims.nbf).toBe((claims.iat as number) + 120);
      await expect(jwtVerify(notYet, jwks)).rejects.toMatchObject({ claim: 'nbf' });
    });

    it('controls the kid and extra header parameters', async () => {
      expect(decodeProtectedHeader(await issuer.mint({}, { kid: null }))).not.toHaveProperty('kid');
      expect(decodeProtectedHeader(await issuer.mint({}, { kid: 'custom' })).kid).toBe('custom');
      const extras = await issuer.mint(
        {},
        {
          header: { jku: 'https://evil.example.com/jwks', x5u: 'https://evil.example.com/x5u', typ: 'at+jwt' },
        },
      );
      expect(decodeProtectedHeader(extras)).toMatchObject({
        alg: 'RS256',
        jku: 'https://evil.example.com/jwks',
        x5u: 'https://evil.example.com/x5u',
        typ: 'at+jwt',
      });
      await expect(jwtVerify(extras, await jwksOf(issuer))).resolves.toBeDefined();
      const noTyp = await issuer.mint({}, { header: { typ: undefined } });
      expect(decodeProtectedHeader(noTyp)).not.toHaveProperty('typ');
    });

    it('signs headers jose would refuse (crit, a lying alg) with valid signatures', async () => {
      const jwks = await jwksOf(issuer);
      const crit = await issuer.mint({}, { header: { crit: ['urn:x'], 'urn:x': true } });
      await expect(jwtVerify(crit, jwks)).rejects.toMatchObject({ code: 'ERR_JOSE_NOT_SUPPORTED' });
      await expect(compactVerify(crit, jwks, { crit: { 'urn:x': true } })).resolves.toBeDefined();
      const lying = await issuer.mint({}, { header: { alg: 'RS512' } });
      expect(decodeProtectedHeader(lying).alg).toBe('RS512');
      await expect(jwtVerify(lying, jwks)).rejects.toThrow();
    });

    it('signs with an unpublished key when foreignKey is set', async () => {
      const jwks = await jwksOf(issuer);
      const foreign = await issuer.mint({}, { foreignKey: true });
      const kid = decodeProtectedHeader(foreign).kid;
      expect(kid).toBeDefined();
      expect(issuer.publicJwks().keys.map((k) => k.kid)).not.toContain(kid);
      await expect(jwtVerify(foreign, jwks)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
      const spoofed = await issuer.mint({}, { foreignKey: true, kid: issuer.currentKid() ?? null });
      await expect(jwtVerify(spoofed, jwks)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    });

    it('lazily generates and publishes keys for other algorithms', async () => {
      const before = issuer.publicJwks().keys.map((k) => k.alg);
      expect(before).not.toContain('ES256');
      const tokens = await Promise.all(
        (['ES256', 'ES256', 'EdDSA', 'PS256', 'ES384', 'ES512'] as const).map((alg) => issuer.mint({}, { alg })),
      );
      const { keys } = (await fetchJson(issuer.jwksUri)).json as { keys: JWK[] };
      // Two concurrent first uses share one generation: one current and one next key.
      expect(keys.filter((k) => k.alg === 'ES256').map((k) => k.kid)).toEqual([
        issuer.currentKid('ES256'),
        issuer.nextKid('ES256'),
      ]);
      expect(keys.find((k) => k.alg === 'ES256')).toMatchObject({ kty: 'EC', crv: 'P-256', use: 'sig' });
      expect(keys.find((k) => k.alg === 'ES384')).toMatchObject({ kty: 'EC', crv: 'P-384' });
      expect(keys.find((k) => k.alg === 'ES512')).toMatchObject({ kty: 'EC', crv: 'P-521' });
      expect(keys.find((k) => k.alg === 'EdDSA')).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
      expect(keys.find((k) => k.alg === 'PS256')).toMatchObject({ kty: 'RSA' });
      for (const key of keys) expect(key).not.toHaveProperty('d');
      const jwks = createLocalJWKSet({ keys });
      for (const token of tokens) {
        const { protectedHeader } = await jwtVerify(token, jwks, { issuer: issuer.issuer, audience: API });
        expect(protectedHeader.kid).toBe(issuer.currentKid(protectedHeader.alg as 'ES256'));
      }
    });

    it('mints unsecured tokens for alg none and refuses unknown algorithms or HS* without secret', async () => {
      const none = await issuer.mint({}, { alg: 'none' });
      expect(none.endsWith('.')).toBe(true);
      expect(decodeProtectedHeader(none).alg).toBe('none');
      await expect(issuer.mint({}, { alg: 'HS256' })).rejects.toThrow(/secret/);
      await expect(issuer.mint({}, { alg: 'XX999' })).rejects.toThrow(TypeError);
      await expect(issuer.mint({}, { expiresIn: Number.NaN })).rejects.toThrow(TypeError);
    });
  });

  it('counts served requests', async () => {
    issuer.resetCounts();
    const counts = issuer.requestCounts;
    expect(counts).toEqual({ discovery: 0, jwks: 0, token: 0, introspection: 0 });
    await fetch(`${issuer.issuerBaseURL}/.well-known/openid-configuration`).then((r) => r.arrayBuffer());
    await fetch(`${issuer.issuerBaseURL}/.well-known/oauth-authorization-server`).then((r) => r.arrayBuffer());
    await fetch(issuer.jwksUri).then((r) => r.arrayBuffer());
    await postToken(issuer, { grant_type: 'client_credentials' });
    await fetch(issuer.introspectionEndpoint, { method: 'POST' }).then((r) => r.arrayBuffer());
    await fetch(issuer.introspectionEndpoint).then((r) => r.arrayBuffer());
    expect(counts).toEqual({ discovery: 2, jwks: 1, token: 1, introspection: 2 });
    issuer.resetCounts();
    expect(counts).toEqual({ discovery: 0, jwks: 0, token: 0, introspection: 0 });
  });
});

describe('createTestIssuer (rfc9068 profile, shared secret)', () => {
  let issuer: TestIssuer;

  beforeAll(async () => {
    issuer = await createTestIssuer({
      profile: 'rfc9068',
      tokenLifetime: 300,
      secret: 'a-shared-secret-of-at-least-32-bytes!',
      clients: [{ clientId: 'worker', clientSecret: 's3cret', grants: { [OTHER_API]: ['read'] } }],
    });
  });

  afterAll(async () => {
    await issuer.close();
  });

  it('mints RFC 9068 tokens', async () => {
    const token = await issuer.mint({}, { scope: 'read', clientId: 'worker' });
    const { payload, protectedHeader } = await jwtVerify(token, await jwksOf(issuer), {
      issuer: issuer.issuer,
      audience: OTHER_API,
      typ: 'at+jwt',
    });
    expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: issuer.currentKid() });
    expect(Object.keys(payload).sort()).toEqual(['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub']);
    expect(payload).toMatchObject({ sub: 'worker', client_id: 'worker', scope: 'read' });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
  });

  it('issues RFC 9068 tokens from the token endpoint', async () => {
    const res = await postToken(
      issuer,
      { grant_type: 'client_credentials', audience: OTHER_API },
      {
        authorization: basic('worker', 's3cret'),
      },
    );
    expect(res.status).toBe(200);
    expect(res.json.expires_in).toBe(300);
    const { payload } = await jwtVerify(res.json.access_token as string, await jwksOf(issuer), { typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: 'worker', client_id: 'worker', scope: 'read', aud: OTHER_API });
  });

  it('signs HS256 with the shared secret, and foreign HS256 with another one', async () => {
    const key = new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!');
    const token = await issuer.mint({}, { alg: 'HS256' });
    const { protectedHeader } = await jwtVerify<JWTPayload>(token, key);
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'at+jwt' });
    const foreign = await issuer.mint({}, { alg: 'HS256', foreignKey: true });
    await expect(jwtVerify(foreign, key)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    expect(issuer.publicJwks().keys.every((k) => k.kty !== 'oct')).toBe(true);
  });
});

describe('rotateKeys', () => {
  let issuer: TestIssuer;

  beforeAll(async () => {
    issuer = await createTestIssuer();
  });

  afterAll(async () => {
    await issuer.close();
  });

  it('promotes the published next key, publishes a new next one, keeps the previous one, drops older ones', async () => {
    const first = issuer.currentKid();
    const firstNext = issuer.nextKid();
    expect(firstNext).toBeDefined();
    expect(issuer.publicJwks().keys.map((k) => k.kid)).toEqual([first, firstNext]);
    const oldToken = await issuer.mint();
    await issuer.rotateKeys();
    const second = issuer.currentKid();
    expect(second).toBe(firstNext);
    const secondNext = issuer.nextKid();
    expect(issuer.publicJwks().keys.map((k) => k.kid)).toEqual([second, secondNext, first]);
    const jwks = await jwksOf(issuer);
    await expect(jwtVerify(oldToken, jwks)).resolves.toBeDefined();
    const newToken = await issuer.mint();
    expect(decodeProtectedHeader(newToken).kid).toBe(second);
    await expect(jwtVerify(newToken, jwks)).resolves.toBeDefined();

    await issuer.rotateKeys();
    const kids = issuer.publicJwks().keys.map((k) => k.kid);
    expect(kids).toEqual([secondNext, issuer.nextKid(), second]);
    expect(kids).not.toContain(first);
  });

  it('with publishNextKey: false publishes one key per algorithm and makes a new one current on rotation', async () => {
    const single = await createTestIssuer({ publishNextKey: false });
    try {
      const first = single.currentKid();
      expect(single.nextKid()).toBeUndefined();
      expect(single.publicJwks().keys.map((k) => k.kid)).toEqual([first]);
      await single.rotateKeys();
      expect(single.publicJwks().keys.map((k) => k.kid)).toEqual([single.currentKid(), first]);
      expect(single.currentKid()).not.toBe(first);
      await expect(createTestIssuer({ publishNextKey: 'yes' as unknown as boolean })).rejects.toThrow(TypeError);
    } finally {
      await single.close();
    }
  });

  it('rotates lazily generated algorithms too', async () => {
    await issuer.mint({}, { alg: 'ES256' });
    const es = issuer.currentKid('ES256');
    await issuer.rotateKeys('ES256');
    expect(issuer.currentKid('ES256')).not.toBe(es);
    expect(
      issuer
        .publicJwks()
        .keys.filter((k) => k.alg === 'ES256')
        .map((k) => k.kid),
    ).toContain(es);
    await expect(issuer.rotateKeys('HS256' as 'ES256')).rejects.toThrow(TypeError);
  });
});

describe('lifecycle', () => {
  it('validates options before starting', async () => {
    await expect(createTestIssuer({ profile: 'okta' as 'auth0' })).rejects.toThrow(TypeError);
    await expect(createTestIssuer({ tokenLifetime: -1 })).rejects.toThrow(TypeError);
    await expect(createTestIssuer({ clients: [{ clientId: '' }] })).rejects.toThrow(TypeError);
  });

  it('close() is prompt with keep-alive clients and frees the port', async () => {
    const issuer = await createTestIssuer();
    const port = Number(new URL(issuer.issuerBaseURL).port);
    const res = await fetch(issuer.jwksUri);
    await res.arrayBuffer();
    const started = Date.now();
    await issuer.close();
    await issuer.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(fetch(issuer.jwksUri)).rejects.toThrow();
    const probe = createNetServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });
});
