/**
 * Runs the hostile-input corpus (./corpus.ts) against a real Express app over raw HTTP.
 *
 * For every case: the status and error code are exactly the expected ones (never 2xx, never
 * 5xx); a package error carries exactly one `WWW-Authenticate`, a single line that parses as
 * an RFC 6750 challenge with only allowed characters, whose `error` matches the body; the
 * response echoes nothing from the token; no error other than the package's reaches the
 * final error handler; and the canary server (the target of every jku/x5u/URL-shaped kid)
 * is never contacted.
 */
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NextFunction, Request, Response } from 'express';
import { createVerifier, isM2MError, m2mErrorHandler, requireM2M, type TokenVerifier } from '../../src/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import {
  CLASSES,
  corpus,
  type CorpusCase,
  type CorpusClass,
  type CorpusContext,
  type ExpectedError,
} from './corpus.js';
import {
  b64u,
  express,
  expressMajor,
  headerValues,
  parseBearerChallenge,
  publicKeyForms,
  selfSignedCertificate,
  sendRaw,
  signJws,
  startServer,
  type LoopbackServer,
  type RawResponse,
} from './support.js';

const AUDIENCE = 'https://api.example.com';
const HS_SECRET = randomBytes(32).toString('base64url');

let issuer: TestIssuer;
let canary: LoopbackServer;
let api: http.Server;
let port: number;
let ctx: CorpusContext;
/** Errors that reached the last error handler: anything not rendered by m2mErrorHandler. */
const unexpected: unknown[] = [];

beforeAll(async () => {
  // One key per algorithm (no pre-published next key), so kid-less controls have a single candidate.
  issuer = await createTestIssuer({ secret: HS_SECRET, publishNextKey: false });
  // Publish an ES256 key next to the RS256 one before the API first reads the JWKS, so the
  // alg/kty/crv cases meet real key selection.
  await issuer.mint({}, { alg: 'ES256' });

  const attackerRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const attackerEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const attackerRsaJwk = {
    ...attackerRsa.publicKey.export({ format: 'jwk' }),
    kid: 'attacker',
    alg: 'RS256',
    use: 'sig',
  };
  const attackerEcJwk = {
    ...attackerEc.publicKey.export({ format: 'jwk' }),
    kid: 'attacker-ec',
    alg: 'ES256',
    use: 'sig',
  };
  const certificate = selfSignedCertificate(attackerEc.privateKey, 'attacker');

  canary = await startServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [attackerRsaJwk, attackerEcJwk] }));
  });

  const app = express();
  const ok = (req: Request, res: Response): void => {
    res.json({ ok: true, clientId: req.auth?.clientId });
  };
  const jwksApi = requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE });
  const hsApi = requireM2M({ secret: HS_SECRET, issuer: issuer.issuer, audience: AUDIENCE });
  const multiApi = requireM2M({
    issuerBaseURL: issuer.issuerBaseURL,
    audience: AUDIENCE,
    tokenLocations: ['header', 'query', 'body'],
  });
  app.get('/api', jwksApi, ok);
  app.get('/hs', hsApi, ok);
  app.get('/multi', multiApi, ok);
  app.post('/multi', express.urlencoded({ extended: false, limit: '2mb' }), multiApi, ok);
  app.use(m2mErrorHandler());
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    unexpected.push(error);
    res.status(599).json({ error: 'unexpected' });
  });
  await Promise.all([jwksApi.ready(), multiApi.ready()]);

  // Node's default 16 KB header limit would answer 431 before the middleware: raise it so
  // the package's own 16 KB token limit is what the size cases exercise.
  api = http.createServer({ maxHeaderSize: 4 * 1024 * 1024 }, app);
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  port = (api.address() as AddressInfo).port;

  const jwks = issuer.publicJwks().keys;
  const rsaJwk = jwks.find((k) => k.kty === 'RSA') as unknown as Record<string, unknown>;
  const ecJwk = jwks.find((k) => k.kty === 'EC') as unknown as Record<string, unknown>;
  const rsaForms = publicKeyForms(rsaJwk);
  const ecForms = publicKeyForms(ecJwk);
  const now = (): number => Math.floor(Date.now() / 1000);
  const claims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => {
    const all: Record<string, unknown> = {
      iss: issuer.issuer,
      sub: 'test-client@clients',
      aud: AUDIENCE,
      iat: now(),
      exp: now() + 3600,
      azp: 'test-client',
      gty: 'client-credentials',
      jti: randomBytes(8).toString('hex'),
      ...overrides,
    };
    for (const key of Object.keys(all)) if (all[key] === undefined) delete all[key];
    return all;
  };
  ctx = {
    issuer,
    audience: AUDIENCE,
    now,
    valid: await issuer.mint(),
    validHs: await issuer.mint({}, { alg: 'HS256' }),
    hsSecret: HS_SECRET,
    rsaKid: String(rsaJwk.kid),
    ecKid: String(ecJwk.kid),
    rsaPublic: {
      spkiPem: rsaForms.spkiPem,
      pkcs1Pem: rsaForms.pkcs1Pem as string,
      der: rsaForms.der,
      jwkJson: rsaForms.jwkJson,
      jwk: rsaJwk,
    },
    ecPublic: { spkiPem: ecForms.spkiPem, der: ecForms.der, jwkJson: ecForms.jwkJson, jwk: ecJwk },
    attacker: {
      rsa: attackerRsa.privateKey,
      rsaJwk: attackerRsaJwk,
      ec: attackerEc.privateKey,
      ecJwk: attackerEcJwk,
      ecCertificate: certificate.toString('base64'),
    },
    canaryUrl: canary.url,
    claims,
    claimsJson: (rawMembers, overrides) => `${JSON.stringify(claims(overrides)).slice(0, -1)},${rawMembers}}`,
    hs: (payload, header = { alg: 'HS256', typ: 'JWT' }, alg = 'HS256') => signJws(header, payload, alg, HS_SECRET),
  };
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    api?.close(() => resolve());
    api?.closeAllConnections();
  });
  await canary?.close();
  await issuer?.close();
});

