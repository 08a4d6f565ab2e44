import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT, type JWTPayload } from 'jose';
import { createVerifier, Verifier, type M2MAuth, type TokenVerifier } from '../src/verifier.js';
import { resolveOptions } from '../src/options/resolve.js';
import type { VerifierOptions } from '../src/options/types.js';
import { createTestIssuer, type TestIssuer } from '../src/testing/index.js';
import { json, startServer, type StubServer } from './helpers/servers.js';
import { eventually, manualClock } from './helpers/time.js';

const AUDIENCE = 'https://api.example.com';

let issuer: TestIssuer;
let rfc9068: TestIssuer;

beforeAll(async () => {
  issuer = await createTestIssuer();
  rfc9068 = await createTestIssuer({ profile: 'rfc9068' });
});

afterAll(async () => {
  await issuer.close();
  await rfc9068.close();
});

afterEach(() => {
  issuer.resetCounts();
});

function verifierFor(options: VerifierOptions = {}, from: TestIssuer = issuer): TokenVerifier {
  return createVerifier({ issuerBaseURL: from.issuerBaseURL, audience: AUDIENCE, ...options });
}

/** A verifier whose time the test moves by hand. */
function clockedVerifier(options: VerifierOptions, now: () => number): Verifier {
  return new Verifier(resolveOptions(options, {}), now);
}

async function expectRejection(promise: Promise<unknown>, status: number, description: string | RegExp): Promise<void> {
  const error = await promise.then(
    () => {
      throw new Error('expected the token to be refused');
    },
    (reason: unknown) => reason as { status: number; description: string },
  );
  expect(error.status).toBe(status);
  if (typeof description === 'string') expect(error.description).toBe(description);
  else expect(error.description).toMatch(description);
}

describe('createVerifier: accepting tokens', () => {
  it('verifies an Auth0-shaped token found through discovery', async () => {
    const token = await issuer.mint({ org_id: 'org_1' }, { clientId: 'worker', scope: 'read:orders write:orders' });
    const auth = await verifierFor().verify(token);
    expect(auth.token).toBe(token);
    expect(auth.clientId).toBe('worker');
    expect(auth.scopes).toEqual(['read:orders', 'write:orders']);
    expect(auth.organization).toBe('org_1');
    expect(auth.header).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: issuer.currentKid() });
    expect(auth.payload).toMatchObject({ iss: issuer.issuer, aud: AUDIENCE, gty: 'client-credentials' });
  });

  it('verifies an RFC 9068 token, also in strict mode', async () => {
    const token = await rfc9068.mint({}, { clientId: 'svc', scope: 'a' });
    const auth = await verifierFor({ strict: true }, rfc9068).verify(token);
    expect(auth.clientId).toBe('svc');
    expect(auth.header.typ).toBe('at+jwt');
  });

  it('unions scope, scp and permissions', async () => {
    const token = await issuer.mint({ scp: ['b', 'c'], permissions: ['d'] }, { scope: 'a b' });
    expect((await verifierFor().verify(token)).scopes).toEqual(['a', 'b', 'c', 'd']);
  });

  it('accepts any configured audience', async () => {
    const token = await issuer.mint({}, { audience: ['https://other', 'https://two'] });
    await expect(verifierFor({ audience: ['https://one', 'https://two'] }).verify(token)).resolves.toBeDefined();
  });

  it.each(['RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const)(
    'verifies %s tokens',
    async (alg) => {
      const token = await issuer.mint({}, { alg });
      await expect(verifierFor({ jwks: { cooldown: 0 } }).verify(token)).resolves.toMatchObject({ header: { alg } });
    },
  );

  it('returns a frozen result that handlers cannot alter for later requests', async () => {
    const auth = await verifierFor().verify(await issuer.mint({}, { scope: 'a' }));
    expect(Object.isFrozen(auth)).toBe(true);
    expect(Object.isFrozen(auth.payload)).toBe(true);
    expect(Object.isFrozen(auth.scopes)).toBe(true);
  });
});

