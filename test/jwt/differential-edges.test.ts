/**
 * Differential test, edges: ECDSA twins, which the node:crypto JWT path must accept exactly as
 * `jose.jwtVerify` does, and the package's intended differences from jose, where it is
 * stricter (forgeable RSA exponents, protected headers past the shape limits).
 */
import { describe, expect, it } from '@jest/globals';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { HEADER_SHAPE_LIMITS } from '../../src/jwt/compact.js';
import { assertKeyFitsAlgorithm } from '../../src/jwt/signature.js';
import {
  AUDIENCE,
  ISSUER,
  b64,
  baseClaims,
  decisions,
  keysFor,
  signRaw,
  type JwtVerifyOptions,
} from './differential-support.js';

/** Orders of the NIST curves' base points (SEC 2): `s` and `n − s` are both valid ECDSA signatures. */
const CURVE_ORDERS: Record<string, bigint> = {
  ES256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  ES384: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  ES512:
    0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};

/** The other valid spelling of an ECDSA token: its signature's `s` replaced by `n − s`. */
function ecdsaTwin(token: string, alg: string): string {
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const half = signature.length / 2;
  const s = BigInt(`0x${signature.subarray(half).toString('hex')}`);
  const twinS = (CURVE_ORDERS[alg] as bigint) - s;
  const twin = Buffer.concat([
    signature.subarray(0, half),
    Buffer.from(twinS.toString(16).padStart(half * 2, '0'), 'hex'),
  ]);
  return `${token.slice(0, dot)}.${twin.toString('base64url')}`;
}

describe.each(['ES256', 'ES384', 'ES512'])('ECDSA twins (%s): a token has two valid spellings', (alg) => {
  const material = keysFor(alg);
  const now = Math.floor(Date.now() / 1000);
  const options: JwtVerifyOptions = {
    algorithms: [alg],
    issuer: ISSUER,
    audience: [AUDIENCE],
    clockTolerance: 5,
    requiredClaims: ['exp'],
  };

  it('accepts both the token and its (r, n − s) twin, exactly as jose does', async () => {
    for (let run = 0; run < 8; run++) {
      const token = signRaw(material, alg, b64({ alg, kid: 'k1' }), b64({ ...baseClaims(now), jti: `t${run}` }));
      const twin = ecdsaTwin(token, alg);
      expect(twin).not.toBe(token);
      expect(await decisions(token, material, options, now)).toEqual([true, true]);
      expect(await decisions(twin, material, options, now)).toEqual([true, true]);
      // Same header and claims: only the signature's spelling differs.
      expect(twin.slice(0, twin.lastIndexOf('.'))).toBe(token.slice(0, token.lastIndexOf('.')));
    }
  });

  it('refuses a twin built against the wrong curve order, as jose does', async () => {
    const token = signRaw(material, alg, b64({ alg }), b64(baseClaims(now)));
    const wrong = alg === 'ES256' ? 'ES384' : 'ES256';
    const dot = token.lastIndexOf('.');
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    const half = signature.length / 2;
    const s = BigInt(`0x${signature.subarray(half).toString('hex')}`);
    const bad = ((CURVE_ORDERS[wrong] as bigint) - s) & ((1n << BigInt(half * 8)) - 1n);
    const mangled = Buffer.concat([
      signature.subarray(0, half),
      Buffer.from(bad.toString(16).padStart(half * 2, '0'), 'hex'),
    ]);
    expect(await decisions(`${token.slice(0, dot)}.${mangled.toString('base64url')}`, material, options, now)).toEqual([
      false,
      false,
    ]);
  });
});

/** The DigestInfo prefix of EMSA-PKCS1-v1_5 for SHA-256 (RFC 8017 §9.2, note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * An RS256 "signature" forged without any private key for an RSA key whose public exponent is
 * 1: since s^1 mod n = s, the PKCS#1 v1.5 encoded message itself verifies.
 */
