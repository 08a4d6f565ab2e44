/**
 * JWKS and discovery fault injection against a real node:http issuer on 127.0.0.1 that this
 * file controls: it serves discovery and the JWKS itself (own RSA keys, tokens signed with
 * jose) and can hang, drip, fail, lie, redirect, flood or reset on demand.
 *
 * What must hold: the API never crashes and never answers 5xx other than 503; on a cold
 * start a missing key set is 503 + `Retry-After`; once a key set is known a failing refresh
 * keeps serving tokens signed by known keys (stale-if-error, reported through
 * `jwks.onEvent`); the API recovers by itself when the issuer heals; oversized bodies are
 * refused without being buffered; redirects are followed only within the origin (up to 3).
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { NextFunction, Request, Response } from 'express';
import { SignJWT } from 'jose';
import request from 'supertest';
import { createVerifier, m2mErrorHandler, type KeySetEvent, type RequireM2MOptions } from '../../src/index.js';
import type { VerifierOptions } from '../../src/options/types.js';
import { middlewareFor } from '../../src/express/middleware.js';
import { resolveOptions } from '../../src/options/resolve.js';
import { Verifier } from '../../src/verifier.js';
import { manualClock, type ManualClock } from '../helpers/time.js';
import { express, signJws, startServer, waitFor, type LoopbackServer } from './support.js';

const AUDIENCE = 'https://api.example.com';

// ------------------------------------------------------------------------------ the issuer

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function newKey(kid: string = randomUUID(), modulusLength = 2048): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A discovery + JWKS server whose every route can be swapped for a fault. */
interface FaultyIssuer extends LoopbackServer {
  readonly issuer: string;
  readonly jwksUri: string;
  /** Keys published by the default JWKS route. */
  published: SigningKey[];
  /** Route overrides by path; the defaults serve discovery and `published`. */
  routes: Map<string, Handler>;
  /** Bytes the current flood handler managed to hand to the socket. */
  flood: { written: number; closed: boolean };
  sign(key: SigningKey, claims?: Record<string, unknown>): Promise<string>;
  heal(): void;
}

const DISCOVERY = '/.well-known/openid-configuration';
const RFC8414 = '/.well-known/oauth-authorization-server';
const JWKS = '/jwks.json';

function json(res: ServerResponse, body: unknown, status = 200): void {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

async function startFaultyIssuer(): Promise<FaultyIssuer> {
  const routes = new Map<string, Handler>();
  let origin = '';
  const defaults = new Map<string, Handler>([
    [DISCOVERY, (_req, res) => json(res, { issuer: `${origin}/`, jwks_uri: `${origin}${JWKS}` })],
    [JWKS, (_req, res) => json(res, { keys: state.published.map((k) => k.jwk) })],
  ]);
  const state: FaultyIssuer = Object.assign(
    await startServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const handler =
        routes.get(path) ??
        defaults.get(path) ??
        ((_q: IncomingMessage, r: ServerResponse) => json(r, { error: 'not_found' }, 404));
      handler(req, res);
    }),
    {
      issuer: '',
      jwksUri: '',
      published: [] as SigningKey[],
      routes,
      flood: { written: 0, closed: false },
      sign: (key: SigningKey, claims: Record<string, unknown> = {}) =>
        new SignJWT({ azp: 'svc', gty: 'client-credentials', ...claims })
          .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
          .setIssuer(state.issuer)
          .setAudience(AUDIENCE)
          .setSubject('svc@clients')
          .setIssuedAt()
          .setExpirationTime('1h')
          .setJti(randomUUID())
          .sign(key.privateKey),
      heal: () => routes.clear(),
    },
  );
  origin = state.url;
  Object.assign(state, { issuer: `${origin}/`, jwksUri: `${origin}${JWKS}` });
  return state;
}

// ---------------------------------------------------------------------------------- faults