describe('createVerifier: refusing tokens (401 invalid_token)', () => {
  let verifier: TokenVerifier;
  beforeAll(() => {
    verifier = verifierFor();
  });

  it.each<[string, () => Promise<string>, string]>([
    ['an expired token', () => issuer.mint({}, { expiresIn: -60 }), 'token expired'],
    ['a token without exp', () => issuer.mint({}, { expiresIn: null }), 'missing exp claim'],
    ['a token not yet valid', () => issuer.mint({}, { notBefore: 60 }), 'token not yet valid'],
    ['a token for another audience', () => issuer.mint({}, { audience: 'https://evil' }), 'unexpected audience'],
    ['a token from another issuer', () => issuer.mint({ iss: 'https://evil/' }), 'unexpected issuer'],
    ['a token without iss', () => issuer.mint({ iss: undefined }), 'missing iss claim'],
    [
      'a token signed with an unpublished key',
      () => issuer.mint({}, { foreignKey: true, kid: issuer.currentKid() as string }),
      'signature verification failed',
    ],
    ['a token with an unknown kid', () => issuer.mint({}, { foreignKey: true }), 'no matching signing key'],
    [
      'a token issued in the future',
      () => issuer.mint({ iat: Math.floor(Date.now() / 1000) + 600 }),
      'token issued in the future',
    ],
    [
      'a token with a string exp',
      () => issuer.mint({ exp: String(Math.floor(Date.now() / 1000) + 600) }),
      'malformed exp claim',
    ],
    [
      'a user token (not client credentials)',
      () => issuer.mint({ gty: 'password', sub: 'auth0|user' }),
      'token was not issued to a client (client-credentials grant)',
    ],
    [
      'a token naming no client',
      () => issuer.mint({ gty: 'client-credentials', sub: undefined, azp: undefined }),
      'token does not identify its client',
    ],
  ])('refuses %s', async (_name, mint, description) => {
    await expectRejection(verifier.verify(await mint()), 401, description);
  });

  it('refuses alg none, whatever its case, without fetching keys', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const header = Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url');
      const body = Buffer.from(JSON.stringify({ iss: issuer.issuer, aud: AUDIENCE, exp: 9e9 })).toString('base64url');
      await expectRejection(verifierFor().verify(`${header}.${body}.`), 401, 'algorithm not allowed');
    }
    expect(issuer.requestCounts.jwks).toBe(0);
  });

  it('refuses HS256 signed with the RSA public key (key confusion)', async () => {
    const jwk = issuer.publicJwks().keys[0];
    const token = await new SignJWT({ gty: 'client-credentials', sub: 'x@clients', azp: 'x' })
      .setProtectedHeader({ alg: 'HS256', kid: jwk?.kid })
      .setIssuer(issuer.issuer)
      .setAudience(AUDIENCE)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JSON.stringify(jwk)));
    await expectRejection(verifier.verify(token), 401, 'algorithm not allowed');
  });

  it('refuses algorithms outside the configured list', async () => {
    const token = await issuer.mint({}, { alg: 'ES256' });
    await expectRejection(verifierFor({ algorithms: ['RS256'] }).verify(token), 401, 'algorithm not allowed');
  });

  it('refuses a token whose alg disagrees with the JWK alg', async () => {
    const kid = issuer.currentKid() as string;
    const token = await issuer.mint({}, { alg: 'PS256', header: { kid } });
    await expectRejection(verifierFor({ jwks: { cooldown: 0 } }).verify(token), 401, 'no matching signing key');
  });

  it('never fetches jku, x5u or embedded jwk keys', async () => {
    const attacker = await startServer((_req, res) => json(res, { keys: [] }));
    try {
      const token = await issuer.mint(
        {},
        {
          foreignKey: true,
          header: {
            jku: `${attacker.url}/jwks`,
            x5u: `${attacker.url}/cert`,
            jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' },
          },
        },
      );
      await expectRejection(verifier.verify(token), 401, 'no matching signing key');
      expect([...attacker.hits.values()].reduce((a, b) => a + b, 0)).toBe(0);
    } finally {
      await attacker.close();
    }
  });

  it.each([
    ['two parts', 'a.b'],
    ['four parts', 'a.b.c.d'],
    ['bad base64url', 'eyJhbGciOiJSUzI1NiJ9!.e30.c2ln'],
    ['a header that is not JSON', `${Buffer.from('nope').toString('base64url')}.e30.c2ln`],
  ])('refuses a malformed token: %s', async (_name, token) => {
    await expectRejection(verifier.verify(token), 401, /malformed token|algorithm not allowed/);
  });

  it('refuses every spelling of a valid token but the canonical one', async () => {
    const token = await issuer.mint();
    await expect(verifier.verify(token)).resolves.toBeDefined();
    const signature = token.split('.')[2] as string;
    const last = signature.at(-1) as string;
    // RS256 signatures are 256 bytes: the last base64url character carries 4 unused bits.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const strayBits = alphabet[alphabet.indexOf(last) | 1] as string;
    for (const variant of [
      `${token}==`,
      `${token}=`,
      `${token.slice(0, -1)}${strayBits}`,
      token.replace('.', '.\n'),
      ` ${token}`,
    ]) {
      await expectRejection(verifier.verify(variant), 401, 'malformed token');
    }
  });

  it('refuses a token over 16 KB as invalid_request', async () => {
    await expectRejection(verifier.verify('a'.repeat(16 * 1024 + 1)), 400, 'token too large');
  });

  it('never puts token values in the description', async () => {
    const token = await issuer.mint({ iss: 'https://evil"\r\n/' }, { kid: 'kid"\r\nX: y' });
    const error = (await verifierFor()
      .verify(token)
      .catch((e: unknown) => e)) as { message: string; headers: Record<string, string> };
    expect(error.headers['WWW-Authenticate']).not.toMatch(/evil|kid"|\r|\n/);
    expect(error.message).not.toContain('evil');
  });
});

