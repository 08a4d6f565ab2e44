/**
 * Hostile DPoP proofs through HTTP: a real Express app on 127.0.0.1, requests written byte for
 * byte over node:net (so duplicate headers and odd bytes reach the server as sent). Each proof
 * breaks one rule while everything else is right — the key is the one the token is bound to —
 * and must get a 400/401 with the right error: never a 5xx, never a crash, never a header that
 * echoes what the attacker wrote. Then a fast-check property over random `DPoP` header values.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROOF_FAILURES } from '../../src/binding/dpop-proof.js';
import { isM2MError, m2mErrorHandler, requireM2M, type RequireM2MOptions } from '../../src/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { sha256, thumbprint } from '../binding/proofs.js';
import { b64u, express, expressMajor, parseBearerChallenge, sendRaw, signJws, type RawResponse } from './support.js';

const AUDIENCE = 'https://api.example.com';
const ORIGIN = 'https://api.example.com';
const URL = `${ORIGIN}/orders`;
/** Written into hostile inputs; no response may contain it. */
const MARKER = 'EvIlMaRkEr';
const RUNS = Number(process.env.FUZZ_RUNS ?? '') || 300;

let issuer: TestIssuer;
let privateKey: KeyObject;
let publicJwk: Record<string, unknown>;
let token: string;
let plainToken: string;
const servers: Server[] = [];
/** Errors that reached the final handler without being the package's own. */
const foreignErrors: unknown[] = [];

async function start(dpop: RequireM2MOptions['dpop']): Promise<number> {
  const app = express();
  app.use(requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, dpop }));
  app.get(/.*/, (_req: import('express').Request, res: import('express').Response) => {
    res.json({ ok: true });
  });
  app.use(m2mErrorHandler());
  app.use((error: unknown, _req: import('express').Request, res: import('express').Response, _next: () => void) => {
    if (!isM2MError(error)) foreignErrors.push(error);
    res.status(500).end();
  });
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return (server.address() as AddressInfo).port;
}

let port: number;

beforeAll(async () => {
  issuer = await createTestIssuer();
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  privateKey = pair.privateKey;
  publicJwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  token = await issuer.mint({ cnf: { jkt: thumbprint(publicJwk) } }, { clientId: 'worker' });
  plainToken = await issuer.mint({}, { clientId: 'worker' });
  port = await start({ origin: ORIGIN });
});
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await issuer.close();
  expect(foreignErrors).toEqual([]);
});

interface Parts {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  alg: string;
  key: KeyObject | string | null;
}

/** A proof for GET {@link URL} and the bound token, signed after `edit` changed it. */
function proof(edit: (parts: Parts) => void = () => {}): string {
  const parts: Parts = {
    header: { typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk },
    claims: { htm: 'GET', htu: URL, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ath: sha256(token) },
    alg: 'ES256',
    key: privateKey,
  };
  edit(parts);
  return signJws(parts.header, parts.claims, parts.alg, parts.key);
}

/** Sends GET `path` with `Authorization: DPoP <token>` and these `DPoP` header values (raw bytes). */
function send(proofs: Array<string | Buffer>, options: { path?: string; scheme?: string; port?: number } = {}) {
  return sendRaw(options.port ?? port, {
    path: options.path ?? '/orders',
    authorization: `${options.scheme ?? 'DPoP'} ${options.scheme === 'Bearer' ? plainToken : token}`,
    rawHeaders: proofs.map((value) => Buffer.concat([Buffer.from('DPoP: '), Buffer.from(value)])),
  });
}

/** A refusal as it must look: status, a well-formed DPoP challenge, the JSON body, no echo. */
function expectRefused(res: RawResponse, error: string, description: string, status = 401): void {
  expect({ status: res.status, body: JSON.parse(res.body) as unknown }).toEqual({
    status,
    body: { error, error_description: description },
  });
  const challenge = res.headers.find(([name]) => name === 'www-authenticate')?.[1] ?? '';
  const params = parseBearerChallenge(challenge);
  expect(challenge.startsWith('DPoP ')).toBe(true);
  expect(params.get('error')).toBe(error);
  expect(params.get('algs')).toBe('ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA');
  expect(res.raw.toLowerCase()).not.toContain(MARKER.toLowerCase());
}