/** Never answers (the socket stays open until the server closes). */
const hang: Handler = () => {};
/** Sends headers, then one byte every 200 ms, forever. */
const drip: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{');
  const timer = setInterval(() => res.write(' '), 200);
  res.on('close', () => clearInterval(timer));
};
const status =
  (code: number): Handler =>
  (_req, res) =>
    json(res, { error: 'boom', secret_marker: 'LEAK-ME-NOT' }, code);
const body =
  (text: string): Handler =>
  (_req, res) =>
    json(res, text);
/** Streams `total` bytes of JSON-ish filler, honouring back-pressure, with or without Content-Length. */
const flood =
  (state: FaultyIssuer, total: number, withLength: boolean): Handler =>
  (_req, res) => {
    state.flood = { written: 0, closed: false };
    const stats = state.flood;
    res.writeHead(
      200,
      withLength
        ? { 'content-type': 'application/json', 'content-length': total }
        : { 'content-type': 'application/json' },
    );
    res.on('close', () => (stats.closed = true));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = (): void => {
      while (!stats.closed && stats.written < total) {
        stats.written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!stats.closed) res.end();
    };
    pump();
  };
/** Announces a body, sends half of it, then resets the connection. */
const resetMidBody =
  (full: string): Handler =>
  (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(full) });
    res.write(full.slice(0, Math.floor(full.length / 2)), () => setTimeout(() => req.socket.resetAndDestroy(), 20));
  };
const resetAtOnce: Handler = (req) => req.socket.resetAndDestroy();
const redirect =
  (location: string, code = 302): Handler =>
  (_req, res) => {
    res.writeHead(code, { location });
    res.end();
  };

// ------------------------------------------------------------------------------- fixtures

let srv: FaultyIssuer;
let keyA: SigningKey;
let keyB: SigningKey;
/** Rejections nobody handled while this file ran: must stay empty. */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  keyA = newKey('key-a');
  keyB = newKey('key-b');
});

beforeEach(async () => {
  srv = await startFaultyIssuer();
  srv.published = [keyA];
});

afterEach(async () => {
  await srv.close();
});

afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

/** Fast-failing settings: 1 s timeout, cooldown and cache age. */
const FAST = { timeout: 1, cooldown: 1, cacheMaxAge: 1 } as const;

/** An API whose verifier reads `clock` (so the test moves time by hand), like `requireM2M(options)`. */
function apiFor(options: RequireM2MOptions, clock: ManualClock = manualClock()) {
  const foreign: unknown[] = [];
  const app = express();
  const m2m = middlewareFor(new Verifier(resolveOptions({ audience: AUDIENCE, ...options }, {}), clock.now), true, [
    'header',
  ]);
  app.get('/api', m2m, (req: Request, res: Response) => {
    res.json({ clientId: req.auth?.clientId });
  });
  app.use(m2mErrorHandler());
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    foreign.push(error);
    res.status(500).json({ error: 'crashed' });
  });
  const call = async (token: string) => {
    const res = await request(app).get('/api').set('Authorization', `Bearer ${token}`);
    expect(foreign).toEqual([]);
    return res;
  };
  return { app, m2m, call, foreign };
}

function events(): {
  list: KeySetEvent[];
  onEvent: (event: KeySetEvent) => void;
  of: (type: KeySetEvent['type']) => KeySetEvent[];
} {
  const list: KeySetEvent[] = [];
  return { list, onEvent: (event) => list.push(event), of: (type) => list.filter((e) => e.type === type) };
}