describe('createVerifier: options', () => {
  it('applies clockTolerance to exp', async () => {
    const token = await issuer.mint({}, { expiresIn: -3 });
    await expect(verifierFor({ clockTolerance: 10 }).verify(token)).resolves.toBeDefined();
    await expectRejection(verifierFor({ clockTolerance: 0 }).verify(token), 401, 'token expired');
  });

  it('refuses tokens older than maxTokenAge and requires iat with it', async () => {
    const old = await issuer.mint({ iat: Math.floor(Date.now() / 1000) - 120 });
    await expectRejection(verifierFor({ maxTokenAge: 60 }).verify(old), 401, 'token too old');
    await expect(verifierFor({ maxTokenAge: 300 }).verify(old)).resolves.toBeDefined();
    await expectRejection(
      verifierFor({ maxTokenAge: 60 }).verify(await issuer.mint({ iat: undefined })),
      401,
      'missing iat claim',
    );
  });

  it('requires the RFC 9068 profile in strict mode', async () => {
    const strict = verifierFor({ strict: true });
    await expectRejection(strict.verify(await issuer.mint()), 401, 'unexpected token type');
    const withoutJti = await issuer.mint(
      { client_id: 'x', sub: 'x', jti: undefined },
      { header: { typ: 'application/at+jwt' } },
    );
    await expectRejection(strict.verify(withoutJti), 401, 'missing jti claim');
    const ok = await issuer.mint({ client_id: 'x', sub: 'x' }, { header: { typ: 'application/at+jwt' } });
    await expect(strict.verify(ok)).resolves.toMatchObject({ clientId: 'x' });
  });

  it('accepts user tokens with m2mOnly: false', async () => {
    const token = await issuer.mint({ gty: 'password', sub: 'auth0|user', azp: 'spa' });
    await expect(verifierFor({ m2mOnly: false }).verify(token)).resolves.toMatchObject({ clientId: 'spa' });
  });

  it('replaces the detection with isM2M, failing closed when it throws', async () => {
    const token = await issuer.mint({ gty: undefined, roles: ['service'] });
    const custom = verifierFor({
      isM2M: (payload: JWTPayload) => Array.isArray(payload.roles) && payload.roles.includes('service'),
    });
    await expect(custom.verify(token)).resolves.toBeDefined();
    await expectRejection(
      verifierFor({
        isM2M: () => {
          throw new Error('boom');
        },
      }).verify(token),
      401,
      'token was not issued to a client (client-credentials grant)',
    );
  });

  it('enforces allowedClients with 403 insufficient_scope', async () => {
    const verifier = verifierFor({ allowedClients: ['worker'] });
    await expect(verifier.verify(await issuer.mint({}, { clientId: 'worker' }))).resolves.toBeDefined();
    const error = await verifier.verify(await issuer.mint({}, { clientId: 'other' })).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 403, code: 'insufficient_scope', description: 'client not allowed' });
  });

  it('enforces organization by org_id, or org_name ignoring case', async () => {
    const verifier = verifierFor({ organization: ['org_1', 'acme'] });
    await expect(verifier.verify(await issuer.mint({ org_id: 'org_1' }))).resolves.toBeDefined();
    await expect(verifier.verify(await issuer.mint({ org_name: 'ACME' }))).resolves.toBeDefined();
    const error = await verifier.verify(await issuer.mint({ org_id: 'org_2' })).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 403, code: 'insufficient_scope', description: 'organization not allowed' });
    expect((error as { headers: Record<string, string> }).headers['WWW-Authenticate']).not.toContain('scope=');
  });

  it('uses the realm in its errors', async () => {
    const error = await verifierFor({ realm: 'orders' })
      .verify('x.y.z')
      .catch((e: unknown) => e);
    expect((error as { headers: Record<string, string> }).headers['WWW-Authenticate']).toMatch(
      /^Bearer realm="orders", error="invalid_token"/,
    );
  });
});

