import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, exportJWK, type JWK } from 'jose';
import { createTokenClient, TokenRequestError, type TokenClient } from '../../src/client/index.js';
import { createTokenClientWithInternals } from '../../src/client/token-client.js';
import { createTestIssuer } from '../../src/testing/index.js';
import type { TestIssuer } from '../../src/testing/index.js';
import { form, json, startServer, tokenResponse } from './helpers.js';

const API = 'https://orders.example.com';

function rsaKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}
const rsa = rsaKeys();
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');

describe('client authentication against createTestIssuer', () => {
  let issuer: TestIssuer;
  beforeAll(async () => {
    issuer = await createTestIssuer({
      clients: [
        { clientId: 'post-client', clientSecret: 'post-secret', grants: { [API]: ['read:orders', 'create:orders'] } },
        // A ':' in the id and non-ASCII, '+', '%' and spaces in the secret: RFC 6749 §2.3.1 form-encoding matters here.
        { clientId: 'basic:client', clientSecret: 'bäsic s3cret+%/=', grants: { [API]: ['read:orders'] } },
        { clientId: 'rsa-client', publicJwk: await exportJWK(rsa.publicKey), grants: { [API]: ['read:orders'] } },
        { clientId: 'ec-client', publicJwk: await exportJWK(ec.publicKey), grants: { [API]: ['read:orders'] } },
        { clientId: 'ed-client', publicJwk: await exportJWK(ed.publicKey), grants: { [API]: ['read:orders'] } },
      ],
    });
  });
  afterAll(() => issuer.close());

  it('client_secret_post (the default) obtains a token for the audience and scope', async () => {
    const client = createTokenClient({
      tokenEndpoint: issuer.tokenEndpoint,
      clientId: 'post-client',
      clientSecret: 'post-secret',
      audience: API,
      scope: 'read:orders',
    });
    expect(client.tokenEndpointAuthMethod).toBe('client_secret_post');
    const claims = decodeJwt(await client.getToken());
    expect(claims).toMatchObject({ aud: API, azp: 'post-client', scope: 'read:orders', gty: 'client-credentials' });
  });

  it('client_secret_basic form-encodes id and secret before base64', async () => {
    const client = createTokenClient({
      tokenEndpoint: issuer.tokenEndpoint,
      clientId: 'basic:client',
      clientSecret: 'bäsic s3cret+%/=',
      tokenEndpointAuthMethod: 'client_secret_basic',
      audience: API,
    });
    expect(decodeJwt(await client.getToken())).toMatchObject({ azp: 'basic:client', scope: 'read:orders' });
  });

  it('client_secret_basic sends exactly the RFC 6749 §2.3.1 header and no secret in the body', async () => {
    const server = await startServer((_req, res) => json(res, 200, tokenResponse('abc')));
    try {
      const client = createTokenClient({
        tokenEndpoint: `${server.url}/t`,
        clientId: 'id:1 x',
        clientSecret: 'p@ss wörd',
        tokenEndpointAuthMethod: 'client_secret_basic',
        audience: API,
      });
      await client.getToken();
      const seen = server.requests[0]!;
      const expected = Buffer.from('id%3A1+x:p%40ss+w%C3%B6rd').toString('base64');
      expect(seen.headers.authorization).toBe(`Basic ${expected}`);
      expect(form(seen.body)).toEqual({ grant_type: 'client_credentials', audience: API });
      expect(seen.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    } finally {
      await server.close();
    }
  });

  it('private_key_jwt with a PKCS#8 PEM (RS256 inferred)', async () => {
    const client = createTokenClient({
      tokenEndpoint: issuer.tokenEndpoint,
      clientId: 'rsa-client',
      privateKey: rsa.pem,
      audience: API,
    });
    expect(client.tokenEndpointAuthMethod).toBe('private_key_jwt');
    expect(decodeJwt(await client.getToken())).toMatchObject({ azp: 'rsa-client' });
  });

  it('private_key_jwt with a JWK (EC → ES256) and with an Ed25519 KeyObject (EdDSA)', async () => {
    const jwk = (await exportJWK(ec.privateKey)) as JWK;
    const ecClient = createTokenClient({
      issuerBaseURL: issuer.issuerBaseURL,
      clientId: 'ec-client',
      privateKey: jwk,
      audience: API,
    });
    expect(decodeJwt(await ecClient.getToken())).toMatchObject({ azp: 'ec-client' });
    const edClient = createTokenClient({
      tokenEndpoint: issuer.tokenEndpoint,
      clientId: 'ed-client',
      privateKey: ed.privateKey,
      audience: API,
    });
    expect(decodeJwt(await edClient.getToken())).toMatchObject({ azp: 'ed-client' });
  });

  it('private_key_jwt assertions carry iss = sub = client_id, aud = token endpoint, a fresh jti and a short exp', async () => {
    const server = await startServer((_req, res) => json(res, 200, tokenResponse('t', 1)));
    try {
      const jwk = { ...(await exportJWK(rsa.privateKey)), kid: 'key-1' };
      const client = createTokenClient({
        tokenEndpoint: `${server.url}/oauth/token`,
        clientId: 'c1',
        privateKey: jwk,
        privateKeyAlg: 'PS256',
        expiryMargin: 0,
      });
      await client.getToken();
      await client.getToken({ forceRefresh: true });
      const [first, second] = server.requests.map((r) => form(r.body));
      expect(first).toMatchObject({
        grant_type: 'client_credentials',
        client_id: 'c1',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      });
      const assertion = first!.client_assertion!;
      expect(decodeProtectedHeader(assertion)).toEqual({ alg: 'PS256', kid: 'key-1' });
      const claims = decodeJwt(assertion);
      expect(claims).toMatchObject({ iss: 'c1', sub: 'c1', aud: `${server.url}/oauth/token` });
      expect(typeof claims.jti).toBe('string');
      expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(300);
      expect(decodeJwt(second!.client_assertion!).jti).not.toBe(claims.jti);
    } finally {
      await server.close();
    }
  });

  it('a wrong secret is invalid_client (401) from the real endpoint', async () => {
    const client = createTokenClient({
      tokenEndpoint: issuer.tokenEndpoint,
      clientId: 'post-client',
      clientSecret: 'nope',
      audience: API,
    });
    const error = await client.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({ name: 'TokenRequestError', error: 'invalid_client', status: 401 });
  });

  it('a private key that is not the registered one is invalid_client', async () => {
    const other = rsaKeys();
    const client = createTokenClient({
      tokenEndpoint: issuer.tokenEndpoint,
      clientId: 'rsa-client',
      privateKey: other.pem,
      audience: API,
    });
    await expect(client.getToken()).rejects.toMatchObject({ error: 'invalid_client', status: 401 });
  });
});

describe('token endpoint discovery', () => {
  it('uses token_endpoint from the OpenID Connect discovery document, once', async () => {
    const issuer = await createTestIssuer({
      clients: [{ clientId: 'w', clientSecret: 's3cret', grants: { [API]: ['read:orders'] } }],
    });
    try {
      const client = createTokenClient({
        issuerBaseURL: `${issuer.issuerBaseURL}/`,
        clientId: 'w',
        clientSecret: 's3cret',
        audience: API,
      });
      await client.getToken();
      await client.getToken({ forceRefresh: true });
      expect(issuer.requestCounts).toMatchObject({ discovery: 1, token: 2 });
      expect(JSON.parse(JSON.stringify(client))).toMatchObject({ tokenEndpoint: issuer.tokenEndpoint });
    } finally {
      await issuer.close();
    }
  });

  it('falls back to RFC 8414 metadata, then to {issuerBaseURL}/oauth/token', async () => {
    const rfc8414 = await startServer((req, res) => {
      if (req.url === '/.well-known/oauth-authorization-server/tenant')
        json(res, 200, { issuer: 'x', token_endpoint: `http://${req.headers.host}/as/token` });
      else if (req.url === '/as/token') json(res, 200, tokenResponse('from-8414'));
      else json(res, 404, { error: 'not_found' });
    });
    const none = await startServer((req, res) => {
      if (req.url === '/oauth/token') json(res, 200, tokenResponse('from-fallback'));
      else res.writeHead(404).end('not here');
    });
    try {
      const a = createTokenClient({ issuerBaseURL: `${rfc8414.url}/tenant`, clientId: 'c', clientSecret: 's3cret' });
      expect(await a.getToken()).toBe('from-8414');
      expect(rfc8414.requests.map((r) => r.url)).toEqual([
        '/tenant/.well-known/openid-configuration',
        '/.well-known/oauth-authorization-server/tenant',
        '/as/token',
      ]);
      const b = createTokenClient({ issuerBaseURL: none.url, clientId: 'c', clientSecret: 's3cret' });
      expect(await b.getToken()).toBe('from-fallback');
      await b.getToken({ forceRefresh: true });
      // The fallback is remembered: discovery is not repeated.
      expect(none.requests.map((r) => r.url)).toEqual([
        '/.well-known/openid-configuration',
        '/.well-known/oauth-authorization-server',
        '/oauth/token',
        '/oauth/token',
      ]);
    } finally {
      await Promise.all([rfc8414.close(), none.close()]);
    }
  });

  it('ignores a discovered plain-http token endpoint for an https issuer (no credential downgrade)', async () => {
    // Only the URL-parsing rule can be exercised without TLS: an http issuer may name an https endpoint.
    const server = await startServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration')
        json(res, 200, { token_endpoint: 'ftp://example.com/token' });
      else if (req.url === '/oauth/token') json(res, 200, tokenResponse('fallback'));
      else json(res, 404, {});
    });
    try {
      const client = createTokenClient({ issuerBaseURL: server.url, clientId: 'c', clientSecret: 's3cret' });
      expect(await client.getToken()).toBe('fallback');
    } finally {
      await server.close();
    }
  });
});

