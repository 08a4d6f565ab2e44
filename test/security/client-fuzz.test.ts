/**
 * Property-based fuzzing (fast-check) of the token client's response handling.
 *
 * Each case makes a client with a random secret or a private key (and sometimes DPoP) whose `fetch` option
 * answers with a generated response: random status, headers (`Retry-After`, `Content-Length`,
 * `DPoP-Nonce`, …) and body (token responses with odd `access_token`, `token_type` and
 * `expires_in`; error responses whose code and description echo the secret in altered forms —
 * percent-encoded in either hex case, HTML-escaped, upper-cased, base64 or hex dumps of the
 * request; non-JSON text). Properties, for every case:
 * - `getToken()` either returns the generated `access_token` (only for a 2xx with a usable body)
 *   or throws a `TokenRequestError` — never anything else;
 * - no rendering of the error or of the client (message, stack, cause, `error_description`,
 *   `JSON.stringify`, `util.inspect`) contains the secret in any of those forms;
 * - a returned token is not served from the cache past the earliest of `expires_in`, the JWT's
 *   `exp` and 24 hours (60 s when neither is known).
 *
 * Default: 10,000 cases. `CLIENT_FUZZ_RUNS=<n>` (or `FUZZ_RUNS`) sets the number; `FUZZ_SEED`
 * replays a reported seed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { TokenRequestError, type FetchImplementation } from '../../src/client/index.js';
import { createTokenClientWithInternals } from '../../src/client/token-client.js';

const RUNS = Number(process.env.CLIENT_FUZZ_RUNS ?? process.env.FUZZ_RUNS ?? '') || 10_000;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const DAY_MS = 24 * 3600 * 1000;
const START = 1_700_000_000_000;

/** The forms a server may echo `secret` (or the request body carrying it) in. */
function leakForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
    [...secret].map((c) => `&#${c.codePointAt(0)};`).join(''),
    secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
    secret.toUpperCase(),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
  ];
}

/** What must never be found in any rendering: every leak form, plus the secret's random core. */
function forbidden(secret: string): string[] {
  const core = secret.slice(0, 16);
  return [...leakForms(secret), core, core.toUpperCase(), core.toLowerCase()];
}

function renderings(value: unknown): string {
  const error = value as Error & { cause?: unknown; error_description?: string };
  return [
    String(value),
    error instanceof Error ? `${error.message}\n${error.stack}\n${inspect(error.cause)}` : '',
    String(error.error_description),
    JSON.stringify(value) ?? '',
    inspect(value, { depth: Infinity, showHidden: true }),
    inspect(value, { depth: Infinity, customInspect: false }),
  ].join('\n');
}

const jwtWithExp = (exp: unknown): string =>
  `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.c2ln`;

// A random core of 16+ base64url characters, then characters that encodings treat specially.
const secretArb = fc
  .tuple(
    fc.uint8Array({ minLength: 12, maxLength: 30 }),
    fc.constantFrom('', ':', ' x', '+/=', 'üñí', '&<>"', '%41', 'ß'),
  )
  .map(([bytes, tail]) => `${Buffer.from(bytes).toString('base64url')}${tail}`);

const expiresInArb = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: -5, max: 200_000 }),
  fc.double(),
  fc.constantFrom(1e308, Number.MAX_SAFE_INTEGER, -1, 1.5, 0, null, true, '3600', '9'.repeat(400), 'abc', '1.5', ''),
  fc.string({ maxLength: 12 }),
);

const accessTokenArb = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.stringMatching(/^[A-Za-z0-9._~+/-]{1,60}$/),
  fc
    .oneof(fc.integer({ min: -1e6, max: 1e7 }), fc.constantFrom(1e308, -1e308, 'x', null))
    .map((delta) => jwtWithExp(typeof delta === 'number' ? START / 1000 + delta : delta)),
  fc.constant(undefined),
  fc.integer(),
);

/** A server text that may echo the secret or the request. */
const echoArb = (secret: string) =>
  fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom(...leakForms(secret)),
    fc.constantFrom('body', 'basic').map((what) => ({ echo: what })),
  );

interface Case {
  secret: string;
  method: 'client_secret_post' | 'client_secret_basic' | 'private_key_jwt';
  dpop: boolean;
  status: number;
  headers: Record<string, string>;
  body: (request: { body: string; authorization: string }) => string | null;
  /** The token and its expires_in, when the body is a token response. */
  token?: { accessToken: unknown; expiresIn: unknown; tokenType: unknown };
}

// Built once: fast-check compiles stringMatching patterns, too slow to redo per case.
const tokenBody = fc.record({
  accessToken: accessTokenArb,
  expiresIn: expiresInArb,
  tokenType: fc.oneof(fc.constantFrom('Bearer', 'bearer', 'DPoP', 'dpop', undefined, 'mac', 7), fc.string()),
});
const headers = fc.record(
  {
    'retry-after': fc.oneof(fc.nat({ max: 100 }).map(String), fc.string({ maxLength: 8 })),
    'content-type': fc.constantFrom('application/json', 'text/html', ''),
    'content-length': fc.constantFrom('0', '5', '2000000', 'abc'),
    'dpop-nonce': fc.stringMatching(/^[A-Za-z0-9]{1,10}$/),
  },
  { requiredKeys: [] },
);
/** One EC key for the private_key_jwt cases (its private scalar `d` plays the secret). */
const { privateKey: PRIVATE_KEY } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const KEY_D = (PRIVATE_KEY.export({ format: 'jwk' }) as { d: string }).d;

const METHODS = ['client_secret_post', 'client_secret_basic', 'private_key_jwt'] as const;
const methodAndSecret = fc
  .constantFrom(...METHODS)
  .chain((method) =>
    (method === 'private_key_jwt' ? fc.constant(KEY_D) : secretArb).map((secret) => ({ method, secret })),
  );

