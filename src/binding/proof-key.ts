/**
 * The public key a DPoP proof carries in its `jwk` header: checked to be public and to fit the
 * proof's algorithm, identified by its RFC 7638 SHA-256 thumbprint, and imported once into a
 * node:crypto `KeyObject` (a small LRU keyed by that thumbprint, since a client signs every
 * request with the same key).
 *
 * @module
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { algorithmSpec } from '../algorithms.js';
import { isJsonObject } from '../json.js';
import { decodeBase64url } from '../jwt/compact.js';
import { assertKeyFitsAlgorithm } from '../jwt/signature.js';

/** JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** The members RFC 7638 §3.2 hashes, per key type, in their lexicographic order. */
const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
});

/** Bytes of each coordinate (EC) or of the public key (OKP), per JWK `crv`. */
const COORDINATE_BYTES: Readonly<Record<string, number>> = Object.freeze({
  'P-256': 32,
  'P-384': 48,
  'P-521': 66,
  Ed25519: 32,
});

const JWK_KTY = Object.freeze({ rsa: 'RSA', ec: 'EC', ed25519: 'OKP' } as const);

/** RSA moduli above this are refused: verifying with them costs more than any client needs. */
const MAX_RSA_MODULUS_BYTES = 1024;
/** RSA public exponents above 64 bits are refused (OpenSSL's own bound for large moduli). */
const MAX_RSA_EXPONENT_BYTES = 8;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A proof key ready to verify signatures. */
export interface ProofKey {
  key: KeyObject;
  /** RFC 7638 SHA-256 thumbprint, base64url: what a bound token's `cnf.jkt` holds. */
  jkt: string;
}

const KEY_CACHE_MAX = 256;
const keyCache = new Map<string, KeyObject>();

/**
 * RFC 7638 SHA-256 thumbprint of a public EC, RSA or OKP JWK.
 *
 * @returns the base64url thumbprint, or `undefined` when a required member is missing or not a string.
 * @example
 * ```ts
 * jwkThumbprint({ kty: 'EC', crv: 'P-256', x: '…', y: '…' }); // 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
 * ```
 */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string | undefined {
  const members = typeof jwk.kty === 'string' && Object.hasOwn(REQUIRED_MEMBERS, jwk.kty) && REQUIRED_MEMBERS[jwk.kty];
  if (!members || members.some((name) => typeof jwk[name] !== 'string')) return undefined;
  // Values are strings, so JSON.stringify yields RFC 7638's form: no whitespace, members in
  // the listed (lexicographic) order.
  const canonical = JSON.stringify(Object.fromEntries(members.map((name) => [name, jwk[name]])));
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * Checks a proof's `jwk` header against its `alg` and imports it.
 *
 * Refused (`undefined`): not a JSON object; any private or symmetric member; a `kty`/`crv`
 * that does not fit `alg` (RSA for the RS and PS algorithms, EC with the curve for ES, OKP
 * Ed25519 for EdDSA); key material that is not canonical base64url of the right size (RSA:
 * 2048 to 8192 bits, exponent at most 64 bits); a `use` other than `sig`, `key_ops` other than
 * `["verify"]`, an `alg` member other than the proof's, a non-boolean `ext`; a key node:crypto cannot import or that
 * does not fit the algorithm.
 *
 * @param alg - the algorithm to verify with, already known to be an allowed asymmetric one.
 * @param declaredAlg - the proof's `alg` header as written (`Ed25519` is verified as `EdDSA`);
 *   a `jwk.alg` member must equal it.
 */
export function importProofKey(jwk: unknown, alg: string, declaredAlg: string = alg): ProofKey | undefined {
  const spec = algorithmSpec(alg);
  if (spec === undefined || spec.keyType === 'secret' || !isJsonObject(jwk)) return undefined;
  if (PRIVATE_MEMBERS.some((name) => Object.hasOwn(jwk, name))) return undefined;
  if (jwk.kty !== JWK_KTY[spec.keyType] || !agreesOnUse(jwk, declaredAlg)) return undefined;
  if (spec.crv !== undefined && jwk.crv !== spec.crv) return undefined;
  if (!hasWellFormedMaterial(jwk)) return undefined;
  const jkt = jwkThumbprint(jwk);
  if (jkt === undefined) return undefined;

  let key = keyCache.get(jkt);
  if (key !== undefined) {
    // Most recently used last, so the oldest entry is the one evicted.
    keyCache.delete(jkt);
  } else {
    try {
      const members = REQUIRED_MEMBERS[jwk.kty as string] as readonly string[];
      key = createPublicKey({ key: Object.fromEntries(members.map((name) => [name, jwk[name]])), format: 'jwk' });
      assertKeyFitsAlgorithm(alg, key);
    } catch {
      return undefined;
    }
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string);
  }
  keyCache.set(jkt, key);
  return { key, jkt };
}

/**
 * Optional JWK members (RFC 7517 §4.2–4.4) must not say the key is for something else: `use`
 * is `sig`, `key_ops` is exactly `["verify"]` (the one operation a public signing key has),
 * `alg` is the proof's own, `ext` is a boolean.
 */
function agreesOnUse(jwk: Record<string, unknown>, declaredAlg: string): boolean {
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  const ops = jwk.key_ops;
  if (ops !== undefined && !(Array.isArray(ops) && ops.length === 1 && ops[0] === 'verify')) return false;
  if (jwk.ext !== undefined && typeof jwk.ext !== 'boolean') return false;
  return jwk.alg === undefined || jwk.alg === declaredAlg;
}

/** Canonical base64url members of the sizes the key type requires. */
function hasWellFormedMaterial(jwk: Record<string, unknown>): boolean {
  const bytes = (name: string): number => {
    const value = jwk[name];
    if (typeof value !== 'string' || !BASE64URL.test(value)) return -1;
    const decoded = decodeBase64url(value);
    // Canonical: re-encoding gives the same text (no stray bits in the last character).
    return decoded === undefined || decoded.toString('base64url') !== value ? -1 : decoded.length;
  };
  if (jwk.kty === 'RSA') {
    const modulus = bytes('n');
    const exponent = bytes('e');
    return modulus >= 256 && modulus <= MAX_RSA_MODULUS_BYTES && exponent >= 1 && exponent <= MAX_RSA_EXPONENT_BYTES;
  }
  const size = COORDINATE_BYTES[jwk.crv as string];
  if (size === undefined || bytes('x') !== size) return false;
  return jwk.kty === 'OKP' || bytes('y') === size;
}

/** Number of imported keys held (for tests and metrics). */
export function proofKeyCacheSize(): number {
  return keyCache.size;
}
