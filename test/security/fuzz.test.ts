/**
 * Property-based fuzzing (fast-check) of bearer extraction and verification.
 *
 * Properties, for every generated input:
 * - the answer is "accepted" only when the token is byte-identical to a token the issuer
 *   signed (no mutation, re-encoding or splice of a valid token may pass);
 * - every refusal is one of the package's errors with status 400 or 401 (never a 5xx, never
 *   a foreign exception) and a `WWW-Authenticate` that parses as a valid RFC 6750 challenge;
 * - over HTTP, no error other than the package's ever reaches the final error handler.
 *
 * Most cases run in-process against `createVerifier().verify` (fast); a smaller sample goes
 * through a real Express app over HTTP. Default: 10,500 cases in total (4 x 2,500
 * in-process + 500 over HTTP). `FUZZ_RUNS=<n>` sets the runs of each in-process property
 * (the HTTP sample gets n/5); `FUZZ_SEED` replays a reported seed.
 *
 * A fourth property signs random headers and claims with the HS256 API's secret, so the
 * signature is valid and the claims checks themselves are fuzzed; its oracle is the policy
 * (exact iss, aud containing the audience, finite numeric exp in the future, nbf/iat not in
 * the future, a client-credentials token naming its client), not byte identity.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { NextFunction, Request, Response } from 'express';
import { extractAccessToken } from '../../src/bearer.js';
import { toHttpError } from '../../src/challenge.js';
import { createVerifier, isM2MError, m2mErrorHandler, requireM2M, type TokenVerifier } from '../../src/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { b64u, express, expressMajor, parseBearerChallenge, signJws } from './support.js';

const AUDIENCE = 'https://api.example.com';
const HS_SECRET = randomBytes(32).toString('base64url');

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? '') || 0;
/** Runs per in-process property: 2,500 by default (4 properties: 10,000 cases). */
const IN_PROCESS_RUNS = FUZZ_RUNS > 0 ? FUZZ_RUNS : 2500;
/** Runs of the HTTP sample: 500 by default. */
const HTTP_RUNS = FUZZ_RUNS > 0 ? Math.max(100, Math.floor(FUZZ_RUNS / 5)) : 500;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, ...(SEED !== undefined && { seed: SEED }) });

let issuer: TestIssuer;
let jwksVerifier: TokenVerifier;
let hsVerifier: TokenVerifier;
/** Tokens the issuer signed: the only strings allowed through. */
let validTokens: string[];
const validSet = new Set<string>();

beforeAll(async () => {
  // One key per algorithm (no pre-published next key), so the kid-less token has a single candidate.
  issuer = await createTestIssuer({ secret: HS_SECRET, publishNextKey: false });
  const signed = await Promise.all([
    issuer.mint({}, { scope: 'read:orders' }),
    issuer.mint({}, { alg: 'ES256' }),
    issuer.mint({}, { alg: 'PS256' }),
    issuer.mint({}, { alg: 'EdDSA' }),
    issuer.mint({}, { alg: 'RS256', kid: null }),
    issuer.mint({ org_id: 'org_1' }, { alg: 'HS256' }),
  ]);
  validTokens = signed;
  for (const token of signed) validSet.add(token);
  jwksVerifier = createVerifier({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE });
  hsVerifier = createVerifier({ secret: HS_SECRET, issuer: issuer.issuer, audience: AUDIENCE });
  await jwksVerifier.ready();
  // Every signed token passes before fuzzing starts (and is in the verified-token cache).
  for (const token of signed) {
    const verifier = token === signed[5] ? hsVerifier : jwksVerifier;
    await expect(verifier.verify(token)).resolves.toMatchObject({ clientId: 'test-client' });
  }
});

afterAll(() => issuer?.close());

// ------------------------------------------------------------------------------- oracles

/** Passing is only allowed for the exact bytes the issuer signed. */
const mayPass = (token: string): boolean => validSet.has(token);

