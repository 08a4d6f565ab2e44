/**
 * Hardening of the JWT layer against forged and hostile tokens, end to end through a verifier
 * whose key set is served on 127.0.0.1: RSA keys with a forgeable public exponent, headers built
 * to cost CPU before the `alg` allow-list refuses them, and ECDSA signature twins.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash, generateKeyPairSync, sign as cryptoSign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { errors } from 'jose';
import { HEADER_SHAPE_LIMITS, parseCompact } from '../../src/jwt/compact.js';
import { parseJwt } from '../../src/jwt/verify.js';
import { createVerifier, type TokenVerifier } from '../../src/verifier.js';
import { b64u, startServer, type LoopbackServer } from './support.js';

const AUDIENCE = 'https://api.example.com';
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
/** The DigestInfo prefix of EMSA-PKCS1-v1_5 for SHA-256 (RFC 8017 §9.2, note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

let jwks: JsonWebKey[] = [];
let server: LoopbackServer;
let issuer: string;
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

beforeAll(async () => {
  server = await startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: jwks }));
  });
  issuer = `${server.url}/`;
});

afterAll(() => server.close());

afterEach(() => {
  jest.restoreAllMocks();
});

function verifierWith(keys: JsonWebKey[]): TokenVerifier {
  jwks = keys;
  return createVerifier({ issuer, jwksUri: `${server.url}/jwks.json`, audience: AUDIENCE });
}

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: issuer, aud: AUDIENCE, sub: 'svc@clients', azp: 'svc', iat: now, exp: now + 600, ...extra };
}

async function refusal(promise: Promise<unknown>): Promise<{ status: number; description: string }> {
  return promise.then(
    () => {
      throw new Error('expected the token to be refused');
    },
    (reason: unknown) => reason as { status: number; description: string },
  );
}

describe('RSA keys with a forgeable public exponent', () => {
  /** The whole "signature" for e = 1: s^1 mod n = s, so the PKCS#1 v1.5 encoded hash verifies. */
  function forgeRs256(input: string): string {
    const digest = createHash('sha256').update(input).digest();
    const padding = Buffer.alloc(256 - 3 - SHA256_DIGEST_INFO.length - digest.length, 0xff);
    const encoded = Buffer.concat([Buffer.from([0, 1]), padding, Buffer.from([0]), SHA256_DIGEST_INFO, digest]);
    return `${input}.${encoded.toString('base64url')}`;
  }

  function rsaJwk(e: string): JsonWebKey {
    const { n } = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    return { kty: 'RSA', n, e, kid: `e-${e}`, alg: 'RS256', use: 'sig' };
  }

  it('refuses (401) a token forged without any private key for a JWKS key with e = 1', async () => {
    const verifier = verifierWith([rsaJwk('AQ')]);
    const token = forgeRs256(`${b64u({ alg: 'RS256', kid: 'e-AQ' })}.${b64u(claims())}`);
    const error = await refusal(verifier.verify(token));
    expect(error.status).toBe(401);
    expect(error.description).toBe('invalid signing key');
  });

  it('refuses (401) every token for a JWKS key with an even exponent', async () => {
    const verifier = verifierWith([rsaJwk('AQAA')]);
    const token = `${b64u({ alg: 'RS256', kid: 'e-AQAA' })}.${b64u(claims())}.${Buffer.alloc(256, 1).toString('base64url')}`;
    const error = await refusal(verifier.verify(token));
    expect(error.status).toBe(401);
    expect(error.description).toBe('invalid signing key');
  });

  it('still accepts a genuine token signed with an e = 3 key', async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 });
    const verifier = verifierWith([{ ...pair.publicKey.export({ format: 'jwk' }), kid: 'e3', alg: 'RS256' }]);
    const input = `${b64u({ alg: 'RS256', kid: 'e3' })}.${b64u(claims())}`;
    const token = `${input}.${cryptoSign('sha256', Buffer.from(input), pair.privateKey).toString('base64url')}`;
    await expect(verifier.verify(token)).resolves.toMatchObject({ clientId: 'svc' });
  });
});