/** Asserts the cold-start answer: 503, Retry-After, temporarily_unavailable. */
function expect503(res: request.Response, retryAfter = '1'): void {
  expect(res.status).toBe(503);
  expect(res.headers['retry-after']).toBe(retryAfter);
  expect(res.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
  expect(JSON.stringify(res.body)).not.toContain('LEAK-ME-NOT');
}

// ---------------------------------------------------------------------------------- tests

describe('cold start: the key set cannot be obtained → 503 + Retry-After, never a crash', () => {
  const jwksFaults: Array<[string, (s: FaultyIssuer) => Handler, number?]> = [
    ['the JWKS request hangs (timeout 1 s holds)', () => hang],
    ['the JWKS drips one byte every 200 ms (the timeout covers the body)', () => drip],
    ['the JWKS answers HTTP 500', () => status(500)],
    ['the JWKS answers HTTP 404', () => status(404)],
    ['the JWKS answers 200 with invalid JSON', () => body('{"keys": [')],
    ['the JWKS answers 200 with an empty body', () => body('')],
    ['the JWKS is JSON but an empty object', () => body('{}')],
    ['the JWKS is a JSON array', () => body('[]')],
    ['the JWKS "keys" is a string', () => body('{"keys":"RS256"}')],
    ['the JWKS "keys" holds a non-object', () => body('{"keys":[1]}')],
    ['the JWKS "keys" is null', () => body('{"keys":null}')],
    ['the JWKS resets the connection before answering', () => resetAtOnce],
    [
      'the JWKS resets the connection mid-body',
      (s) => resetMidBody(JSON.stringify({ keys: s.published.map((k) => k.jwk) })),
    ],
    ['the JWKS redirects to another origin', () => redirect('http://localhost:1/jwks.json')],
    ['the JWKS redirects 4 times within the origin (max 3)', () => redirect(JWKS.replace('.json', '-1.json'))],
  ];

  it.each(jwksFaults)('%s', async (_name, fault) => {
    srv.routes.set(JWKS, fault(srv));
    // For the redirect chain: -1 → -2 → -3 → -4 → the real JWKS (4 hops).
    for (let hop = 1; hop <= 3; hop++) srv.routes.set(`/jwks-${hop}.json`, redirect(`/jwks-${hop + 1}.json`));
    srv.routes.set('/jwks-4.json', (_req, res) => json(res, { keys: srv.published.map((k) => k.jwk) }));
    const { call, m2m } = apiFor({ issuerBaseURL: srv.url, jwks: FAST });
    const token = await srv.sign(keyA);
    const started = Date.now();
    // ready() and the request share the one fetch in flight.
    const [res, readiness] = await Promise.all([
      call(token),
      m2m.ready().then(
        () => undefined,
        (error: unknown) => error,
      ),
    ]);
    expect(Date.now() - started).toBeLessThan(3000);
    expect503(res);
    expect(readiness).toBeInstanceOf(Error);
    expect((readiness as Error).message).toMatch(
      /^express-m2m: cannot obtain the signing keys of http:\/\/127\.0\.0\.1:\d+: .+/,
    );
    expect((readiness as Error).message).not.toContain('LEAK-ME-NOT');
  });

  const discoveryFaults: Array<[string, (s: FaultyIssuer) => [string, Handler][]]> = [
    [
      'discovery hangs on both metadata URLs',
      () => [
        [DISCOVERY, hang],
        [RFC8414, hang],
      ],
    ],
    [
      'discovery answers HTTP 500 on both metadata URLs',
      () => [
        [DISCOVERY, status(500)],
        [RFC8414, status(500)],
      ],
    ],
    ['discovery answers invalid JSON', () => [[DISCOVERY, body('<html>')]]],
    ['discovery has no jwks_uri', (s) => [[DISCOVERY, body(JSON.stringify({ issuer: s.issuer }))]]],
    [
      'discovery has a file: jwks_uri',
      (s) => [[DISCOVERY, body(JSON.stringify({ issuer: s.issuer, jwks_uri: 'file:///etc/passwd' }))]],
    ],
    [
      'discovery has a javascript: jwks_uri',
      (s) => [[DISCOVERY, body(JSON.stringify({ issuer: s.issuer, jwks_uri: 'javascript:alert(1)' }))]],
    ],
    [
      'discovery has a non-string issuer',
      (s) => [[DISCOVERY, body(JSON.stringify({ issuer: { iss: s.issuer }, jwks_uri: s.jwksUri }))]],
    ],
    [
      'discovery redirects to another origin',
      () => [[DISCOVERY, redirect('http://localhost:1/.well-known/openid-configuration')]],
    ],
    ['discovery sends 2 MB (over maxBytes)', (s) => [[DISCOVERY, flood(s, 2 * 1024 * 1024, false)]]],
  ];

  it.each(discoveryFaults)('%s', async (_name, faults) => {
    for (const [path, handler] of faults(srv)) srv.routes.set(path, handler);
    const { call, m2m } = apiFor({ issuerBaseURL: srv.url, jwks: FAST });
    const token = await srv.sign(keyA);
    const started = Date.now();
    const [res, readiness] = await Promise.all([
      call(token),
      m2m.ready().then(
        () => undefined,
        (error: unknown) => error,
      ),
    ]);
    // Two metadata URLs are tried, each with its own 1 s timeout.
    expect(Date.now() - started).toBeLessThan(4000);
    expect503(res);
    expect((readiness as Error).message).toMatch(
      /^express-m2m: cannot obtain the signing keys of http:\/\/127\.0\.0\.1:\d+: discovery failed for /,
    );
  });

  it('Retry-After is the cooldown rounded up to whole seconds', async () => {
    srv.routes.set(JWKS, status(500));
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: { ...FAST, cooldown: 1.2 } });
    expect503(await call(await srv.sign(keyA)), '2');
  });

  it('within the cooldown, further requests get 503 at once without refetching (no retry storm)', async () => {
    srv.routes.set(JWKS, status(500));
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: { ...FAST, cooldown: 5 } });
    const token = await srv.sign(keyA);
    expect503(await call(token), '5');
    const hits = srv.hits.get(JWKS);
    const answers = await Promise.all(Array.from({ length: 20 }, () => call(token)));
    for (const res of answers) expect503(res, '5');
    expect(srv.hits.get(JWKS)).toBe(hits);
  });

  it('recovers by itself once the issuer heals (after the cooldown)', async () => {
    srv.routes.set(JWKS, status(500));
    const clock = manualClock();
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: FAST }, clock);
    const token = await srv.sign(keyA);
    expect503(await call(token));
    srv.heal();
    clock.advance(1100);
    const res = await call(token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ clientId: 'svc' });
  });

  it('500 concurrent requests on a cold start share one discovery and one JWKS fetch', async () => {
    srv.routes.set(JWKS, (req, res) => setTimeout(() => json(res, { keys: srv.published.map((k) => k.jwk) }), 100));
    const verifier = createVerifier({ issuerBaseURL: srv.url, audience: AUDIENCE, jwks: FAST });
    const tokens = await Promise.all(Array.from({ length: 10 }, () => srv.sign(keyA)));
    const results = await Promise.allSettled(
      Array.from({ length: 500 }, (_, i) => verifier.verify(tokens[i % 10] as string)),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(srv.hits.get(DISCOVERY)).toBe(1);
    expect(srv.hits.get(JWKS)).toBe(1);
  });
});

