/**
 * The one table of JWS algorithms this package knows: which exist, which key each needs, and
 * which are symmetric. Verification (`jwt/signature.ts`), option validation, the token
 * client's assertions, DPoP proofs and the test issuer all read it from here.
 *
 * @module
 */

/** Asymmetric JWS algorithms (RFC 7518 §3.3–3.5, RFC 8037), in the order they are listed by default. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

/** DPoP proof algorithms accepted by default (asymmetric only), elliptic curves first as RFC 9449 deployments prefer them. */
export const DPOP_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
] as const;

/** HMAC algorithms (RFC 7518 §3.2): only ever allowed with a configured shared secret. */
export const SYMMETRIC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;

/** An asymmetric JWS algorithm. */
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];
/** A symmetric JWS algorithm. */
export type SymmetricAlgorithm = (typeof SYMMETRIC_ALGORITHMS)[number];
/** A JWS algorithm this package can verify. */
export type Algorithm = AsymmetricAlgorithm | SymmetricAlgorithm;

/** The key type each algorithm needs (node:crypto's `asymmetricKeyType`, or `secret`). */
export type KeyType = 'rsa' | 'ec' | 'ed25519' | 'secret';

/** What each algorithm needs from its key. */
export interface AlgorithmSpec {
  /** node:crypto digest name, or `null` for EdDSA (the digest is part of the scheme). */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null;
  readonly keyType: KeyType;
  /** RSASSA-PSS rather than PKCS#1 v1.5. */
  readonly pss?: true;
  /** OpenSSL curve name, for ECDSA. */
  readonly curve?: 'prime256v1' | 'secp384r1' | 'secp521r1';
  /** JWK `crv`, for ECDSA and EdDSA. */
  readonly crv?: 'P-256' | 'P-384' | 'P-521' | 'Ed25519';
}

/** Every algorithm's needs; an `alg` that is not an own key here is unsupported. */
export const ALGORITHMS: Readonly<Record<Algorithm, AlgorithmSpec>> = Object.freeze({
  RS256: { hash: 'sha256', keyType: 'rsa' },
  RS384: { hash: 'sha384', keyType: 'rsa' },
  RS512: { hash: 'sha512', keyType: 'rsa' },
  PS256: { hash: 'sha256', keyType: 'rsa', pss: true },
  PS384: { hash: 'sha384', keyType: 'rsa', pss: true },
  PS512: { hash: 'sha512', keyType: 'rsa', pss: true },
  ES256: { hash: 'sha256', keyType: 'ec', curve: 'prime256v1', crv: 'P-256' },
  ES384: { hash: 'sha384', keyType: 'ec', curve: 'secp384r1', crv: 'P-384' },
  ES512: { hash: 'sha512', keyType: 'ec', curve: 'secp521r1', crv: 'P-521' },
  EdDSA: { hash: null, keyType: 'ed25519', crv: 'Ed25519' },
  HS256: { hash: 'sha256', keyType: 'secret' },
  HS384: { hash: 'sha384', keyType: 'secret' },
  HS512: { hash: 'sha512', keyType: 'secret' },
});

/** The spec of `alg`, or `undefined` when the package does not support it (never for `none`). */
export function algorithmSpec(alg: unknown): AlgorithmSpec | undefined {
  return typeof alg === 'string' && Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg as Algorithm] : undefined;
}

/** True for the asymmetric algorithms of {@link ASYMMETRIC_ALGORITHMS}. */
export function isAsymmetricAlgorithm(alg: unknown): alg is AsymmetricAlgorithm {
  const spec = algorithmSpec(alg);
  return spec !== undefined && spec.keyType !== 'secret';
}

/** The ECDSA algorithm for an OpenSSL curve name (`prime256v1` → `ES256`). */
export function ecdsaAlgorithmForCurve(curve: string | undefined): AsymmetricAlgorithm | undefined {
  for (const alg of ASYMMETRIC_ALGORITHMS) if (ALGORITHMS[alg].curve === curve && curve !== undefined) return alg;
  return undefined;
}
