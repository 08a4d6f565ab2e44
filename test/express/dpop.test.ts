/**
 * DPoP (RFC 9449) end to end: real Express apps (5, or 4 with EXPRESS_MAJOR=4) behind
 * `requireM2M`, tokens from the test issuer, proofs from `createDPoPKey` or made by hand. Every
 * answer of the rule table: status, `WWW-Authenticate`, body, `req.auth` and the reason code.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Express, Request, Response } from 'express';
import request from 'supertest';
import { PROOF_FAILURES } from '../../src/binding/dpop-proof.js';
import { m2mErrorHandler, requireM2M, type RequireM2MHandler } from '../../src/index.js';
import { middlewareFor } from '../../src/express/middleware.js';
import { resolveOptions } from '../../src/options/resolve.js';
import type { RequireM2MOptions, ReplayStore } from '../../src/options/types.js';
import { createDPoPKey, createTestIssuer, type DPoPKey, type TestIssuer } from '../../src/testing/index.js';
import { Verifier } from '../../src/verifier.js';
import { makeKeyPair, makeProof, sha256, thumbprint } from '../binding/proofs.js';
import { express, expressMajor } from '../helpers/express.js';
import { manualClock } from '../helpers/time.js';

const AUDIENCE = 'https://api.example.com';
const ORIGIN = 'https://api.example.com';
const URL = `${ORIGIN}/orders`;
const ALGS = 'algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA"';
const DPOP_CHALLENGE = `DPoP realm="api", ${ALGS}`;
const dpopError = (error: string, description: string): string =>
  `DPoP realm="api", error="${error}", error_description="${description}", ${ALGS}`;

let issuer: TestIssuer;
let key: DPoPKey;
let bound: string;
let plain: string;

beforeAll(async () => {
  issuer = await createTestIssuer();
  key = await createDPoPKey();
  bound = await issuer.mint({ cnf: { jkt: key.jkt } }, { clientId: 'worker' });
  plain = await issuer.mint({}, { clientId: 'worker' });
});
afterAll(() => issuer.close());

interface TestApp {
  app: Express;
  /** `err.reason` of every refusal, in order. */
  reasons: string[];
}

/** An app with `requireM2M(options)` (or a given middleware) in front of GET/POST /orders. */
function appWith(options: RequireM2MOptions = {}, middleware?: RequireM2MHandler, setup?: (app: Express) => void) {
  const app = express();
  const reasons: string[] = [];
  setup?.(app);
  app.use(
    middleware ??
      requireM2M({
        issuerBaseURL: issuer.issuerBaseURL,
        audience: AUDIENCE,
        ...options,
        dpop: { origin: ORIGIN, ...options.dpop },
      }),
  );
  const echo = (req: Request, res: Response): void => {
    res.json({ clientId: req.auth?.clientId ?? null, binding: req.auth?.binding ?? null });
  };
  app.get('/orders', echo);
  app.post('/orders', echo);
  app.use(m2mErrorHandler({ onError: (error) => reasons.push(error.reason) }));
  return { app, reasons } satisfies TestApp;
}

/** GET /orders with `Authorization: <scheme> <token>` and the given `DPoP` header values. */
function get(app: Express, authorization?: string, ...proofs: string[]): request.Test {
  const test = request(app).get('/orders');
  if (authorization !== undefined) test.set('Authorization', authorization);
  if (proofs.length === 1) test.set('DPoP', proofs[0] as string);
  // superagent passes an array to Node's setHeader, which writes one header line per value.
  if (proofs.length > 1) test.set('DPoP', proofs as unknown as string);
  return test;
}

const proofFor = (token = bound, options: Parameters<DPoPKey['proof']>[2] = {}) =>
  key.proof('GET', URL, { accessToken: token, ...options });

function expectRefusal(res: request.Response, challenge: string, error: string, description: string): void {
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toBe(challenge);
  expect(res.body).toEqual({ error, error_description: description });
}