const INVALID = 'invalid_dpop_proof';

describe(`hostile DPoP proofs over HTTP (Express ${expressMajor})`, () => {
  it('a well-formed proof is accepted (the baseline every case departs from)', async () => {
    expect((await send([proof()])).status).toBe(200);
  });

  const cases: Array<[string, () => Array<string | Buffer>, string]> = [
    [
      'alg none, no signature',
      () => [proof((p) => Object.assign(p, { alg: 'none', key: null, header: { ...p.header, alg: 'none' } }))],
      PROOF_FAILURES.algorithm,
    ],
    ['alg none with a signature part', () => [proof((p) => (p.header.alg = 'none'))], PROOF_FAILURES.algorithm],
    [
      'HS256 keyed with the public JWK',
      () => [
        proof((p) =>
          Object.assign(p, { alg: 'HS256', key: JSON.stringify(publicJwk) }, { header: { ...p.header, alg: 'HS256' } }),
        ),
      ],
      PROOF_FAILURES.algorithm,
    ],
    [
      'private jwk member d',
      () => [proof((p) => (p.header.jwk = privateKey.export({ format: 'jwk' })))],
      PROOF_FAILURES.key,
    ],
    ['symmetric jwk', () => [proof((p) => (p.header.jwk = { kty: 'oct', k: b64u(MARKER) }))], PROOF_FAILURES.key],
    [
      'RSA jwk for ES256',
      () => [
        proof(
          (p) =>
            (p.header.jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' })),
        ),
      ],
      PROOF_FAILURES.key,
    ],
    ['P-384 jwk for ES256', () => [proof((p) => (p.header.jwk = { ...publicJwk, crv: 'P-384' }))], PROOF_FAILURES.key],
    ['no jwk', () => [proof((p) => delete p.header.jwk)], PROOF_FAILURES.key],
    ['typ JWT', () => [proof((p) => (p.header.typ = 'JWT'))], PROOF_FAILURES.type],
    ['crit header', () => [proof((p) => (p.header.crit = [MARKER]))], PROOF_FAILURES.malformed],
    [
      '10,000-character jti (and > 8 KB)',
      () => [proof((p) => (p.claims.jti = MARKER.repeat(1000)))],
      PROOF_FAILURES.tooLarge,
    ],
    ['257-character jti', () => [proof((p) => (p.claims.jti = 'j'.repeat(257)))], PROOF_FAILURES.jti],
    ['non-string jti', () => [proof((p) => (p.claims.jti = { [MARKER]: 1 }))], PROOF_FAILURES.jti],
    ['proof of 9 KB', () => [proof((p) => (p.claims.pad = MARKER.repeat(900)))], PROOF_FAILURES.tooLarge],
    ['two DPoP headers', () => [proof(), proof()], PROOF_FAILURES.several],
    ['two proofs in one header', () => [`${proof()}, ${proof()}`], PROOF_FAILURES.several],
    [
      'header part not JSON',
      () => [`${b64u(`{${MARKER}`)}.${proof().split('.').slice(1).join('.')}`],
      PROOF_FAILURES.malformed,
    ],
    [
      'payload not JSON (validly signed)',
      () => [signJws({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk }, `[${MARKER}`, 'ES256', privateKey)],
      PROOF_FAILURES.malformed,
    ],
    ['padded base64url', () => [proof().replace('.', '=.')], PROOF_FAILURES.malformed],
    ['non-ASCII bytes', () => [Buffer.from(`${proof()}\u00e9`, 'latin1')], PROOF_FAILURES.malformed],
    [
      'htu with userinfo',
      () => [proof((p) => (p.claims.htu = `https://${MARKER}@api.example.com/orders`))],
      PROOF_FAILURES.url,
    ],
    [
      'htu with empty userinfo',
      () => [proof((p) => (p.claims.htu = 'https://@api.example.com/orders'))],
      PROOF_FAILURES.url,
    ],
    [
      'IDN look-alike host (Cyrillic a)',
      () => [proof((p) => (p.claims.htu = 'https://\u0430pi.example.com/orders'))],
      PROOF_FAILURES.url,
    ],
    [
      '.. segments leading elsewhere',
      () => [proof((p) => (p.claims.htu = `${ORIGIN}/orders/../admin`))],
      PROOF_FAILURES.url,
    ],
    ['htu not a URL', () => [proof((p) => (p.claims.htu = `${MARKER}\r\nX: y`))], PROOF_FAILURES.url],
    ['htm in lower case', () => [proof((p) => (p.claims.htm = 'get'))], PROOF_FAILURES.method],
    ['iat as a string', () => [proof((p) => (p.claims.iat = String(p.claims.iat)))], PROOF_FAILURES.issuedAt],
    ['ath of another token', () => [proof((p) => (p.claims.ath = sha256(plainToken)))], PROOF_FAILURES.tokenHash],
  ];

  it.each(cases)('%s', async (_name, proofs, description) => {
    expectRefused(await send(proofs()), INVALID, description);
  });

  it('a proof larger than Node accepts for headers gets 431 from Node, not a 5xx', async () => {
    const res = await send([proof((p) => (p.claims.pad = 'x'.repeat(20_000)))]);
    expect(res.status).toBe(431);
  });

  it('CR/LF inside the DPoP header is refused by the HTTP parser (400), never reaching the app', async () => {
    const res = await send([`${proof()}\r${MARKER}: 1`]);
    expect(res.status).toBe(400);
    expect(res.raw).not.toContain(MARKER);
  });

  it('dot segments and IDN hosts are compared normalised', async () => {
    expect((await send([proof((p) => (p.claims.htu = `${ORIGIN}/admin/../orders`))])).status).toBe(200);
    expect((await send([proof((p) => (p.claims.htu = `${ORIGIN}/%2E%2E/orders`))])).status).toBe(200);
    const idnPort = await start({ origin: 'https://xn--bcher-kva.example' });
    const idn = (htu: string) =>
      send(
        [
          proof((p) => {
            p.claims.htu = htu;
          }),
        ],
        { port: idnPort },
      );
    expect((await idn('https://b\u00fccher.example/orders')).status).toBe(200);
    expect((await idn('https://XN--BCHER-KVA.example/orders')).status).toBe(200);
    expectRefused(await idn('https://bucher.example/orders'), INVALID, PROOF_FAILURES.url);
  });

  it('a stray hostile proof with a bearer token: invalid_dpop_proof, nothing echoed', async () => {
    expectRefused(await send([MARKER], { scheme: 'Bearer' }), INVALID, 'DPoP proof sent with a bearer token');
  });
});

describe(`random DPoP header values over HTTP (Express ${expressMajor})`, () => {
  const visible = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 300,
  });
  const b64urlPart = fc.string({ unit: fc.constantFrom(...'ABCxyz019-_'.split('')), maxLength: 80 });
  const mutated = fc.tuple(fc.nat(), fc.integer({ min: 0x21, max: 0x7e })).map(([at, code]) => {
    const valid = proof();
    const index = at % valid.length;
    const replaced = valid.slice(0, index) + String.fromCharCode(code) + valid.slice(index + 1);
    // A mutation that changes nothing is a valid proof; make it differ.
    return replaced === valid ? `${valid}A` : replaced;
  });
  const value = fc.oneof(
    visible,
    fc.tuple(b64urlPart, b64urlPart, b64urlPart).map((parts) => parts.join('.')),
    mutated,
    fc.jsonValue({ maxDepth: 2 }).map((json) => `${b64u(json as object)}.${b64u(json as object)}.${b64u(MARKER)}`),
  );

  it(`${RUNS} runs: never 5xx, always 401 invalid_dpop_proof with a well-formed DPoP challenge`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 2 }), fc.boolean(), async (values, bearer) => {
        const res = await send(values, bearer ? { scheme: 'Bearer' } : {});
        expect(res.status).toBe(401);
        const challenge = res.headers.find(([name]) => name === 'www-authenticate')?.[1] ?? '';
        const params = parseBearerChallenge(challenge);
        expect(challenge.startsWith('DPoP ')).toBe(true);
        expect(params.get('error')).toBe(INVALID);
        expect(JSON.parse(res.body)).toMatchObject({ error: INVALID });
        expect(res.raw.toLowerCase()).not.toContain(MARKER.toLowerCase());
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