/** The error a response carries: the JSON body's `error`, or `http_parser` for Node's bare 400. */
function errorOf(response: RawResponse): ExpectedError | string {
  if (response.body === '' && headerValues(response, 'www-authenticate').length === 0) return 'http_parser';
  try {
    return String((JSON.parse(response.body) as { error?: unknown }).error);
  } catch {
    return `unparseable body: ${response.body.slice(0, 80)}`;
  }
}

/** The invariants every answer to hostile input must satisfy. */
function checkAnswer(
  response: RawResponse,
  expected: { status: number; error: ExpectedError },
  markers: readonly string[] = [],
): void {
  expect({ status: response.status, error: errorOf(response) }).toEqual(expected);
  expect(response.status).toBeGreaterThanOrEqual(400);
  expect(response.status).toBeLessThan(500);
  const challenges = headerValues(response, 'www-authenticate');
  if (expected.error === 'http_parser') {
    expect(challenges).toEqual([]);
  } else {
    expect(headerValues(response, 'content-type')[0]).toMatch(/^application\/json/);
    expect(challenges).toHaveLength(1);
    const challenge = challenges[0] as string;
    const params = parseBearerChallenge(challenge);
    expect(params.get('realm')).toBe('api');
    const body = JSON.parse(response.body) as { error: string; error_description: string };
    if (expected.error === 'unauthorized') {
      expect(params.has('error')).toBe(false);
    } else {
      expect(params.get('error')).toBe(expected.error);
      expect(params.get('error_description')).toBe(body.error_description);
    }
  }
  // Nothing taken from the request comes back: no JWT segment, no planted marker.
  expect(response.raw).not.toMatch(/eyJ/);
  for (const marker of markers) expect(response.raw).not.toContain(marker);
  expect(unexpected).toEqual([]);
}

const byClass = new Map<CorpusClass, CorpusCase[]>();
for (const entry of corpus) byClass.set(entry.class, [...(byClass.get(entry.class) ?? []), entry]);

describe(`hostile-input corpus (Express ${expressMajor})`, () => {
  it('has at least 80 cases, unique names, and every class represented', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(80);
    expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
    expect([...byClass.keys()].sort()).toEqual(Object.keys(CLASSES).sort());
  });

  describe.each([...byClass.entries()].map(([cls, cases]) => [`${cls}: ${CLASSES[cls]}`, cases] as const))(
    '%s',
    (_label, cases) => {
      it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, entry) => {
        const shape = await entry.build(ctx);
        const response = await sendRaw(port, shape);
        checkAnswer(response, { status: entry.status, error: entry.error }, shape.markers);
        expect(canary.totalHits()).toBe(0);
      });
    },
  );
});