describe('a key set that is obtained but useless: 401 invalid_token, not 503', () => {
  const cases: Array<[string, (s: FaultyIssuer) => unknown[]]> = [
    [
      'only EC keys for an RS256 token',
      () => [
        {
          ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
          kid: 'key-a',
          alg: 'ES256',
        },
      ],
    ],
    [
      'a symmetric (oct) key under the token kid',
      () => [{ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0', kid: 'key-a', alg: 'HS256' }],
    ],
    ['the right key marked use: enc', () => [{ ...keyA.jwk, use: 'enc' }]],
    ['the right key with key_ops ["encrypt"]', () => [{ ...keyA.jwk, key_ops: ['encrypt'] }]],
    ['the right key with alg PS256', () => [{ ...keyA.jwk, alg: 'PS256' }]],
    [
      'a private RSA key (d, p, q present)',
      () => [{ ...keyA.privateKey.export({ format: 'jwk' }), kid: 'key-a', alg: 'RS256' }],
    ],
    ['an RSA key with a garbage modulus', () => [{ ...keyA.jwk, n: 'AAAA' }]],
    ['an RSA key with a non-string modulus', () => [{ ...keyA.jwk, n: 12345 }]],
    ['two keys with the same kid and alg', () => [keyA.jwk, { ...keyB.jwk, kid: 'key-a' }]],
  ];

  it.each(cases)('%s', async (_name, keys) => {
    srv.routes.set(JWKS, (_req, res) => json(res, { keys: keys(srv) }));
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: FAST });
    const res = await call(await srv.sign(keyA));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
  });

  it('a 1024-bit RSA key is refused even when it signed the token', async () => {
    const weak = newKey('weak', 1024);
    srv.published = [weak];
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: FAST });
    // jose refuses to sign with it, so node:crypto does.
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: srv.issuer,
      aud: AUDIENCE,
      sub: 'svc@clients',
      azp: 'svc',
      gty: 'client-credentials',
      iat: now,
      exp: now + 600,
    };
    const res = await call(signJws({ alg: 'RS256', kid: 'weak' }, claims, 'RS256', weak.privateKey));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_token', error_description: 'invalid signing key' });
  });

  it('garbage keys next to a good one do not break the good one', async () => {
    srv.routes.set(JWKS, (_req, res) =>
      json(res, { keys: [{ kty: 'RSA', kid: 'junk', n: '!!', e: 'AQAB' }, { kty: 'nope' }, keyA.jwk] }),
    );
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: FAST });
    expect((await call(await srv.sign(keyA))).status).toBe(200);
  });
});