/** Checks one refusal: a package error, 400 or 401, with a valid single-line challenge. */
function checkRefusal(error: unknown, context: string): void {
  if (!isM2MError(error)) throw new Error(`${context}: a non-package error escaped: ${String(error)}`);
  if (error.status !== 400 && error.status !== 401) throw new Error(`${context}: unexpected status ${error.status}`);
  const challenge = error.headers['WWW-Authenticate'];
  if (challenge === undefined) throw new Error(`${context}: no WWW-Authenticate`);
  const attributes = parseBearerChallenge(challenge);
  if (error.code !== undefined && attributes.get('error') !== error.code)
    throw new Error(`${context}: challenge error mismatch`);
}

/** Verifies `token` with both verifiers and checks every outcome. */
async function checkToken(token: string): Promise<void> {
  for (const [name, verifier] of [
    ['jwks', jwksVerifier],
    ['hs', hsVerifier],
  ] as const) {
    let accepted = false;
    try {
      await verifier.verify(token);
      accepted = true;
    } catch (error) {
      checkRefusal(error, `${name} verifier`);
    }
    if (accepted && !mayPass(token)) throw new Error(`${name} verifier accepted a token the issuer never signed`);
  }
}

/** Runs a raw `Authorization` value through extraction, then verification. */
async function checkHeader(value: string): Promise<void> {
  let token: string | undefined;
  try {
    token = extractAccessToken({ authorization: value }, ['header'], true)?.token;
  } catch (error) {
    checkRefusal(toHttpError(error, { realm: 'api', dpopAlgorithms: [] }), 'extraction');
    return;
  }
  if (token !== undefined) await checkToken(token);
}

// --------------------------------------------------------------------------- arbitraries

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64TOKEN_EXTRA = '.~+/=';
const b64urlChar = fc.constantFrom(...B64URL.split(''));
const b64tokenChar = fc.constantFrom(...(B64URL + B64TOKEN_EXTRA).split(''));
const validToken = fc.constantFrom(...Array.from({ length: 6 }, (_, i) => i)).map((i) => validTokens[i] as string);

const ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'HS256',
  'HS384',
  'HS512',
  'none',
  'None',
  'RSA-OAEP',
  'dir',
  '',
];

/** A plausible-or-hostile JOSE header. */
const headerObject = fc.record(
  {
    alg: fc.oneof(fc.constantFrom(...ALGS), fc.jsonValue()),
    kid: fc.oneof(fc.constant('__KID__'), fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
    typ: fc.constantFrom('JWT', 'at+jwt', 'JWE', ''),
    crit: fc.oneof(fc.constant(['b64']), fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 })),
    b64: fc.boolean(),
    cty: fc.constantFrom('JWT', 'json'),
    jku: fc.constant('http://127.0.0.1:1/jwks.json'),
    jwk: fc.constant({ kty: 'oct', k: 'AAAA' }),
  },
  { requiredKeys: [] },
);

const numericish = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1e300, -1e300, Number.MAX_SAFE_INTEGER),
  fc.string({ maxLength: 12 }),
  fc.constant(null),
  fc.boolean(),
);

/** A claims set mixing valid values with hostile ones. */
const payloadObject = fc.record(
  {
    iss: fc.oneof(fc.constant('__ISS__'), fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 1 })),
    aud: fc.oneof(fc.constant(AUDIENCE), fc.constant([AUDIENCE]), fc.jsonValue({ maxDepth: 2 })),
    sub: fc.oneof(fc.constant('test-client@clients'), fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
    azp: fc.oneof(fc.constant('test-client'), fc.jsonValue({ maxDepth: 1 })),
    gty: fc.oneof(fc.constant('client-credentials'), fc.string({ maxLength: 20 })),
    exp: fc.oneof(fc.constant('__FUTURE__'), numericish),
    nbf: numericish,
    iat: numericish,
    scope: fc.oneof(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 1 })),
  },
  { requiredKeys: [] },
);

/** Fills placeholders so generated claims are often "almost valid". */
function fill(value: unknown): unknown {
  const text = JSON.stringify(value) ?? 'null';
  return JSON.parse(
    text
      .replaceAll('"__ISS__"', JSON.stringify(issuer.issuer))
      .replaceAll('"__KID__"', JSON.stringify(issuer.currentKid('RS256') ?? 'kid'))
      .replaceAll('"__FUTURE__"', String(Math.floor(Date.now() / 1000) + 3600)),
  ) as unknown;
}