describe('request parameters', () => {
  it('sends audience, scope (array joined), resource (repeated), organization and extraParams', async () => {
    const server = await startServer((_req, res) => json(res, 200, tokenResponse('t')));
    try {
      const client = createTokenClient({
        tokenEndpoint: `${server.url}/token`,
        clientId: 'c',
        clientSecret: 's3cret',
        audience: API,
        scope: ['read:orders', 'create:orders'],
        resource: ['https://a.example.com', 'https://b.example.com'],
        organization: 'org_123',
        extraParams: { tenant: 'eu' },
      });
      await client.getToken();
      const params = new URLSearchParams(server.requests[0]!.body);
      expect(params.get('grant_type')).toBe('client_credentials');
      expect(params.get('client_id')).toBe('c');
      expect(params.get('client_secret')).toBe('s3cret');
      expect(params.get('audience')).toBe(API);
      expect(params.get('scope')).toBe('read:orders create:orders');
      expect(params.getAll('resource')).toEqual(['https://a.example.com', 'https://b.example.com']);
      expect(params.get('organization')).toBe('org_123');
      expect(params.get('tenant')).toBe('eu');
      expect(server.requests[0]!.headers.accept).toBe('application/json');
    } finally {
      await server.close();
    }
  });

  it('validates options at construction, without echoing secrets', () => {
    const base = { tokenEndpoint: 'https://as.example.com/token', clientId: 'c', clientSecret: 'hunter2-secret' };
    expect(() => createTokenClient({ ...base, clientId: '' })).toThrow(/clientId/);
    expect(() => createTokenClient({ clientId: 'c', clientSecret: 'x' })).toThrow(/tokenEndpoint. or .issuerBaseURL/);
    expect(() => createTokenClient({ ...base, tokenEndpoint: 'ftp://x' })).toThrow(/tokenEndpoint/);
    expect(() => createTokenClient({ ...base, tokenEndpoint: 'https://u:p@x.example.com/t' })).toThrow(/credentials/);
    expect(() => createTokenClient({ ...base, clientSecret: undefined })).toThrow(/clientSecret/);
    expect(() => createTokenClient({ ...base, timeout: 0 })).toThrow(/timeout/);
    expect(() => createTokenClient({ ...base, retries: 1.5 })).toThrow(/retries/);
    expect(() => createTokenClient({ ...base, expiryMargin: -1 })).toThrow(/expiryMargin/);
    expect(() => createTokenClient({ ...base, resource: 'not a uri' })).toThrow(/resource/);
    expect(() => createTokenClient({ ...base, extraParams: { client_secret: 'x' } })).toThrow(/extraParams/);
    expect(() => createTokenClient({ ...base, privateKey: rsa.pem })).toThrow(/tokenEndpointAuthMethod/);
    expect(() => createTokenClient({ ...base, tokenEndpointAuthMethod: 'none' as never })).toThrow(
      /tokenEndpointAuthMethod/,
    );
    expect(() =>
      createTokenClient({
        ...base,
        clientSecret: undefined,
        privateKey: '-----BEGIN PRIVATE KEY-----\nhunter2-secret\n-----END PRIVATE KEY-----',
      }),
    ).toThrow(/privateKey/);
    expect(() =>
      createTokenClient({ ...base, clientSecret: undefined, privateKey: rsa.pem, privateKeyAlg: 'ES256' }),
    ).toThrow(/privateKeyAlg/);
    expect(() =>
      createTokenClient({
        ...base,
        clientSecret: undefined,
        privateKey: ec.publicKey.export({ format: 'jwk' }) as JWK,
      }),
    ).toThrow(/privateKey/);
    for (const bad of [
      () => createTokenClient({ ...base, timeout: -1 }),
      () => createTokenClient({ ...base, clientSecret: undefined, privateKey: 'hunter2-secret' }),
    ]) {
      expect(bad).toThrow(TypeError);
      try {
        bad();
      } catch (error) {
        expect(String((error as Error).stack)).not.toContain('hunter2');
      }
    }
  });
});

