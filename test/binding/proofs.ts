/**
 * Hand-made DPoP proofs for the binding tests: real keys, real signatures, and every header
 * member and claim open to override so each rule can be broken on its own.
 */
import { constants, createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

import { DPOP_ALGORITHMS } from '../../src/algorithms.js';

/** Every proof algorithm the API accepts by default. */
export const PROOF_ALGORITHMS = DPOP_ALGORITHMS;

export interface ProofKeyPair {
  alg: string;
  privateKey: KeyObject;
  publicJwk: Record<string, unknown>;
}

const rsaKeys = new Map<number, { privateKey: KeyObject; publicKey: KeyObject }>();

/** A key pair for `alg`; RSA keys are made once per size (they are slow to generate). */
export function makeKeyPair(alg: string, rsaBits = 2048): ProofKeyPair {
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    pair = rsaKeys.get(rsaBits) ?? generateKeyPairSync('rsa', { modulusLength: rsaBits });
    rsaKeys.set(rsaBits, pair);
  } else if (alg === 'EdDSA' || alg === 'Ed25519') pair = generateKeyPairSync('ed25519');
  else {
    const curve = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg] ?? 'P-256';
    pair = generateKeyPairSync('ec', { namedCurve: curve });
  }
  return { alg, privateKey: pair.privateKey, publicJwk: pair.publicKey.export({ format: 'jwk' }) };
}

export const b64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url');

/** RFC 7638 thumbprint, written out for the tests (EC, RSA, OKP). */
export function thumbprint(jwk: Record<string, unknown>): string {
  const members = { EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'], OKP: ['crv', 'kty', 'x'] }[
    jwk.kty as 'EC' | 'RSA' | 'OKP'
  ];
  return sha256(JSON.stringify(Object.fromEntries(members.map((name) => [name, jwk[name]]))));
}

/** Signs `input` with `alg` the way JWS does (raw r||s for ECDSA, PSS salt = hash length). */
export function signJws(alg: string, privateKey: KeyObject, input: string): Buffer {
  const data = Buffer.from(input);
  if (alg === 'EdDSA' || alg === 'Ed25519') return sign(null, data, privateKey);
  const hash = `sha${alg.slice(2)}`;
  if (alg.startsWith('ES')) return sign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  if (alg.startsWith('PS')) {
    return sign(hash, data, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: Number(alg.slice(2)) / 8,
    });
  }
  return sign(hash, data, privateKey);
}

export const NOW = 1_800_000_000;
export const URL = 'https://api.example.com/orders';
export const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzdmMifQ.c2lnbmF0dXJl';

/** Header members and claims of a valid proof for {@link URL}, `GET`, {@link TOKEN} at {@link NOW}. */
export function validParts(pair: ProofKeyPair): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  return {
    header: { typ: 'dpop+jwt', alg: pair.alg, jwk: pair.publicJwk },
    claims: { htm: 'GET', htu: URL, iat: NOW, jti: 'e1j3V_bKic8-LAEB', ath: sha256(TOKEN) },
  };
}

/** A signed proof; `edit` changes the header and claims of a valid one first. */
export function makeProof(
  pair: ProofKeyPair,
  edit: (parts: { header: Record<string, unknown>; claims: Record<string, unknown> }) => void = () => {},
): string {
  const parts = validParts(pair);
  edit(parts);
  const input = `${b64url(parts.header)}.${b64url(parts.claims)}`;
  return `${input}.${signJws(pair.alg, pair.privateKey, input).toString('base64url')}`;
}