describe('oversized bodies are refused without buffering them', () => {
  const FIFTY_MB = 50 * 1024 * 1024;
  const heapAndBuffers = (): number => {
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.arrayBuffers;
  };

  it.each([
    ['with Content-Length (refused from the header)', true],
    ['chunked, without Content-Length (refused while streaming)', false],
  ])('a 50 MB JWKS %s', async (_name, withLength) => {
    srv.routes.set(JWKS, flood(srv, FIFTY_MB, withLength));
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: { ...FAST, timeout: 10 } });
    const before = heapAndBuffers();
    const started = Date.now();
    expect503(await call(await srv.sign(keyA)));
    expect(Date.now() - started).toBeLessThan(3000);
    await waitFor(() => srv.flood.closed);
    // The client stopped reading after at most maxBytes (1 MiB): the server could only fill
    // the socket buffers, nowhere near the 50 MB it tried to send.
    expect(srv.flood.closed).toBe(true);
    expect(srv.flood.written).toBeLessThan(12 * 1024 * 1024);
    expect(heapAndBuffers() - before).toBeLessThan(24 * 1024 * 1024);
  });

  it('a JWKS just under maxBytes is accepted', async () => {
    const padding = 'x'.repeat(60 * 1024);
    srv.routes.set(JWKS, (_req, res) => json(res, { keys: srv.published.map((k) => k.jwk), padding }));
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: { ...FAST, maxBytes: 64 * 1024 } });
    expect((await call(await srv.sign(keyA))).status).toBe(200);
  });

  it('a JWKS just over a small maxBytes is refused', async () => {
    const padding = 'x'.repeat(70 * 1024);
    srv.routes.set(JWKS, (_req, res) => json(res, { keys: srv.published.map((k) => k.jwk), padding }));
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: { ...FAST, maxBytes: 64 * 1024 } });
    expect503(await call(await srv.sign(keyA)));
  });
});