describe('hostile headers are refused before work that grows with them', () => {
  const tokenWith = (header: string): string => `${b64u(header)}.${b64u(claims())}.${b64u('sig')}`;

  it('never parses a header nested deeper than the limit, nor one with too many entries', () => {
    const parse = jest.spyOn(JSON, 'parse');
    const deep = `{"alg":"none","x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const wide = `{"alg":"none","x":[${Array(4000).fill('[]').join(',')}]}`;
    for (const header of [deep, wide]) {
      expect(() => parseJwt(tokenWith(header), ['RS256'])).toThrow(errors.JWSInvalid);
    }
    expect(parse).not.toHaveBeenCalled();
  });

  it('never freezes nor remembers a header refused on alg, typ or crit', () => {
    const freeze = jest.spyOn(Object, 'freeze');
    const parse = jest.spyOn(JSON, 'parse');
    const refused: Array<[string, readonly string[], string | undefined, unknown]> = [
      ['{"alg":"none","x":[[1],[2]]}', ['RS256'], undefined, errors.JOSEAlgNotAllowed],
      ['{"alg":"HS256","kid":"k"}', ['RS256'], undefined, errors.JOSEAlgNotAllowed],
      ['{"alg":"RS256","typ":"JWT"}', ['RS256'], 'at+jwt', errors.JWTClaimValidationFailed],
      ['{"alg":"RS256","crit":["exp"],"exp":1}', ['RS256'], undefined, errors.JOSENotSupported],
    ];
    for (const [header, algorithms, typ, error] of refused) {
      // Twice: a remembered header would be found the second time without being parsed again.
      for (let attempt = 0; attempt < 2; attempt++) {
        expect(() => parseJwt(tokenWith(header), algorithms, typ)).toThrow(error as typeof Error);
      }
    }
    expect(parse).toHaveBeenCalledTimes(refused.length * 2);
    expect(freeze).not.toHaveBeenCalled();
  });

  it('does not freeze an accepted header it does not remember (over 512 characters)', () => {
    const freeze = jest.spyOn(Object, 'freeze');
    const header = JSON.stringify({ alg: 'RS256', kid: 'k'.repeat(600), x: [[1]] });
    const parsed = parseJwt(tokenWith(header), ['RS256']);
    expect(Object.isFrozen(parsed.header)).toBe(false);
    expect(freeze).not.toHaveBeenCalled();
  });

  it('freezes a remembered header, shared by every token that carries it', () => {
    const header = JSON.stringify({ alg: 'RS256', kid: 'shared-hardening', x5c: ['a'] });
    const first = parseJwt(tokenWith(header), ['RS256']).header;
    expect(Object.isFrozen(first) && Object.isFrozen(first.x5c)).toBe(true);
    expect(parseJwt(tokenWith(header), ['RS256']).header).toBe(first);
    // A remembered header is still refused under a policy that does not allow it.
    expect(() => parseJwt(tokenWith(header), ['ES256'])).toThrow(errors.JOSEAlgNotAllowed);
    expect(() => parseCompact(tokenWith(header), { typ: 'at+jwt' })).toThrow(errors.JWTClaimValidationFailed);
  });

  it(`accepts headers up to ${HEADER_SHAPE_LIMITS.depth} levels and ${HEADER_SHAPE_LIMITS.entries} entries`, () => {
    const depth = HEADER_SHAPE_LIMITS.depth - 1;
    const deepest = `{"alg":"RS256","x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    // The outer object's opening brace, 2 commas, the array's opening, then 96 commas.
    const widest = `{"alg":"RS256","kid":"k","x":[${Array(97).fill(0).join(',')}]}`;
    for (const header of [deepest, widest]) expect(parseJwt(tokenWith(header), ['RS256']).header.alg).toBe('RS256');
    expect(() => parseJwt(tokenWith(widest.replace('[0,', '[0,0,')), ['RS256'])).toThrow(errors.JWSInvalid);
  });
});

describe('ECDSA twins: a token has two valid spellings', () => {
  function twinOf(token: string): string {
    const dot = token.lastIndexOf('.');
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
    const twin = Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex');
    return `${token.slice(0, dot)}.${Buffer.concat([signature.subarray(0, 32), twin]).toString('base64url')}`;
  }

  function signEs256(key: KeyObject, header: object, payload: object): string {
    const input = `${b64u(header)}.${b64u(payload)}`;
    const signature = cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  }

  it('accepts both spellings with the same claims; the twin is a separate cache entry, not a bypass', async () => {
    const verifier = verifierWith([{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec', alg: 'ES256' }]);
    const token = signEs256(ec.privateKey, { alg: 'ES256', kid: 'ec' }, claims({ jti: 'one-token' }));
    const twin = twinOf(token);
    expect(twin).not.toBe(token);
    const auth = await verifier.verify(token);
    const twinAuth = await verifier.verify(twin);
    // Same token by its claims: whatever must not be sidestepped is keyed on them (jti, iss, client).
    expect(twinAuth.payload).toEqual(auth.payload);
    expect([twinAuth.payload.jti, twinAuth.clientId]).toEqual(['one-token', 'svc']);
    // The cache keys on the string: the same spelling is a hit, the twin was verified on its own.
    expect(await verifier.verify(token)).toBe(auth);
    expect(twinAuth).not.toBe(auth);
  });
});
