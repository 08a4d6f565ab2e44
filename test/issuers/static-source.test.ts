import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import { createVerifier } from '../../src/index.js';
import type { PublicKeyInput } from '../../src/options/types.js';
import { makeCertificates, type TestCertificates } from '../helpers/certificates.js';

const AUDIENCE = 'https://api.example.com';
const ISSUER = 'https://partner.example.com/';

let pki: TestCertificates;
let signingKey: KeyObject;
let publicKey: KeyObject;

beforeAll(() => {
  pki = makeCertificates();
  signingKey = createPrivateKey(pki.server.key);
  publicKey = createPublicKey(signingKey);
});
afterAll(() => pki.cleanup());

function sign(key: KeyObject | Uint8Array, alg = 'ES256', kid?: string): Promise<string> {
  return new SignJWT({ gty: 'client-credentials', azp: 'partner-worker' })
    .setProtectedHeader({ alg, ...(kid !== undefined && { kid }) })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);
}

/** Every request the verifiers made: there must be none. */
const fetched: string[] = [];
const recordingFetch: typeof fetch = async (input) => {
  fetched.push(String(input));
  return Response.json({}, { status: 500 });
};

const verifierFor = (key: PublicKeyInput) =>
  createVerifier({ issuer: ISSUER, publicKey: key, audience: AUDIENCE, fetch: recordingFetch });

describe('static keys: nothing is fetched', () => {
  it.each<[string, () => PublicKeyInput]>([
    ['a PEM public key', () => publicKey.export({ type: 'spki', format: 'pem' }) as string],
    ['a PEM certificate', () => pki.server.cert],
    ['a KeyObject', () => publicKey],
    ['a JWK', () => ({ ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'partner-1' })],
    ['a JWKS', () => ({ keys: [{ ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'partner-1' }] })],
  ])('verifies with %s, and refuses a token signed by another key', async (_name, input) => {
    const verifier = verifierFor(input());
    await expect(verifier.ready()).resolves.toBeUndefined();
    await expect(verifier.verify(await sign(signingKey, 'ES256', 'partner-1'))).resolves.toMatchObject({
      clientId: 'partner-worker',
      issuer: ISSUER,
    });
    const other = createPrivateKey(pki.client.key);
    await expect(verifier.verify(await sign(other, 'ES256', 'partner-1'))).rejects.toMatchObject({ status: 401 });
    expect(fetched).toEqual([]);
  });

  it('refuses an HS256 token made with the public key as a secret (key confusion)', async () => {
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const confused = await sign(new TextEncoder().encode(pem), 'HS256');
    await expect(verifierFor(pem).verify(confused)).rejects.toMatchObject({
      status: 401,
      reason: 'alg_not_allowed',
    });
  });

  it.each<[string, () => unknown, RegExp]>([
    ['a PEM private key', () => pki.server.key, /must be a public key or certificate, not a private key/],
    ['a private KeyObject', () => signingKey, /must be a public key/],
    ['a private JWK', () => signingKey.export({ format: 'jwk' }), /must hold public JWKs only/],
    ['a symmetric JWK', () => ({ kty: 'oct', k: 'c2VjcmV0' }), /must hold public JWKs only/],
    ['garbage text', () => 'not a key', /is not a PEM public key or certificate/],
    ['a number', () => 42, /must be a PEM string, a JWK, a JWKS or a KeyObject/],
  ])('refuses %s at construction', (_name, input, message) => {
    expect(() => verifierFor(input() as PublicKeyInput)).toThrow(message);
  });
});