describe('redirects: same origin up to 3 hops, never to another origin', () => {
  let other: LoopbackServer;
  beforeEach(async () => {
    // Another origin serving an attacker's key set: must never be contacted.
    const attacker = newKey('key-a');
    other = await startServer((_req, res) => json(res, { keys: [attacker.jwk] }));
  });
  afterEach(() => other.close());

  it.each([1, 2, 3])('follows %i same-origin redirect(s), relative or absolute, any 3xx', async (hops) => {
    const codes = [301, 302, 307, 308];
    srv.routes.set(JWKS, redirect(hops === 1 ? `${srv.url}/jwks-final.json` : '/jwks-hop-2.json', codes[0]));
    for (let hop = 2; hop <= hops; hop++) {
      srv.routes.set(
        `/jwks-hop-${hop}.json`,
        redirect(hop === hops ? '/jwks-final.json' : `/jwks-hop-${hop + 1}.json`, codes[(hop - 1) % 4]),
      );
    }
    srv.routes.set('/jwks-final.json', (_req, res) => json(res, { keys: srv.published.map((k) => k.jwk) }));
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: FAST });
    expect((await call(await srv.sign(keyA))).status).toBe(200);
    expect(srv.hits.get('/jwks-final.json')).toBe(1);
  });

  it('refuses a 4th same-origin redirect', async () => {
    srv.routes.set(JWKS, redirect('/r1'));
    srv.routes.set('/r1', redirect('/r2'));
    srv.routes.set('/r2', redirect('/r3'));
    srv.routes.set('/r3', redirect('/jwks-final.json'));
    srv.routes.set('/jwks-final.json', (_req, res) => json(res, { keys: srv.published.map((k) => k.jwk) }));
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: FAST });
    expect503(await call(await srv.sign(keyA)));
    expect(srv.hits.get('/jwks-final.json')).toBeUndefined();
  });

  it.each([
    ['another port', (o: LoopbackServer) => `${o.url}/jwks.json`],
    [
      'the same port under another host name (localhost)',
      (o: LoopbackServer) => `http://localhost:${o.port}/jwks.json`,
    ],
  ])('refuses a JWKS redirect to %s; the other origin is never contacted', async (_name, target) => {
    srv.routes.set(JWKS, redirect(target(other)));
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: FAST });
    expect503(await call(await srv.sign(keyA)));
    expect(other.totalHits()).toBe(0);
  });

  it('refuses a cross-origin redirect during a refresh and keeps the last good key set', async () => {
    const log = events();
    const clock = manualClock();
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: { ...FAST, onEvent: log.onEvent } }, clock);
    expect((await call(await srv.sign(keyA))).status).toBe(200);
    srv.routes.set(JWKS, redirect(`${other.url}/jwks.json`));
    clock.advance(1100);
    expect((await call(await srv.sign(keyA))).status).toBe(200);
    await waitFor(() => log.of('fetch_failed').length > 0);
    expect(other.totalHits()).toBe(0);
    expect(log.of('fetch_failed')).toEqual([expect.objectContaining({ resource: 'jwks', servingStale: true })]);
  });
});

