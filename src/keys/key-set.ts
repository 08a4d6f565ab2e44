/**
 * A key set (JWKS document) ready for verification. Key selection and import are jose's
 * `createLocalJWKSet`, so a JWK's own `alg`, `use`, `key_ops`, `kty` and `crv` must agree with
 * the token; selected keys are remembered so known keys are found without a promise. Used for
 * fetched key sets and for static ones (`publicKey`).
 *
 * @module
 */
import { KeyObject } from 'node:crypto';
import { createLocalJWKSet, type CryptoKey, type JSONWebKeySet, type JWK, type JWSHeaderParameters } from 'jose';
import { KeyFetchError } from './fetch-json.js';

/** A verification key: node:crypto's form of the key jose selected and imported. */
export type VerificationKey = KeyObject;

/** A usable key set. */
export interface KeySet {
  /** Number of keys in the document. */
  readonly size: number;
  /** The key for this `alg` and `kid` when it was selected before. */
  peek(alg: unknown, kid: unknown): VerificationKey | undefined;
  /**
   * Selects the key for a token's header.
   *
   * @throws jose's `JWKSNoMatchingKey`, `JWKSMultipleMatchingKeys` or `JOSENotSupported`.
   */
  select(header: JWSHeaderParameters): Promise<VerificationKey>;
  /** The `kid` the document gives the key that was selected (for revocation by key), if any. */
  keyId(key: VerificationKey): string | undefined;
}

/** jose selects by `alg` and `kid` only; `alg` never contains `#`. */
function selectionKey(alg: unknown, kid: unknown): string | undefined {
  if (typeof alg !== 'string') return undefined;
  if (kid === undefined) return alg;
  return typeof kid === 'string' ? `${alg}#${kid}` : undefined;
}

/** Members that identify a public key's material, per key type. */
const MATERIAL: Readonly<Record<string, readonly string[]>> = {
  RSA: ['n', 'e'],
  EC: ['crv', 'x', 'y'],
  OKP: ['crv', 'x'],
};

function sameMaterial(a: JWK, b: JWK): boolean {
  const members = a.kty === undefined ? undefined : MATERIAL[a.kty];
  return members !== undefined && a.kty === b.kty && members.every((m) => a[m as keyof JWK] === b[m as keyof JWK]);
}

/**
 * Builds a key set from a JWKS document.
 *
 * @throws {@link KeyFetchError} when the document is not a valid JSON Web Key Set.
 */
export function createKeySet(document: unknown): KeySet {
  let local: ReturnType<typeof createLocalJWKSet>;
  try {
    local = createLocalJWKSet(document as JSONWebKeySet);
  } catch (error) {
    throw new KeyFetchError('response is not a valid JSON Web Key Set', { cause: error });
  }
  const jwks = (document as JSONWebKeySet).keys;
  const selected = new Map<string, VerificationKey>();
  const keyIds = new WeakMap<VerificationKey, string | undefined>();
  return {
    size: jwks.length,
    peek(alg, kid) {
      const key = selectionKey(alg, kid);
      return key === undefined ? undefined : selected.get(key);
    },
    async select(header) {
      const cryptoKey: CryptoKey = await local(header);
      const key = KeyObject.from(cryptoKey as Parameters<typeof KeyObject.from>[0]);
      const memo = selectionKey(header.alg, header.kid);
      if (memo !== undefined) {
        const known = selected.get(memo);
        if (known !== undefined) return known;
        selected.set(memo, key);
      }
      // Found by the key itself, not by the token's header: a token without `kid` gets the same answer.
      const material = key.export({ format: 'jwk' }) as JWK;
      keyIds.set(key, jwks.find((jwk) => sameMaterial(material, jwk) && typeof jwk.kid === 'string')?.kid);
      return key;
    },
    keyId(key) {
      return keyIds.get(key);
    },
  };
}