const segment = fc.oneof(
  { arbitrary: headerObject.map((h) => b64u(fill(h) as object)), weight: 3 },
  { arbitrary: payloadObject.map((p) => b64u(fill(p) as object)), weight: 3 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => b64u(JSON.stringify(v) ?? 'null')), weight: 2 },
  { arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => b64u(bytes)), weight: 2 },
  { arbitrary: fc.string({ unit: b64urlChar, maxLength: 60 }), weight: 1 },
  { arbitrary: fc.constant(''), weight: 1 },
);

/** JWT-shaped strings: 1-6 segments, each plausible, random or empty; sometimes a real signature. */
const jwtShaped = fc.oneof(
  fc
    .tuple(
      headerObject,
      payloadObject,
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }).map(b64u),
        validToken.map((t) => t.split('.')[2] as string),
      ),
    )
    .map(([h, p, s]) => `${b64u(fill(h) as object)}.${b64u(fill(p) as object)}.${s}`),
  fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.')),
  fc.string({ unit: b64tokenChar, maxLength: 400 }),
);

type Mutation =
  | { kind: 'bitflip'; part: number; bit: number }
  | { kind: 'char'; part: number; position: number; char: string }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'splice'; part: number; donor: number }
  | { kind: 'truncate'; length: number }
  | { kind: 'delete'; position: number }
  | { kind: 'insert'; position: number; char: string }
  | { kind: 'append'; suffix: string }
  | { kind: 'parts'; op: 'drop' | 'duplicate'; part: number };

const part = fc.integer({ min: 0, max: 2 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('bitflip' as const), part, bit: fc.nat() }),
  fc.record({
    kind: fc.constant('char' as const),
    part,
    position: fc.nat(),
    char: fc.oneof(b64urlChar, fc.constantFrom('=', '.', '+', '/', '~')),
  }),
  fc.record({ kind: fc.constant('swap' as const), a: part, b: part }),
  fc.record({ kind: fc.constant('splice' as const), part, donor: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ kind: fc.constant('truncate' as const), length: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), position: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    position: fc.nat(),
    char: fc.oneof(b64urlChar, fc.constantFrom('=', '.', ' ', '\n', '\t')),
  }),
  fc.record({ kind: fc.constant('append' as const), suffix: fc.constantFrom('=', '==', '.', '..', 'A', '.e30') }),
  fc.record({ kind: fc.constant('parts' as const), op: fc.constantFrom('drop' as const, 'duplicate' as const), part }),
);

/** Applies one mutation; parts are re-joined with dots. */
function mutate(token: string, m: Mutation): string {
  const parts = token.split('.');
  const at = (n: number): number => n % Math.max(1, parts.length);
  switch (m.kind) {
    case 'bitflip': {
      const index = at(m.part);
      const bytes = Buffer.from(parts[index] ?? '', 'base64url');
      if (bytes.length === 0) return token;
      const bit = m.bit % (bytes.length * 8);
      bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7));
      parts[index] = bytes.toString('base64url');
      return parts.join('.');
    }
    case 'char': {
      const index = at(m.part);
      const text = parts[index] ?? '';
      if (text.length === 0) return token;
      const position = m.position % text.length;
      parts[index] = text.slice(0, position) + m.char + text.slice(position + 1);
      return parts.join('.');
    }
    case 'swap': {
      const a = at(m.a);
      const b = at(m.b);
      [parts[a], parts[b]] = [parts[b] as string, parts[a] as string];
      return parts.join('.');
    }
    case 'splice': {
      const donor = (validTokens[m.donor] as string).split('.');
      const index = at(m.part);
      parts[index] = donor[index] ?? '';
      return parts.join('.');
    }
    case 'truncate':
      return token.slice(0, m.length % token.length);
    case 'delete': {
      const position = m.position % token.length;
      return token.slice(0, position) + token.slice(position + 1);
    }
    case 'insert': {
      const position = m.position % (token.length + 1);
      return token.slice(0, position) + m.char + token.slice(position);
    }
    case 'append':
      return token + m.suffix;
    case 'parts': {
      const index = at(m.part);
      if (m.op === 'drop') parts.splice(index, 1);
      else parts.splice(index, 0, parts[index] as string);
      return parts.join('.');
    }
  }
}

