import { describe, expect, it } from '@jest/globals';
import { KeyObject } from 'node:crypto';
import { errors, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { KeyFetchError } from '../../src/keys/fetch-json.js';
import { createKeySet } from '../../src/keys/key-set.js';
import { createRevocationList, createVerifier } from '../../src/index.js';

const AUDIENCE = 'https://api.example.com';
const ISSUER = 'https://issuer.example.com/';

async function keyPair(alg: 'RS256' | 'ES256', kid?: string): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), alg, use: 'sig', ...(kid !== undefined && { kid }) };
  return { privateKey, jwk };
}

function publicJwkOf(key: KeyObject): JWK {
  return key.export({ format: 'jwk' }) as JWK;
}

describe('createKeySet', () => {
  it('selects by kid and alg, remembers the selection, and names the kid of the selected key', async () => {
    const rsa1 = await keyPair('RS256', 'rsa-1');
    const rsa2 = await keyPair('RS256', 'rsa-2');
    const ec = await keyPair('ES256', 'ec-1');
    const set = createKeySet({ keys: [rsa1.jwk, rsa2.jwk, ec.jwk] });
    expect(set.size).toBe(3);
    expect(set.peek('RS256', 'rsa-2')).toBeUndefined();
    const key = await set.select({ alg: 'RS256', kid: 'rsa-2' });
    expect(key).toBeInstanceOf(KeyObject);
    expect(publicJwkOf(key).n).toBe(rsa2.jwk.n);
    expect(set.keyId(key)).toBe('rsa-2');
    // Known now without a promise, and the same object on the next selection.
    expect(set.peek('RS256', 'rsa-2')).toBe(key);
    expect(await set.select({ alg: 'RS256', kid: 'rsa-2' })).toBe(key);
    expect(set.keyId(await set.select({ alg: 'ES256', kid: 'ec-1' }))).toBe('ec-1');
  });

  it("refuses a key whose own alg disagrees with the token's, and an unknown kid", async () => {
    const ec = await keyPair('ES256', 'ec-1');
    const set = createKeySet({ keys: [ec.jwk] });
    await expect(set.select({ alg: 'ES384', kid: 'ec-1' })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    await expect(set.select({ alg: 'RS256', kid: 'ec-1' })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    await expect(set.select({ alg: 'ES256', kid: 'other' })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    const encryption = createKeySet({ keys: [{ ...ec.jwk, use: 'enc' }] });
    await expect(encryption.select({ alg: 'ES256', kid: 'ec-1' })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  });

  it('gives a token without kid the single key fitting its alg, with that key’s kid; several fitting is refused', async () => {
    const rsa = await keyPair('RS256', 'rsa-1');
    const ec = await keyPair('ES256', 'ec-1');
    const set = createKeySet({ keys: [rsa.jwk, ec.jwk] });
    const key = await set.select({ alg: 'RS256' });
    expect(publicJwkOf(key).n).toBe(rsa.jwk.n);
    // Found by the key material, not by the header: the kid-less token still maps to `rsa-1`.
    expect(set.keyId(key)).toBe('rsa-1');
    expect(set.peek('RS256', undefined)).toBe(key);
    const second = await keyPair('RS256', 'rsa-2');
    const ambiguous = createKeySet({ keys: [rsa.jwk, second.jwk] });
    await expect(ambiguous.select({ alg: 'RS256' })).rejects.toBeInstanceOf(errors.JWKSMultipleMatchingKeys);
  });

  it('has no kid to name for a key published without one', async () => {
    const { jwk } = await keyPair('RS256');
    const set = createKeySet({ keys: [jwk] });
    expect(set.keyId(await set.select({ alg: 'RS256' }))).toBeUndefined();
  });

  it('peeks nothing for header values of the wrong type', async () => {
    const rsa = await keyPair('RS256', 'rsa-1');
    const set = createKeySet({ keys: [rsa.jwk] });
    await set.select({ alg: 'RS256', kid: 'rsa-1' });
    expect(set.peek(undefined, 'rsa-1')).toBeUndefined();
    expect(set.peek('RS256', 42)).toBeUndefined();
    expect(set.peek('RS256#rsa', '1')).toBeUndefined();
  });

  it('refuses a document that is not a JWK Set', () => {
    for (const document of [null, {}, { keys: 'x' }, [{ kty: 'RSA' }]]) {
      expect(() => createKeySet(document)).toThrow(KeyFetchError);
    }
  });
});

describe('the kid of the key that verified, as revocation by key sees it', () => {
  it('revokeKey refuses a token signed by that key even when the token names no kid', async () => {
    const rsa = await keyPair('RS256', 'leaked');
    const revocations = createRevocationList();
    const verifier = createVerifier({
      issuer: ISSUER,
      publicKey: { keys: [rsa.jwk] },
      audience: AUDIENCE,
      revocations,
    });
    const sign = (kid?: string) =>
      new SignJWT({ gty: 'client-credentials', azp: 'worker' })
        .setProtectedHeader({ alg: 'RS256', ...(kid !== undefined && { kid }) })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('worker@clients')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(rsa.privateKey);
    const withKid = await sign('leaked');
    const withoutKid = await sign();
    await expect(verifier.verify(withKid)).resolves.toMatchObject({ clientId: 'worker' });
    await expect(verifier.verify(withoutKid)).resolves.toMatchObject({ clientId: 'worker' });
    revocations.revokeKey('leaked');
    for (const token of [withKid, withoutKid]) {
      await expect(verifier.verify(token)).rejects.toMatchObject({ status: 401, reason: 'revoked' });
    }
  });
});