describe('legitimate variants around the corpus are accepted (controls)', () => {
  const accepted = async (request: Parameters<typeof sendRaw>[1]): Promise<void> => {
    const response = await sendRaw(port, request);
    expect({ status: response.status, body: response.body }).toEqual({
      status: 200,
      body: expect.stringContaining('"ok":true'),
    });
    expect(unexpected).toEqual([]);
  };

  it('a valid token', () => accepted({ path: '/api', authorization: `Bearer ${ctx.valid}` }));
  it('the scheme in any case (RFC 7235 §2.1)', async () => {
    await accepted({ path: '/api', authorization: `bearer ${ctx.valid}` });
    await accepted({ path: '/api', authorization: `BEARER ${ctx.valid}` });
  });
  it('several spaces between scheme and token (RFC 7235 1*SP)', () =>
    accepted({ path: '/api', authorization: `Bearer    ${ctx.valid}` }));
  it('optional whitespace around the header value (stripped by Node, RFC 9110 §5.5)', () =>
    accepted({ path: '/api', rawHeaders: [Buffer.from(`Authorization: \t Bearer ${ctx.valid} \t`)] }));
  it('a validly signed token with a jku header: the jku is ignored, never fetched', async () => {
    const token = await issuer.mint({}, { header: { jku: `${canary.url}/jwks.json`, x5u: `${canary.url}/cert.pem` } });
    await accepted({ path: '/api', authorization: `Bearer ${token}` });
    expect(canary.totalHits()).toBe(0);
  });
  it('a kid-less token checked against the single key fitting its alg (ES256)', async () => {
    await accepted({ path: '/api', authorization: `Bearer ${await issuer.mint({}, { alg: 'ES256', kid: null })}` });
  });
  it('a float exp in the future (a valid NumericDate, RFC 7519 §2)', async () => {
    const token = await issuer.mint({ exp: Math.floor(Date.now() / 1000) + 3600.75 });
    await accepted({ path: '/api', authorization: `Bearer ${token}` });
  });
  it('a validly signed token whose claims nest 5,000 levels deep (no stack overflow, no 5xx)', async () => {
    const json = `${JSON.stringify(ctx.claims()).slice(0, -1)},"deep":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    await accepted({ path: '/hs', authorization: `Bearer ${ctx.hs(json)}` });
  });
  it('the HS256 API with its own valid token', () => accepted({ path: '/hs', authorization: `Bearer ${ctx.validHs}` }));
  it('tokens in the query string or a form body where the API allows them', async () => {
    await accepted({ path: `/multi?access_token=${ctx.valid}` });
    await accepted({
      path: '/multi',
      method: 'POST',
      body: { contentType: 'application/x-www-form-urlencoded', data: `access_token=${ctx.valid}` },
    });
  });
  it('the unsigned header of the corpus helper round-trips (sanity check of the tooling)', () => {
    expect(b64u({ alg: 'none' })).toBe('eyJhbGciOiJub25lIn0');
  });
});

describe('the framework-free verify() API with input HTTP cannot carry', () => {
  let verifier: TokenVerifier;
  beforeAll(async () => {
    verifier = createVerifier({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE });
    await verifier.ready();
  });

  const refusal = async (token: unknown): Promise<{ status: number; code: string | undefined }> => {
    try {
      await verifier.verify(token as string);
    } catch (error) {
      if (!isM2MError(error)) throw error;
      parseBearerChallenge(error.headers['WWW-Authenticate'] as string);
      return { status: error.status, code: error.code };
    }
    throw new Error('accepted');
  };

  it.each([
    ['a space', ' '],
    ['a line feed', '\n'],
    ['a tab', '\t'],
    ['CR LF', '\r\n'],
  ])(
    'refuses a valid token with %s inside its signature (same bytes once decoded, another string)',
    async (_name, whitespace) => {
      const [h, p, s] = ctx.valid.split('.') as [string, string, string];
      await expect(refusal(`${h}.${p}.${s.slice(0, 100)}${whitespace}${s.slice(100)}`)).resolves.toEqual({
        status: 401,
        code: 'invalid_token',
      });
    },
  );

  it.each([
    ['a number', 42],
    ['undefined', undefined],
    ['null', null],
    ['an object', { toString: () => 'x' }],
    ['an empty string', ''],
  ])('refuses %s with 401 invalid_token, never a TypeError', async (_name, value) => {
    await expect(refusal(value)).resolves.toEqual({ status: 401, code: 'invalid_token' });
  });

  it('refuses a token over 16 KB with 400 invalid_request before parsing it', async () => {
    await expect(refusal(`${ctx.valid}.${'A'.repeat(16 * 1024)}`)).resolves.toEqual({
      status: 400,
      code: 'invalid_request',
    });
  });
});