const caseArb: fc.Arbitrary<Case> = methodAndSecret.chain(({ method, secret }) => {
  const text = fc
    .tuple(fc.string({ maxLength: 10 }), echoArb(secret), fc.string({ maxLength: 10 }))
    .map(([a, echo, b]) => (request: { body: string; authorization: string }) => {
      if (typeof echo === 'string') return `${a}${echo}${b}`;
      const raw = echo.echo === 'body' ? request.body : request.authorization;
      return `${a}${Buffer.from(raw).toString(b.length % 2 === 0 ? 'base64' : 'hex')}${b}`;
    });
  const body = fc.oneof(
    tokenBody.map((token) => ({
      token,
      body: () =>
        JSON.stringify({ access_token: token.accessToken, token_type: token.tokenType, expires_in: token.expiresIn }),
    })),
    fc
      .tuple(
        fc.oneof(
          text,
          fc.constantFrom(
            () => 'invalid_client',
            () => 'use_dpop_nonce',
          ),
        ),
        text,
      )
      .map(([code, description]) => ({
        token: undefined,
        body: (request: { body: string; authorization: string }) =>
          JSON.stringify({ error: code(request), error_description: description(request) }),
      })),
    text.map((raw) => ({ token: undefined, body: raw })),
    fc.json().map((raw) => ({ token: undefined, body: () => raw })),
  );
  return fc
    .record({
      dpop: fc.boolean(),
      status: fc.oneof(fc.constantFrom(200, 201, 204, 400, 401, 429, 500, 503), fc.integer({ min: 200, max: 599 })),
      headers,
      body,
    })
    .map(({ body: generated, ...rest }) => ({ secret, method, ...rest, body: generated.body, token: generated.token }));
});

/** The longest a token may be served from the cache, per the response, in ms. */
function cacheBound(accessToken: string, expiresIn: unknown): number {
  const bounds: number[] = [DAY_MS];
  let known = false;
  if (typeof expiresIn === 'number' || (typeof expiresIn === 'string' && /^\d+$/.test(expiresIn))) {
    bounds.push(Number(expiresIn) * 1000);
    known = true;
  }
  const parts = accessToken.split('.');
  if (parts.length === 3) {
    try {
      const { exp } = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: unknown };
      if (typeof exp === 'number') {
        bounds.push(exp * 1000 - START);
        known = true;
      }
    } catch {
      // Not a JWT: only expires_in counts.
    }
  }
  return known ? Math.max(0, Math.min(...bounds)) : 60_000;
}

/** Outcomes seen, so that a run that never reaches a path fails instead of passing vacuously. */
const seen = { tokens: 0, cachedTokens: 0, withheld: 0, errors: 0 };

async function runCase(c: Case): Promise<void> {
  let now = START;
  let calls = 0;
  const respond: FetchImplementation = (_input, init) => {
    calls++;
    const headers = new Headers(init?.headers);
    const request = { body: String(init?.body ?? ''), authorization: headers.get('authorization') ?? '' };
    const nullBody = c.status === 204 || c.status === 205 || c.status === 304;
    return Promise.resolve(new Response(nullBody ? null : c.body(request), { status: c.status, headers: c.headers }));
  };
  const client = createTokenClientWithInternals(
    {
      tokenEndpoint: 'https://as.example.com/oauth/token',
      clientId: 'fuzz-client',
      ...(c.method === 'private_key_jwt' ? { privateKey: PRIVATE_KEY } : { clientSecret: c.secret }),
      tokenEndpointAuthMethod: c.method,
      retries: 0,
      fetch: respond,
      ...(c.dpop && { dpop: true as const }),
    },
    { now: () => now, random: () => 0 },
  );
  let token: string;
  try {
    token = await client.getToken();
  } catch (error) {
    if (!(error instanceof TokenRequestError)) throw new Error(`a foreign error escaped: ${String(error)}`);
    seen.errors++;
    if (error.error_description === '[redacted: the server echoed a credential]') seen.withheld++;
    const text = renderings(error) + renderings(client);
    for (const form of forbidden(c.secret)) {
      if (text.includes(form)) throw new Error(`the secret leaked as ${JSON.stringify(form)}`);
    }
    return;
  }
  if (c.status < 200 || c.status > 299) throw new Error(`a token came out of HTTP ${c.status}`);
  if (c.token === undefined || token !== c.token.accessToken) throw new Error('a token that the server did not send');
  seen.tokens++;
  const bound = cacheBound(token, c.token.expiresIn);
  // Reused at once (a positive lifetime always leaves some cache time after the margin).
  const first = calls;
  await client.getToken().catch(() => undefined);
  if (calls === first) seen.cachedTokens++;
  const before = calls;
  now = START + bound;
  await client.getToken().catch(() => undefined);
  if (calls === before) throw new Error(`a token was served from the cache past ${bound} ms`);
}

describe('token client response fuzzing', () => {
  it(`never throws a foreign error, never leaks the secret, never caches past the bound (${RUNS} cases)`, async () => {
    await fc.assert(fc.asyncProperty(caseArb, runCase), { numRuns: RUNS, ...(SEED !== undefined && { seed: SEED }) });
    // Every path was exercised: tokens issued and reused, refusals, withheld echoes.
    expect(Math.min(seen.tokens, seen.cachedTokens, seen.withheld, seen.errors)).toBeGreaterThan(0);
  }, 600_000);

  it('the property catches a leak (the oracle is not vacuous)', () => {
    const secret = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAA:';
    const rendered = renderings(new Error(`echo ${encodeURIComponent(secret).toLowerCase()}`));
    expect(forbidden(secret).some((form) => rendered.includes(form))).toBe(true);
  });
});