describe(`DPoP through Express ${expressMajor}: mode 'allowed' (default)`, () => {
  let t: TestApp;
  beforeAll(() => {
    t = appWith();
  });

  it('accepts a DPoP-bound token with its proof and sets req.auth.binding', async () => {
    const res = await get(t.app, `DPoP ${bound}`, await proofFor());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ clientId: 'worker', binding: { type: 'dpop', thumbprint: key.jkt } });
    expect(res.headers['dpop-nonce']).toBeUndefined();
  });

  it('answers a request with only a DPoP header, or a malformed DPoP scheme, with a DPoP challenge', async () => {
    const headerOnly = await get(t.app, undefined, await proofFor());
    expect(headerOnly.status).toBe(401);
    expect(headerOnly.headers['www-authenticate']).toBe(DPOP_CHALLENGE);
    const malformed = await get(t.app, 'DPoP a b');
    expect(malformed.status).toBe(400);
    expect(malformed.headers['www-authenticate']).toMatch(/^DPoP realm="api", error="invalid_request", /);
    expect(malformed.headers['www-authenticate']).toContain(ALGS);
    const none = await get(t.app);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it('answers a bearer request without cnf.jkt exactly as without DPoP support', async () => {
    const ok = await get(t.app, `Bearer ${plain}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ clientId: 'worker', binding: null });
    const none = await get(t.app);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="api"');
    const expired = await get(t.app, `Bearer ${await issuer.mint({}, { expiresIn: -60 })}`);
    expectRefusal(
      expired,
      'Bearer realm="api", error="invalid_token", error_description="token expired"',
      'invalid_token',
      'token expired',
    );
  });

  it('refuses a failing token in the DPoP scheme as invalid_token, with a DPoP challenge', async () => {
    const expired = await issuer.mint({ cnf: { jkt: key.jkt } }, { expiresIn: -60 });
    const res = await get(t.app, `DPoP ${expired}`, await proofFor(expired));
    expectRefusal(res, dpopError('invalid_token', 'token expired'), 'invalid_token', 'token expired');
  });

  it('refuses a DPoP-bound token sent as Bearer: no downgrade', async () => {
    t.reasons.length = 0;
    const res = await get(t.app, `Bearer ${bound}`);
    expectRefusal(
      res,
      dpopError('invalid_token', 'DPoP-bound token sent as a bearer token'),
      'invalid_token',
      'DPoP-bound token sent as a bearer token',
    );
    expect(t.reasons).toEqual(['binding_mismatch']);
  });

  it('refuses the DPoP scheme with an unbound token', async () => {
    t.reasons.length = 0;
    const res = await get(t.app, `DPoP ${plain}`, await proofFor(plain));
    expectRefusal(
      res,
      dpopError('invalid_token', 'token is not DPoP-bound'),
      'invalid_token',
      'token is not DPoP-bound',
    );
    expect(t.reasons).toEqual(['binding_mismatch']);
  });

  it('refuses a stray DPoP header on a bearer request', async () => {
    t.reasons.length = 0;
    const res = await get(t.app, `Bearer ${plain}`, await proofFor(plain));
    expectRefusal(
      res,
      dpopError('invalid_dpop_proof', 'DPoP proof sent with a bearer token'),
      'invalid_dpop_proof',
      'DPoP proof sent with a bearer token',
    );
    expect(t.reasons).toEqual(['binding_mismatch']);
  });

  describe('refuses each broken proof with invalid_dpop_proof', () => {
    const pair = makeKeyPair('ES256');
    let handBound: string;
    beforeAll(async () => {
      handBound = await issuer.mint({ cnf: { jkt: thumbprint(pair.publicJwk) } }, { clientId: 'worker' });
    });
    const now = () => Math.floor(Date.now() / 1000);
    /** A hand-made proof for GET /orders and `handBound`, with one part edited. */
    const handMade = (edit: Parameters<typeof makeProof>[1] = () => {}) =>
      makeProof(pair, (parts) => {
        parts.claims.iat = now();
        parts.claims.jti = crypto.randomUUID();
        parts.claims.ath = sha256(handBound);
        edit?.(parts);
      });

    const cases: Array<[string, () => Promise<string[]> | string[], string]> = [
      ['missing', () => [], PROOF_FAILURES.missing],
      ['several DPoP headers', () => [handMade(), handMade()], PROOF_FAILURES.several],
      ['malformed', () => ['not.a.proof'], PROOF_FAILURES.malformed],
      // The signature's first character is edited: the last one carries stray bits, and changing
      // them makes a non-canonical encoding (refused as malformed, not as a bad signature).
      [
        'bad signature',
        () => [
          handMade().replace(
            /\.([^.])([^.]*)$/,
            (_m, first: string, rest: string) => `.${first === 'A' ? 'B' : 'A'}${rest}`,
          ),
        ],
        PROOF_FAILURES.signature,
      ],
      ['wrong htm', () => [handMade((p) => (p.claims.htm = 'POST'))], PROOF_FAILURES.method],
      ['wrong htu', () => [handMade((p) => (p.claims.htu = `${ORIGIN}/other`))], PROOF_FAILURES.url],
      ['iat too old', () => [handMade((p) => (p.claims.iat = now() - 600))], PROOF_FAILURES.issuedAt],
      ['iat in the future', () => [handMade((p) => (p.claims.iat = now() + 600))], PROOF_FAILURES.issuedAt],
      ['exp past', () => [handMade((p) => (p.claims.exp = now() - 30))], PROOF_FAILURES.expired],
      ['ath mismatch', () => [handMade((p) => (p.claims.ath = sha256(plain)))], PROOF_FAILURES.tokenHash],
    ];
    it.each(cases)(
      '%s (signature checked on the thread pool, and on the event loop)',
      async (_name, proofs, description) => {
        const onLoop = appWith({ offloadSignatures: false });
        const sent = await proofs();
        for (const target of [t, onLoop]) {
          target.reasons.length = 0;
          const res = await get(target.app, `DPoP ${handBound}`, ...sent);
          expectRefusal(res, dpopError('invalid_dpop_proof', description), 'invalid_dpop_proof', description);
          expect(target.reasons).toEqual(['invalid_dpop_proof']);
        }
      },
    );

    it('a valid hand-made proof passes either way, once', async () => {
      const onLoop = appWith({ offloadSignatures: false });
      const proof = handMade();
      for (const target of [t, onLoop]) {
        expect((await get(target.app, `DPoP ${handBound}`, proof)).status).toBe(200);
        expect((await get(target.app, `DPoP ${handBound}`, proof)).status).toBe(401);
      }
    });

    it('a proof by another key than cnf.jkt: reason binding_mismatch', async () => {
      t.reasons.length = 0;
      const other = await createDPoPKey();
      const res = await get(t.app, `DPoP ${bound}`, await other.proof('GET', URL, { accessToken: bound }));
      const description = PROOF_FAILURES.keyMismatch;
      expectRefusal(res, dpopError('invalid_dpop_proof', description), 'invalid_dpop_proof', description);
      expect(t.reasons).toEqual(['binding_mismatch']);
    });
  });

  it('refuses a replayed proof, reason dpop_replay', async () => {
    t.reasons.length = 0;
    const proof = await proofFor();
    expect((await get(t.app, `DPoP ${bound}`, proof)).status).toBe(200);
    const res = await get(t.app, `DPoP ${bound}`, proof);
    expectRefusal(
      res,
      dpopError('invalid_dpop_proof', 'DPoP proof replayed'),
      'invalid_dpop_proof',
      'DPoP proof replayed',
    );
    expect(t.reasons).toEqual(['dpop_replay']);
  });

  it('the verified-token cache never skips the proof', async () => {
    const token = await issuer.mint({ cnf: { jkt: key.jkt } }, { clientId: 'cached' });
    expect((await get(t.app, `DPoP ${token}`, await proofFor(token))).status).toBe(200);
    const again = await get(t.app, `DPoP ${token}`);
    expectRefusal(
      again,
      dpopError('invalid_dpop_proof', 'DPoP proof missing'),
      'invalid_dpop_proof',
      'DPoP proof missing',
    );
    const other = await createDPoPKey();
    const foreign = await get(t.app, `DPoP ${token}`, await other.proof('GET', URL, { accessToken: token }));
    expect(foreign.status).toBe(401);
    expect((await get(t.app, `DPoP ${token}`, await proofFor(token))).status).toBe(200);
  });

  it('a POST needs a proof for POST', async () => {
    const post = (proof: string) =>
      request(t.app).post('/orders').set('Authorization', `DPoP ${bound}`).set('DPoP', proof);
    expect((await post(await key.proof('POST', URL, { accessToken: bound }))).status).toBe(200);
    expect((await post(await proofFor())).status).toBe(401);
  });
});

describe(`DPoP through Express ${expressMajor}: modes 'required' and 'off', authRequired`, () => {
  it("mode 'required': no token is 401 without error, Bearer is invalid_token", async () => {
    const t = appWith({ dpop: { mode: 'required' } });
    const none = await get(t.app);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe(DPOP_CHALLENGE);
    expect(none.body).toEqual({ error: 'unauthorized', error_description: 'authentication required' });
    const bearer = await get(t.app, `Bearer ${plain}`);
    expectRefusal(
      bearer,
      dpopError('invalid_token', 'DPoP-bound token required'),
      'invalid_token',
      'DPoP-bound token required',
    );
    // Checked before the token: a forged one gets the same answer.
    expect((await get(t.app, 'Bearer forged.token.value')).headers['www-authenticate']).toBe(
      dpopError('invalid_token', 'DPoP-bound token required'),
    );
    const expired = await get(t.app, `DPoP ${await issuer.mint({}, { expiresIn: -60 })}`);
    expectRefusal(expired, dpopError('invalid_token', 'token expired'), 'invalid_token', 'token expired');
    expect(t.reasons).toEqual(['missing_token', 'binding_mismatch', 'binding_mismatch', 'expired']);
    const ok = await get(t.app, `DPoP ${bound}`, await proofFor());
    expect(ok.status).toBe(200);
    expect(ok.body.binding).toEqual({ type: 'dpop', thumbprint: key.jkt });
  });

  it("mode 'off': the DPoP scheme is no token, a cnf.jkt token is refused with a Bearer challenge", async () => {
    const t = appWith({ dpop: { mode: 'off' } });
    const dpopScheme = await get(t.app, `DPoP ${bound}`, await proofFor());
    expect(dpopScheme.status).toBe(401);
    expect(dpopScheme.headers['www-authenticate']).toBe('Bearer realm="api"');
    const asBearer = await get(t.app, `Bearer ${bound}`, await proofFor());
    expectRefusal(
      asBearer,
      'Bearer realm="api", error="invalid_token", error_description="DPoP-bound tokens are not accepted"',
      'invalid_token',
      'DPoP-bound tokens are not accepted',
    );
    // DPoP headers are ignored: a bearer token with a stray proof passes.
    expect((await get(t.app, `Bearer ${plain}`, await proofFor(plain))).status).toBe(200);
  });

  it.each(['allowed', 'required', 'off'] as const)(
    "authRequired: false lets a request without a token through (mode '%s')",
    async (mode) => {
      const t = appWith({ authRequired: false, dpop: { mode } });
      const res = await get(t.app);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ clientId: null, binding: null });
      // A token that is sent is still checked.
      expect((await get(t.app, `Bearer ${bound}`)).status).toBe(401);
    },
  );
});

describe(`DPoP through Express ${expressMajor}: server nonces (clock injected)`, () => {
  const secret = 'a-nonce-secret-of-at-least-32-bytes!!';

  it('asks for a nonce, accepts it, renews it past half its lifetime, refuses it once expired', async () => {
    const clock = manualClock();
    const seconds = () => Math.floor(clock.now() / 1000);
    const options = {
      issuerBaseURL: issuer.issuerBaseURL,
      audience: AUDIENCE,
      dpop: { origin: ORIGIN, nonce: { secret, lifetime: 300 } },
    };
    const t = appWith({}, middlewareFor(new Verifier(resolveOptions(options, {}), clock.now), true, ['header']));
    const first = await get(t.app, `DPoP ${bound}`, await proofFor(bound, { iat: seconds() }));
    expectRefusal(first, dpopError('use_dpop_nonce', 'DPoP nonce required'), 'use_dpop_nonce', 'DPoP nonce required');
    const nonce = first.headers['dpop-nonce'] as string;
    expect(nonce).toMatch(/^[\x21-\x7e]+$/);

    const fresh = await get(t.app, `DPoP ${bound}`, await proofFor(bound, { iat: seconds(), nonce }));
    expect(fresh.status).toBe(200);
    expect(fresh.headers['dpop-nonce']).toBeUndefined();

    clock.advance(160_000);
    const renewed = await get(t.app, `DPoP ${bound}`, await proofFor(bound, { iat: seconds(), nonce }));
    expect(renewed.status).toBe(200);
    const next = renewed.headers['dpop-nonce'] as string;
    expect(next).toMatch(/^[\x21-\x7e]+$/);
    expect(next).not.toBe(nonce);

    clock.advance(200_000);
    const stale = await get(t.app, `DPoP ${bound}`, await proofFor(bound, { iat: seconds(), nonce }));
    expectRefusal(
      stale,
      dpopError('use_dpop_nonce', 'DPoP nonce invalid or expired'),
      'use_dpop_nonce',
      'DPoP nonce invalid or expired',
    );
    expect(stale.headers['dpop-nonce']).toMatch(/^[\x21-\x7e]+$/);
    expect((await get(t.app, `DPoP ${bound}`, await proofFor(bound, { iat: seconds(), nonce: next }))).status).toBe(
      200,
    );
    // A proof of another key never gets a nonce handed out.
    const other = await createDPoPKey();
    const foreign = await get(
      t.app,
      `DPoP ${bound}`,
      await other.proof('GET', URL, { accessToken: bound, iat: seconds() }),
    );
    expect(foreign.body.error).toBe('invalid_dpop_proof');
    expect(foreign.headers['dpop-nonce']).toBeUndefined();
  });
});

describe(`DPoP through Express ${expressMajor}: a failing replay store fails closed`, () => {
  const stores: Array<[string, ReplayStore]> = [
    [
      'throws',
      {
        add: () => {
          throw new Error('store down');
        },
      },
    ],
    ['rejects', { add: () => Promise.reject(new Error('store down')) }],
    ['never answers', { add: () => new Promise<boolean>(() => undefined) }],
  ];
  it.each(stores)('a store that %s: 503 with Retry-After, never a 500', async (_name, replayStore) => {
    const t = appWith({ dpop: { replayStore } });
    const res = await get(t.app, `DPoP ${bound}`, await proofFor());
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(res.body).toEqual({ error: 'temporarily_unavailable', error_description: 'replay store unavailable' });
    expect(t.reasons).toEqual(['store_unavailable']);
  });
});