const mutatedToken = fc
  .tuple(validToken, fc.array(mutation, { minLength: 1, maxLength: 3 }))
  .map(([token, mutations]) => mutations.reduce(mutate, token));

const scheme = fc.oneof(
  fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'DPoP', 'Bearer:', 'Token', ''),
  fc.mixedCase(fc.constant('bearer')),
  fc.string({ maxLength: 8 }),
);
const separator = fc.constantFrom(' ', '  ', '\t', '', ' \t', ',', '\u00a0', '=', ': ');
const suffix = fc.constantFrom('', ',', ' ', ', Basic x', '=', ';', '"', ' x', '\u00e9');
const credentials = fc.oneof(validToken, mutatedToken, jwtShaped, fc.string({ unit: b64tokenChar, maxLength: 60 }));

/** `Authorization` values: structured around the Bearer syntax, or any text at all. */
const authorization = fc.oneof(
  { arbitrary: fc.tuple(scheme, separator, credentials, suffix).map((p) => p.join('')), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 200 }), weight: 1 },
);

/** Random headers for HS-signed tokens: mostly HS256 so the signature holds, sometimes not. */
const hsHeader = fc.oneof(
  { arbitrary: headerObject.map((h) => ({ ...(fill(h) as object), alg: 'HS256' })), weight: 4 },
  { arbitrary: fc.constant({ alg: 'HS256', typ: 'JWT' }), weight: 2 },
  { arbitrary: headerObject.map((h) => fill(h) as object), weight: 1 },
);

/** Claims with a valid skeleton and a few members replaced by hostile values. */
const hsClaims = fc.tuple(payloadObject, fc.boolean()).map(([hostile, onTopOfValid]) => {
  const now = Math.floor(Date.now() / 1000);
  const valid = {
    iss: issuer.issuer,
    sub: 'test-client@clients',
    aud: AUDIENCE,
    azp: 'test-client',
    gty: 'client-credentials',
    iat: now,
    exp: now + 600,
  };
  return (onTopOfValid ? { ...valid, ...(fill(hostile) as object) } : fill(hostile)) as Record<string, unknown>;
});