describe('createVerifier: symmetric secret', () => {
  let hsIssuer: TestIssuer;
  beforeAll(async () => {
    hsIssuer = await createTestIssuer({ secret: 'a-long-shared-secret-of-32-bytes!!' });
  });
  afterAll(() => hsIssuer.close());

  it('verifies HS256/384/512 tokens with the issuer taken verbatim from issuerBaseURL', async () => {
    const verifier = createVerifier({
      issuerBaseURL: hsIssuer.issuer,
      audience: AUDIENCE,
      secret: 'a-long-shared-secret-of-32-bytes!!',
    });
    for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
      await expect(verifier.verify(await hsIssuer.mint({}, { alg }))).resolves.toMatchObject({ header: { alg } });
    }
    await verifier.ready();
    expect(hsIssuer.requestCounts).toEqual({ discovery: 0, jwks: 0, token: 0, introspection: 0 });
  });

  it('refuses asymmetric tokens and wrong secrets', async () => {
    const verifier = createVerifier({
      issuer: hsIssuer.issuer,
      audience: AUDIENCE,
      secret: 'another-shared-secret-of-32-bytes!',
    });
    await expectRejection(
      verifier.verify(await hsIssuer.mint({}, { alg: 'HS256' })),
      401,
      'signature verification failed',
    );
    await expectRejection(verifier.verify(await hsIssuer.mint()), 401, 'algorithm not allowed');
  });
});

