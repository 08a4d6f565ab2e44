import { describe, expect, it } from '@jest/globals';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { importProofKey, jwkThumbprint, proofKeyCacheSize } from '../../src/binding/proof-key.js';
import { makeKeyPair } from './proofs.js';

describe('jwkThumbprint', () => {
  it('matches the RFC 7638 §3.1 example', () => {
    const jwk = {
      kty: 'RSA',
      n:
        '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs' +
        'tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5h' +
        'ajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    expect(jwkThumbprint(jwk)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it.each(['ES256', 'ES384', 'ES512', 'RS256', 'EdDSA'])('agrees with jose for a %s key', async (alg) => {
    const { publicJwk } = makeKeyPair(alg);
    expect(jwkThumbprint(publicJwk)).toBe(await calculateJwkThumbprint(publicJwk as JWK, 'sha256'));
  });

  it('is undefined for an unknown kty or a missing or non-string member', () => {
    expect(jwkThumbprint({ kty: 'oct', k: 'c2VjcmV0' })).toBeUndefined();
    expect(jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'AA' })).toBeUndefined();
    expect(jwkThumbprint({ kty: 'RSA', n: 1, e: 'AQAB' })).toBeUndefined();
    expect(jwkThumbprint({ kty: '__proto__' })).toBeUndefined();
  });
});

describe('importProofKey', () => {
  it('keeps at most 256 imported keys, evicting the least recently used', () => {
    const fill = (count: number) => {
      for (let i = 0; i < count; i += 1) importProofKey(makeKeyPair('EdDSA').publicJwk, 'EdDSA');
    };
    const first = makeKeyPair('ES256');
    const key = importProofKey(first.publicJwk, 'ES256')?.key;
    fill(255);
    expect(importProofKey(first.publicJwk, 'ES256')?.key).toBe(key); // still cached, and now most recent
    fill(255);
    expect(proofKeyCacheSize()).toBe(256);
    expect(importProofKey(first.publicJwk, 'ES256')?.key).toBe(key); // survived: it was used recently
    fill(256);
    const again = importProofKey(first.publicJwk, 'ES256');
    expect(again?.key).not.toBe(key); // evicted, then imported again rather than refused
    expect(again?.jkt).toBe(jwkThumbprint(first.publicJwk));
  });

  it('returns the same KeyObject for a key seen before', () => {
    const pair = makeKeyPair('ES256');
    expect(importProofKey(pair.publicJwk, 'ES256')?.key).toBe(importProofKey({ ...pair.publicJwk }, 'ES256')?.key);
  });

  it('refuses an algorithm it cannot verify proofs with', () => {
    const pair = makeKeyPair('ES256');
    expect(importProofKey(pair.publicJwk, 'HS256')).toBeUndefined();
    expect(importProofKey(pair.publicJwk, 'none')).toBeUndefined();
  });
});