describe('stale-if-error: a failing refresh keeps serving the last good key set', () => {
  const refreshFaults: Array<[string, () => Handler]> = [
    ['HTTP 500', () => status(500)],
    ['a hang (answered within the 1 s timeout)', () => hang],
    ['a connection reset mid-body', () => resetMidBody(JSON.stringify({ keys: [keyA.jwk] }))],
    ['invalid JSON', () => body('{"keys":')],
    ['valid JSON that is not a JWKS', () => body('{"issuer":"x"}')],
  ];

  it.each(refreshFaults)('refresh fails with %s', async (_name, fault) => {
    const log = events();
    const clock = manualClock();
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: { ...FAST, onEvent: log.onEvent } }, clock);
    const first = await srv.sign(keyA);
    expect((await call(first)).status).toBe(200);
    expect(log.of('fetched').map((e) => (e as { resource: string }).resource)).toEqual(['discovery', 'jwks']);

    srv.routes.set(JWKS, fault());
    clock.advance(1100); // past cacheMaxAge and cooldown: the next request refreshes
    const started = Date.now();
    const fresh = await call(await srv.sign(keyA)); // a new token: no verified-token cache hit
    expect(Date.now() - started).toBeLessThan(2500);
    expect(fresh.status).toBe(200);
    expect((await call(first)).status).toBe(200); // the cached one too

    // The refresh runs in the background and never delays a request; its failure is reported
    // when it ends (a hang after the 1 s timeout). One failed refresh per cooldown.
    await waitFor(() => log.of('fetch_failed').length > 0);
    const failed = log.of('fetch_failed');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const event of failed) expect(event).toMatchObject({ resource: 'jwks', servingStale: true });
    expect(failed[0]).toMatchObject({ type: 'fetch_failed', resource: 'jwks', url: srv.jwksUri, servingStale: true });
    expect((failed[0] as { error: Error }).error).toBeInstanceOf(Error);
    expect((failed[0] as { error: Error }).error.message).not.toContain('LEAK-ME-NOT');
    const stale = log.of('serving_stale');
    expect(stale.length).toBeGreaterThanOrEqual(1);
    expect(stale[0]).toMatchObject({ type: 'serving_stale', url: srv.jwksUri });
    expect((stale[0] as { age: number }).age).toBeGreaterThanOrEqual(1);

    // A token with a kid the stale set does not know: 401 (a key set is known), not 503.
    const unknown = await call(await srv.sign(keyB));
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toBe('invalid_token');
  });

  it('recovers by itself when the issuer heals, and learns a rotated key', async () => {
    const log = events();
    const clock = manualClock();
    const { call } = apiFor({ issuerBaseURL: srv.url, jwks: { ...FAST, onEvent: log.onEvent } }, clock);
    expect((await call(await srv.sign(keyA))).status).toBe(200);
    srv.routes.set(JWKS, status(503));
    clock.advance(1100);
    expect((await call(await srv.sign(keyA))).status).toBe(200);
    expect((await call(await srv.sign(keyB))).status).toBe(401);

    srv.heal();
    srv.published = [keyB, keyA]; // rotated while it was down
    clock.advance(1100);
    expect((await call(await srv.sign(keyB))).status).toBe(200);
    expect((await call(await srv.sign(keyA))).status).toBe(200);
    const jwksEvents = log.list.filter(
      (e) => e.type !== 'serving_stale' && (e as { resource?: string }).resource === 'jwks',
    );
    expect(jwksEvents.map((e) => e.type)).toEqual(['fetched', 'fetch_failed', 'fetched']);
    expect(log.list.at(-1)).toMatchObject({ type: 'fetched', resource: 'jwks', keys: 2 });
  });

  it('a throwing onEvent hook changes nothing', async () => {
    const clock = manualClock();
    const { call } = apiFor(
      {
        issuerBaseURL: srv.url,
        jwks: {
          ...FAST,
          onEvent: () => {
            throw new Error('logger down');
          },
        },
      },
      clock,
    );
    expect((await call(await srv.sign(keyA))).status).toBe(200);
    srv.routes.set(JWKS, status(500));
    clock.advance(1100);
    expect((await call(await srv.sign(keyA))).status).toBe(200);
  });

  it('an unknown-kid flood causes at most one JWKS fetch per cooldown, all 401, no 5xx', async () => {
    const verifierOptions: VerifierOptions = {
      issuerBaseURL: srv.url,
      audience: AUDIENCE,
      jwks: { ...FAST, cooldown: 30, cacheMaxAge: 600 },
    };
    const verifier = createVerifier(verifierOptions);
    await verifier.ready();
    const before = srv.hits.get(JWKS) ?? 0;
    const strangers = await Promise.all(Array.from({ length: 20 }, (_, i) => srv.sign(newKeyCache(i))));
    const results = await Promise.allSettled(
      Array.from({ length: 400 }, (_, i) => verifier.verify(strangers[i % 20] as string)),
    );
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toMatchObject({ status: 401, code: 'invalid_token' });
    }
    expect((srv.hits.get(JWKS) ?? 0) - before).toBeLessThanOrEqual(1);
  });
});

/** A few unpublished keys, generated once. */
const strangerKeys: SigningKey[] = [];
function newKeyCache(i: number): SigningKey {
  if (strangerKeys.length === 0) {
    const base = newKey('stranger');
    for (let n = 0; n < 20; n++)
      strangerKeys.push({ ...base, kid: `stranger-${n}`, jwk: { ...base.jwk, kid: `stranger-${n}` } });
  }
  return strangerKeys[i % strangerKeys.length] as SigningKey;
}