describe('createVerifier: discovery', () => {
  it('runs one discovery and one JWKS fetch for many concurrent cold requests', async () => {
    const verifier = verifierFor();
    const token = await issuer.mint();
    const tokens = await Promise.all(Array.from({ length: 20 }, () => issuer.mint()));
    await Promise.all([...tokens, ...Array.from({ length: 80 }, () => token)].map((t) => verifier.verify(t)));
    expect(issuer.requestCounts).toMatchObject({ discovery: 1, jwks: 1 });
  });

  it('ignores a trailing slash on issuerBaseURL', async () => {
    const verifier = createVerifier({ issuerBaseURL: `${issuer.issuerBaseURL}/`, audience: AUDIENCE });
    await expect(verifier.verify(await issuer.mint())).resolves.toBeDefined();
  });

  it('skips discovery with issuer and jwksUri', async () => {
    const verifier = createVerifier({ issuer: issuer.issuer, jwksUri: issuer.jwksUri, audience: AUDIENCE });
    await verifier.verify(await issuer.mint());
    expect(issuer.requestCounts).toMatchObject({ discovery: 0, jwks: 1 });
  });

  it('falls back to RFC 8414 metadata, inserting the well-known segment before the path', async () => {
    const stub: StubServer = await startServer((req, res) => {
      if (req.url === '/.well-known/oauth-authorization-server/tenant') {
        json(res, { issuer: issuer.issuer, jwks_uri: issuer.jwksUri });
      } else json(res, { error: 'not found' }, 404);
    });
    try {
      // The stub serves another server's metadata: accepted only because `issuer` says so explicitly.
      const verifier = createVerifier({
        issuerBaseURL: `${stub.url}/tenant/`,
        issuer: issuer.issuer,
        audience: AUDIENCE,
      });
      await expect(verifier.verify(await issuer.mint())).resolves.toBeDefined();
      expect(stub.hits.get('/tenant/.well-known/openid-configuration')).toBe(1);
    } finally {
      await stub.close();
    }
  });

  it('ready() resolves after warming discovery and JWKS', async () => {
    const verifier = verifierFor();
    await verifier.ready();
    expect(issuer.requestCounts).toMatchObject({ discovery: 1, jwks: 1 });
    await verifier.verify(await issuer.mint());
    expect(issuer.requestCounts).toMatchObject({ discovery: 1, jwks: 1 });
  });

  it('ready() rejects with a clear message when the issuer is unreachable', async () => {
    const stub = await startServer((_req, res) => json(res, {}, 500));
    await stub.close();
    const verifier = createVerifier({ issuerBaseURL: stub.url, audience: AUDIENCE });
    const message = await verifier.ready().then(
      () => '',
      (error: Error) => error.message,
    );
    // Every URL tried, the path kept, and the cause named once.
    expect(message).toBe(
      `express-m2m: cannot obtain the signing keys of ${stub.url}: discovery failed for ${stub.url}: ` +
        `${stub.url}/.well-known/openid-configuration and ${stub.url}/.well-known/oauth-authorization-server: ECONNREFUSED`,
    );
  });

  it('ready() names both well-known URLs of a tenant path and each cause', async () => {
    const stub = await startServer((req, res) => json(res, {}, req.url?.includes('openid') ? 404 : 500));
    try {
      await expect(createVerifier({ issuerBaseURL: `${stub.url}/tenant`, audience: AUDIENCE }).ready()).rejects.toThrow(
        `${stub.url}/tenant/.well-known/openid-configuration: HTTP 404; ${stub.url}/.well-known/oauth-authorization-server/tenant: HTTP 500`,
      );
    } finally {
      await stub.close();
    }
  });

  it('refuses metadata that names another issuer, unless `issuer` is configured', async () => {
    const stub = await startServer((_req, res) => json(res, { issuer: issuer.issuer, jwks_uri: issuer.jwksUri }));
    try {
      await expect(createVerifier({ issuerBaseURL: stub.url, audience: AUDIENCE }).ready()).rejects.toThrow(
        /metadata names another issuer/,
      );
      await expect(
        createVerifier({ issuerBaseURL: stub.url, issuer: issuer.issuer, audience: AUDIENCE }).ready(),
      ).resolves.toBeUndefined();
    } finally {
      await stub.close();
    }
  });

  it('refuses a plain-http jwks_uri from an https issuer (no downgrade)', async () => {
    const https = 'https://tenant.example.com';
    const verifier = createVerifier({
      issuerBaseURL: https,
      audience: AUDIENCE,
      fetch: async () => Response.json({ issuer: `${https}/`, jwks_uri: 'http://tenant.example.com/jwks' }),
    });
    await expect(verifier.ready()).rejects.toThrow(/no valid https jwks_uri/);
  });

  it('ready() rejects when the metadata has no jwks_uri', async () => {
    const stub = await startServer((_req, res) => json(res, { issuer: stub.url }));
    try {
      await expect(createVerifier({ issuerBaseURL: stub.url, audience: AUDIENCE }).ready()).rejects.toThrow(
        /no valid jwks_uri/,
      );
    } finally {
      await stub.close();
    }
  });
});