describe('caching', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let lifetime = 3600;
  beforeAll(async () => {
    server = await startServer(async (_req, res, index) => {
      // Slow enough that concurrent callers really overlap.
      await new Promise((resolve) => setTimeout(resolve, 50));
      json(res, 200, tokenResponse(`token-${index}`, lifetime));
    });
  });
  afterAll(() => server.close());

  const clientWith = (now: () => number, expiryMargin?: number): TokenClient =>
    createTokenClientWithInternals(
      {
        tokenEndpoint: `${server.url}/t`,
        clientId: 'c',
        clientSecret: 's3cret',
        ...(expiryMargin !== undefined && { expiryMargin }),
      },
      { now },
    );

  it('reuses the cached token and shares one request among concurrent callers', async () => {
    const before = server.requests.length;
    const client = createTokenClient({ tokenEndpoint: `${server.url}/t`, clientId: 'c', clientSecret: 's3cret' });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => client.getToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(await client.getToken()).toBe(tokens[0]);
    expect(server.requests.length - before).toBe(1);
  });

  it('refreshes expiryMargin seconds before expiry', async () => {
    lifetime = 3600;
    let now = 1_000_000;
    const client = clientWith(() => now);
    const first = await client.getToken();
    now += (3600 - 60 - 1) * 1000;
    expect(await client.getToken()).toBe(first);
    now += 1000;
    const second = await client.getToken();
    expect(second).not.toBe(first);
  });

  it('never keeps a token for more than half its lifetime', async () => {
    lifetime = 100;
    let now = 5_000_000;
    const client = clientWith(() => now, 600);
    const first = await client.getToken();
    now += 49_000;
    expect(await client.getToken()).toBe(first);
    now += 1000;
    expect(await client.getToken()).not.toBe(first);
    lifetime = 3600;
  });

  it('uses the real clock when none is injected: a token that expires at once is never reused', async () => {
    lifetime = 0;
    const client = createTokenClient({ tokenEndpoint: `${server.url}/t`, clientId: 'c', clientSecret: 's3cret' });
    const first = await client.getToken();
    expect(await client.getToken()).not.toBe(first);
    lifetime = 3600;
    const second = await client.getToken();
    expect(await client.getToken()).toBe(second);
  });

  it('a failed request is not cached: the next call tries again; a failed forceRefresh keeps the valid token', async () => {
    const flaky = await startServer((_req, res, index) => {
      if (index === 0 || index === 2) json(res, 400, { error: 'invalid_scope' });
      else json(res, 200, tokenResponse(`t${index}`));
    });
    try {
      const client = createTokenClient({ tokenEndpoint: flaky.url, clientId: 'c', clientSecret: 's3cret' });
      await expect(client.getToken()).rejects.toMatchObject({ error: 'invalid_scope' });
      expect(await client.getToken()).toBe('t1');
      await expect(client.getToken({ forceRefresh: true })).rejects.toMatchObject({ error: 'invalid_scope' });
      expect(await client.getToken()).toBe('t1');
      expect(await client.getToken({ forceRefresh: true })).toBe('t3');
    } finally {
      await flaky.close();
    }
  });

  it('expires_in: 0 means the token is never reused', async () => {
    const before = server.requests.length;
    lifetime = 0;
    const client = createTokenClient({ tokenEndpoint: `${server.url}/t`, clientId: 'c', clientSecret: 's3cret' });
    expect(await client.getToken()).not.toBe(await client.getToken());
    expect(server.requests.length - before).toBe(2);
    lifetime = 3600;
  });

  it('an opaque token without expires_in is kept for 60 seconds', async () => {
    const opaque = await startServer((_req, res, index) =>
      json(res, 200, { access_token: `opaque-${index}`, token_type: 'Bearer' }),
    );
    try {
      let now = 3_000_000;
      const client = createTokenClientWithInternals(
        { tokenEndpoint: opaque.url, clientId: 'c', clientSecret: 's3cret' },
        { now: () => now },
      );
      expect(await client.getToken()).toBe('opaque-0');
      now += 59_999;
      expect(await client.getToken()).toBe('opaque-0');
      now += 1;
      expect(await client.getToken()).toBe('opaque-1');
    } finally {
      await opaque.close();
    }
  });

  it('without expires_in, uses the JWT exp', async () => {
    const exp = 2_000_000 + 600;
    const jwt = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.`;
    const noExpiry = await startServer((_req, res) => json(res, 200, { access_token: jwt, token_type: 'bearer' }));
    try {
      let now = 2_000_000_000;
      const client = createTokenClientWithInternals(
        { tokenEndpoint: noExpiry.url, clientId: 'c', clientSecret: 's3cret' },
        { now: () => now },
      );
      await client.getToken();
      now += 539_000;
      await client.getToken();
      expect(noExpiry.requests).toHaveLength(1);
      now += 1000;
      await client.getToken();
      expect(noExpiry.requests).toHaveLength(2);
    } finally {
      await noExpiry.close();
    }
  });
});