const TOLERANCE = 5;
/** What the verification policy allows through the HS256 API (default options). */
function policyAllows(header: Record<string, unknown>, claims: unknown): boolean {
  if (header.alg !== 'HS256') return false;
  // RFC 7515 §4.1.11 / RFC 7797: only `b64` is understood as critical, and an unencoded payload is no JWT.
  const { crit } = header;
  if (crit !== undefined) {
    if (!Array.isArray(crit) || crit.length === 0 || !crit.every((name) => name === 'b64')) return false;
    if (header.b64 !== true) return false;
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return false;
  const c = claims as Record<string, unknown>;
  const now = Date.now() / 1000;
  const aud = c.aud;
  if (c.iss !== issuer.issuer) return false;
  if (!(aud === AUDIENCE || (Array.isArray(aud) && aud.includes(AUDIENCE)))) return false;
  if (typeof c.exp !== 'number' || !Number.isFinite(c.exp) || c.exp <= Math.floor(now) - TOLERANCE) return false;
  if (c.nbf !== undefined && (typeof c.nbf !== 'number' || c.nbf > Math.floor(now) + TOLERANCE)) return false;
  if (c.iat !== undefined && (typeof c.iat !== 'number' || c.iat > now + TOLERANCE)) return false;
  // M2M detection (README, "M2M detection") and the client id rule: the first of client_id,
  // azp, cid, appid, sub that is present names the client and must be a non-empty string.
  const sub = c.sub;
  const str = (v: unknown): v is string => typeof v === 'string' && v !== '';
  const m2m =
    c.gty === 'client-credentials' ||
    c.idtyp === 'app' ||
    (str(sub) &&
      ((typeof c.client_id === 'string' && sub === c.client_id) ||
        (str(c.azp) && (sub === c.azp || sub === `${c.azp}@clients`)) ||
        (typeof c.cid === 'string' && sub === c.cid)));
  const firstId = ['client_id', 'azp', 'cid', 'appid', 'sub']
    .map((n) => c[n])
    .find((v) => v !== undefined && v !== null);
  return m2m && str(firstId);
}

// ----------------------------------------------------------------------------- properties

describe('fuzzing the verifier in-process', () => {
  it(`random Authorization headers (${IN_PROCESS_RUNS} runs)`, async () => {
    await fc.assert(fc.asyncProperty(authorization, checkHeader), params(IN_PROCESS_RUNS));
  });

  it(`random JWT-shaped strings (${IN_PROCESS_RUNS} runs)`, async () => {
    await fc.assert(fc.asyncProperty(jwtShaped, checkToken), params(IN_PROCESS_RUNS));
  });

  it(`validly signed (HS256) tokens with random headers and claims follow the policy (${IN_PROCESS_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(hsHeader, hsClaims, async (header, claims) => {
        const token = signJws(header, claims, 'HS256', HS_SECRET);
        let accepted = false;
        try {
          await hsVerifier.verify(token);
          accepted = true;
        } catch (error) {
          checkRefusal(error, 'hs verifier');
        }
        const allowed = policyAllows(header as Record<string, unknown>, claims);
        if (accepted !== allowed)
          throw new Error(`${accepted ? 'accepted' : 'refused'} a token the policy ${allowed ? 'allows' : 'refuses'}`);
      }),
      params(IN_PROCESS_RUNS),
    );
  });

  it(`mutations of valid tokens: bit flips, character edits, part swaps and splices, truncation (${IN_PROCESS_RUNS} runs)`, async () => {
    await fc.assert(fc.asyncProperty(mutatedToken, checkToken), params(IN_PROCESS_RUNS));
  });
});

describe(`fuzzing a real Express ${expressMajor} app over HTTP`, () => {
  let server: http.Server;
  let agent: http.Agent;
  let port: number;
  const foreign: unknown[] = [];

  beforeAll(async () => {
    const app = express();
    const ok = (_req: Request, res: Response): void => {
      res.json({ ok: true });
    };
    app.get('/api', requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE }), ok);
    app.use(m2mErrorHandler());
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      foreign.push(error);
      res.status(599).end();
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  });

  afterAll(async () => {
    agent?.destroy();
    await new Promise<void>((resolve) => {
      server?.close(() => resolve());
      server?.closeAllConnections();
    });
  });

  const get = (value: string): Promise<{ status: number; challenge: string | string[] | undefined; body: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/api', agent, headers: { authorization: value } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'], body }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });

  /** Header values Node's HTTP client can send: latin1 without controls (tab allowed), trimmed by the server anyway. */
  const sendable = (value: string): string => value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '');

  it(`random Authorization headers and mutated tokens (${HTTP_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          authorization,
          credentials.map((t) => `Bearer ${t}`),
        ),
        async (raw) => {
          const value = sendable(raw);
          const { status, challenge, body } = await get(value);
          if (foreign.length > 0)
            throw new Error(`a non-package error reached the error handler: ${String(foreign[0])}`);
          if (status === 200) {
            const token = /^bearer +(.*)$/i.exec(value.trim())?.[1];
            if (token === undefined || !mayPass(token)) throw new Error('HTTP 200 for a token the issuer never signed');
            return;
          }
          if (status !== 400 && status !== 401) throw new Error(`unexpected status ${status}: ${body}`);
          if (typeof challenge !== 'string') throw new Error('expected exactly one WWW-Authenticate');
          parseBearerChallenge(challenge);
          const parsed = JSON.parse(body) as { error: string };
          if (status === 400 && parsed.error !== 'invalid_request') throw new Error(`400 with ${parsed.error}`);
          if (status === 401 && parsed.error !== 'invalid_token' && parsed.error !== 'unauthorized')
            throw new Error(`401 with ${parsed.error}`);
        },
      ),
      params(HTTP_RUNS),
    );
    expect(foreign).toEqual([]);
  });
});