describe('createVerifier: key set lifecycle', () => {
  it('answers 503 with Retry-After on a cold start while keys are unobtainable, then recovers', async () => {
    let healthy = false;
    const stub = await startServer((req, res) => {
      if (!healthy) return json(res, {}, 500);
      if (req.url === '/jwks') return json(res, issuer.publicJwks());
      return json(res, {}, 404);
    });
    try {
      const clock = manualClock();
      const verifier = clockedVerifier(
        { issuer: issuer.issuer, jwksUri: `${stub.url}/jwks`, audience: AUDIENCE, jwks: { cooldown: 0.2 } },
        clock.now,
      );
      const token = await issuer.mint();
      const error = await verifier.verify(token).catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 503, code: 'temporarily_unavailable', headers: { 'Retry-After': '1' } });
      healthy = true;
      // Within the cooldown nothing is fetched again: still 503.
      await expect(verifier.verify(token)).rejects.toMatchObject({ status: 503 });
      expect(stub.hits.get('/jwks')).toBe(1);
      clock.advance(250);
      await expect(verifier.verify(token)).resolves.toBeDefined();
    } finally {
      await stub.close();
    }
  });

  it('refetches for an unknown kid at most once per cooldown, measured from the last fetch', async () => {
    const clock = manualClock();
    const verifier = clockedVerifier(
      { issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, jwks: { cooldown: 0.3 } },
      clock.now,
    );
    await verifier.verify(await issuer.mint());
    await verifier.verify(await issuer.mint({}, { foreignKey: true })).catch(() => undefined);
    expect(issuer.requestCounts.jwks).toBe(1);
    clock.advance(350);
    const unknown = await Promise.all(Array.from({ length: 50 }, () => issuer.mint({}, { foreignKey: true })));
    const results = await Promise.allSettled(unknown.map((t) => verifier.verify(t)));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as { status: number }).status === 401)).toBe(true);
    expect(issuer.requestCounts.jwks).toBe(2);
    await verifier.verify(await issuer.mint({}, { foreignKey: true })).catch(() => undefined);
    expect(issuer.requestCounts.jwks).toBe(2);
  });

  it('picks up a key it has never seen through the unknown-kid refetch', async () => {
    // An issuer that does not publish its next key before signing with it.
    const abrupt = await createTestIssuer({ publishNextKey: false });
    try {
      const verifier = verifierFor({ jwks: { cooldown: 0 } }, abrupt);
      await verifier.verify(await abrupt.mint());
      await abrupt.rotateKeys('RS256');
      await expect(verifier.verify(await abrupt.mint())).resolves.toBeDefined();
      expect(abrupt.requestCounts.jwks).toBe(2);
    } finally {
      await abrupt.close();
    }
  });

  it('knows a rotated key without any refetch when the issuer published it before signing (default cooldown)', async () => {
    const verifier = verifierFor();
    await verifier.verify(await issuer.mint());
    await issuer.rotateKeys('RS256');
    await expect(verifier.verify(await issuer.mint())).resolves.toBeDefined();
    expect(issuer.requestCounts.jwks).toBe(1);
  });

  it('keeps serving the last good key set when a refresh fails (stale-if-error) and reports it', async () => {
    let healthy = true;
    const stub = await startServer((_req, res) => (healthy ? json(res, issuer.publicJwks()) : json(res, {}, 500)));
    const events: string[] = [];
    try {
      const clock = manualClock();
      const verifier = clockedVerifier(
        {
          issuer: issuer.issuer,
          jwksUri: `${stub.url}/jwks`,
          audience: AUDIENCE,
          cache: false,
          jwks: {
            cacheMaxAge: 0.1,
            cooldown: 0,
            onEvent: (event) => events.push(`${event.type}${'servingStale' in event ? `:${event.servingStale}` : ''}`),
          },
        },
        clock.now,
      );
      const token = await issuer.mint();
      await verifier.verify(token);
      healthy = false;
      clock.advance(150);
      // The refresh runs in the background: the request does not wait for the failing issuer.
      await expect(verifier.verify(token)).resolves.toBeDefined();
      await eventually(() => events.length === 3, 5000, 'the background refresh');
      expect(events).toEqual(['fetched', 'serving_stale', 'fetch_failed:true']);
      expect(stub.hits.get('/jwks')).toBe(2);
      await expect(verifier.verify(token)).resolves.toBeDefined();
      const unknown = await issuer.mint({}, { foreignKey: true });
      await expectRejection(verifier.verify(unknown), 401, 'no matching signing key');
    } finally {
      await stub.close();
    }
  });

  it('checks a token without kid against the single key fitting its alg, refusing when several fit', async () => {
    const fresh = await createTestIssuer({ publishNextKey: false });
    try {
      await fresh.mint({}, { alg: 'ES256' });
      const verifier = createVerifier({
        issuerBaseURL: fresh.issuerBaseURL,
        audience: AUDIENCE,
        jwks: { cooldown: 0 },
      });
      await expect(verifier.verify(await fresh.mint({}, { kid: null }))).resolves.toBeDefined();
      await fresh.rotateKeys('RS256');
      const refreshed = createVerifier({ issuerBaseURL: fresh.issuerBaseURL, audience: AUDIENCE });
      await expectRejection(
        refreshed.verify(await fresh.mint({}, { kid: null })),
        401,
        'several signing keys match the token',
      );
    } finally {
      await fresh.close();
    }
  });

  it('refuses a response larger than jwks.maxBytes', async () => {
    const stub = await startServer((_req, res) => json(res, { keys: [], padding: 'x'.repeat(5000) }));
    try {
      const verifier = createVerifier({
        issuer: issuer.issuer,
        jwksUri: `${stub.url}/jwks`,
        audience: AUDIENCE,
        jwks: { maxBytes: 1000 },
      });
      await expect(verifier.ready()).rejects.toThrow(/larger than 1000 bytes/);
    } finally {
      await stub.close();
    }
  });

  it('times out a hanging JWKS endpoint', async () => {
    const stub = await startServer(() => undefined);
    try {
      const verifier = createVerifier({
        issuer: issuer.issuer,
        jwksUri: `${stub.url}/jwks`,
        audience: AUDIENCE,
        jwks: { timeout: 0.2 },
      });
      const started = Date.now();
      const error = await verifier.verify(await issuer.mint()).catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 503 });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await stub.close();
    }
  });
});