function forgeForExponentOne(signingInput: string, modulusBytes: number): Buffer {
  const digest = createHash('sha256').update(signingInput).digest();
  const padding = Buffer.alloc(modulusBytes - 3 - SHA256_DIGEST_INFO.length - digest.length, 0xff);
  return Buffer.concat([Buffer.from([0x00, 0x01]), padding, Buffer.from([0x00]), SHA256_DIGEST_INFO, digest]);
}

describe('intended differences from jose (the package is stricter)', () => {
  const now = Math.floor(Date.now() / 1000);
  const options: JwtVerifyOptions = {
    algorithms: ['RS256'],
    issuer: ISSUER,
    audience: [AUDIENCE],
    clockTolerance: 5,
    requiredClaims: ['exp'],
  };

  it('refuses a token forged for an RSA key with e = 1, which jose accepts', async () => {
    const real = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    const weak = createPublicKey({ key: { kty: 'RSA', n: real.n as string, e: 'AQ' }, format: 'jwk' });
    const input = `${b64({ alg: 'RS256' })}.${b64(baseClaims(now))}`;
    const token = `${input}.${forgeForExponentOne(input, 256).toString('base64url')}`;
    const material = { alg: 'RS256', signingKey: weak, verifyKey: weak };
    expect(await decisions(token, material, options, now)).toEqual([false, true]);
  });

  it.each([
    ['e = 2 (even)', 'Ag'],
    ['e = 1', 'AQ'],
    ['e = 65536 (even)', 'AQAA'],
  ])('refuses an RSA key with %s for every RSA algorithm', (_name, e) => {
    const real = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    const key = createPublicKey({ key: { kty: 'RSA', n: real.n as string, e }, format: 'jwk' });
    for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'])
      expect(() => assertKeyFitsAlgorithm(alg, key)).toThrow(/odd RSA public exponent/);
  });

  it('accepts RSA keys with e = 3 and e = 65537, as jose does', async () => {
    for (const publicExponent of [3, 65537]) {
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent });
      const material = { alg: 'RS256', signingKey: pair.privateKey, verifyKey: pair.publicKey };
      const token = signRaw(material, 'RS256', b64({ alg: 'RS256' }), b64(baseClaims(now)));
      expect(await decisions(token, material, options, now)).toEqual([true, true]);
    }
  });

  it(`refuses a validly signed token whose header nests deeper than ${HEADER_SHAPE_LIMITS.depth} levels, which jose accepts`, async () => {
    const material = keysFor('RS256');
    const nested = (depth: number) => `{"alg":"RS256","x":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    const deep = signRaw(material, 'RS256', b64(nested(HEADER_SHAPE_LIMITS.depth + 1)), b64(baseClaims(now)));
    expect(await decisions(deep, material, options, now)).toEqual([false, true]);
    const deepest = signRaw(material, 'RS256', b64(nested(HEADER_SHAPE_LIMITS.depth)), b64(baseClaims(now)));
    expect(await decisions(deepest, material, options, now)).toEqual([true, true]);
  });

  it(`refuses a validly signed token whose header holds more than ${HEADER_SHAPE_LIMITS.entries} entries, which jose accepts`, async () => {
    const material = keysFor('RS256');
    // {"alg":…,"x":[0,…]}: the array opening and each comma count, so n values make n + 1 entries.
    const wide = (values: number) => `{"alg":"RS256","x":[${Array(values).fill(0).join(',')}]}`;
    const tooWide = signRaw(material, 'RS256', b64(wide(HEADER_SHAPE_LIMITS.entries - 1)), b64(baseClaims(now)));
    expect(await decisions(tooWide, material, options, now)).toEqual([false, true]);
    const widest = signRaw(material, 'RS256', b64(wide(HEADER_SHAPE_LIMITS.entries - 2)), b64(baseClaims(now)));
    expect(await decisions(widest, material, options, now)).toEqual([true, true]);
    // Commas, brackets and braces inside strings are text, not entries.
    const text = `{"alg":"RS256","x":"${',[{'.repeat(200)}"}`;
    expect(
      await decisions(signRaw(material, 'RS256', b64(text), b64(baseClaims(now))), material, options, now),
    ).toEqual([true, true]);
  });
});