describe('createVerifier: offloadSignatures', () => {
  it('checks an RS256 signature on the thread pool by default, and on the event loop with false', async () => {
    const token = await issuer.mint();
    const offloaded = new Verifier(
      resolveOptions({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, cache: false }),
    );
    const inline = new Verifier(
      resolveOptions({
        issuerBaseURL: issuer.issuerBaseURL,
        audience: AUDIENCE,
        cache: false,
        offloadSignatures: false,
      }),
    );
    // The first token of a kid selects its key (asynchronously); later ones find it at once.
    await Promise.all([offloaded.verify(token), inline.verify(token)]);
    const pending = offloaded.verifyNow(token);
    expect(pending).toBeInstanceOf(Promise);
    const immediate = inline.verifyNow(token);
    expect(immediate).not.toBeInstanceOf(Promise);
    expect((await pending).payload).toEqual((immediate as M2MAuth).payload);
  });

  it('refuses a bad signature either way, and answers a cached token at once', async () => {
    const valid = await issuer.mint();
    const [header, payload] = valid.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(342)}`;
    for (const offloadSignatures of [true, false]) {
      const verifier = new Verifier(
        resolveOptions({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, offloadSignatures }),
      );
      await expectRejection(verifier.verify(forged), 401, 'signature verification failed');
      const first = await verifier.verify(valid);
      expect(verifier.verifyNow(valid)).toBe(first);
    }
  });

  it('must be a boolean', () => {
    expect(() => verifierFor({ offloadSignatures: 'yes' as unknown as boolean })).toThrow(
      '`offloadSignatures` must be a boolean',
    );
  });
});

describe('createVerifier: verified-token cache', () => {
  it('skips signature verification for a repeated token but still checks expiry', async () => {
    const clock = manualClock();
    const verifier = clockedVerifier(
      { issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, clockTolerance: 0 },
      clock.now,
    );
    const token = await issuer.mint({}, { expiresIn: 1 });
    const first = await verifier.verify(token);
    expect(await verifier.verify(token)).toBe(first);
    clock.advance(1100);
    await expectRejection(verifier.verify(token), 401, 'token expired');
  });

  it('does not cache with cache: false', async () => {
    const verifier = verifierFor({ cache: false });
    const token = await issuer.mint();
    expect(await verifier.verify(token)).not.toBe(await verifier.verify(token));
  });

  it('never caches a failure as valid', async () => {
    const verifier = verifierFor();
    const valid = await issuer.mint();
    const [header, payload] = valid.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(342)}`;
    await expectRejection(verifier.verify(forged), 401, 'signature verification failed');
    await expectRejection(verifier.verify(forged), 401, 'signature verification failed');
    await expect(verifier.verify(valid)).resolves.toBeDefined();
  });

  it('keeps entries no longer than the key set cacheMaxAge, and refreshes the key set in the background', async () => {
    const clock = manualClock();
    const verifier = clockedVerifier(
      { issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, jwks: { cacheMaxAge: 0.1 } },
      clock.now,
    );
    const token = await issuer.mint();
    const first = await verifier.verify(token);
    clock.advance(150);
    const second = await verifier.verify(token);
    expect(second).not.toBe(first);
    await eventually(() => issuer.requestCounts.jwks === 2, 5000, 'the background refresh');
  });

  it('bounds the cache to cache.max entries', async () => {
    const verifier = verifierFor({ cache: { max: 2 } });
    const [a, b, c] = await Promise.all([issuer.mint(), issuer.mint(), issuer.mint()]);
    const authA = await verifier.verify(a as string);
    await verifier.verify(b as string);
    await verifier.verify(c as string);
    expect(await verifier.verify(a as string)).not.toBe(authA);
  });
});
