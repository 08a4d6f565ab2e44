/**
 * JWS signature checks with node:crypto `KeyObject`s, about twice as fast as jose 6's
 * WebCrypto path. Each algorithm is bound explicitly to its key type, padding, salt length
 * and curve, so a key can never be used with an algorithm it was not meant for. The
 * differential test (`test/jwt/differential.test.ts`) proves the same accept/reject decisions
 * as `jose.jwtVerify`.
 *
 * @module
 */
import { constants, createHmac, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { errors } from 'jose';

interface AlgorithmBinding {
  /** node:crypto digest name, or `null` for EdDSA (the digest is part of the scheme). */
  hash: 'sha256' | 'sha384' | 'sha512' | null;
  keyType: 'rsa' | 'ec' | 'ed25519' | 'secret';
  padding?: number;
  saltLength?: number;
  /** OpenSSL curve name for ECDSA. */
  curve?: string;
}

const rsa = (bits: 256 | 384 | 512): AlgorithmBinding => ({
  hash: `sha${bits}`,
  keyType: 'rsa',
  padding: constants.RSA_PKCS1_PADDING,
});
const pss = (bits: 256 | 384 | 512): AlgorithmBinding => ({
  hash: `sha${bits}`,
  keyType: 'rsa',
  padding: constants.RSA_PKCS1_PSS_PADDING,
  saltLength: bits / 8,
});
const ecdsa = (bits: 256 | 384 | 512, curve: string): AlgorithmBinding => ({
  hash: `sha${bits}`,
  keyType: 'ec',
  curve,
});
const hmac = (bits: 256 | 384 | 512): AlgorithmBinding => ({ hash: `sha${bits}`, keyType: 'secret' });

const BINDINGS: Readonly<Record<string, AlgorithmBinding>> = Object.freeze({
  RS256: rsa(256),
  RS384: rsa(384),
  RS512: rsa(512),
  PS256: pss(256),
  PS384: pss(384),
  PS512: pss(512),
  ES256: ecdsa(256, 'prime256v1'),
  ES384: ecdsa(384, 'secp384r1'),
  ES512: ecdsa(512, 'secp521r1'),
  EdDSA: { hash: null, keyType: 'ed25519' },
  HS256: hmac(256),
  HS384: hmac(384),
  HS512: hmac(512),
});

const MIN_RSA_BITS = 2048;

/**
 * Checks that `key` may verify `alg` signatures.
 *
 * @throws TypeError when the key's type, size or curve does not match the algorithm (jose's
 *   convention for unusable keys), `JOSENotSupported` for an unknown algorithm.
 */
export function assertKeyFitsAlgorithm(alg: string, key: KeyObject): AlgorithmBinding {
  const binding = Object.hasOwn(BINDINGS, alg) ? BINDINGS[alg] : undefined;
  if (binding === undefined) throw new errors.JOSENotSupported('Unsupported "alg" value');
  if (binding.keyType === 'secret') {
    if (key.type !== 'secret') throw new TypeError(`${alg} needs a secret key`);
    return binding;
  }
  if (key.type !== 'public') throw new TypeError(`${alg} needs a public key`);
  if (key.asymmetricKeyType !== binding.keyType) throw new TypeError(`${alg} needs a ${binding.keyType} key`);
  const details = key.asymmetricKeyDetails ?? {};
  if (binding.keyType === 'rsa' && (details.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new TypeError(`${alg} requires key modulusLength to be 2048 bits or larger`);
  }
  if (binding.curve !== undefined && details.namedCurve !== binding.curve)
    throw new TypeError(`${alg} needs the ${binding.curve} curve`);
  return binding;
}

/**
 * Verifies a JWS signature synchronously.
 *
 * @returns whether the signature is valid; a signature of the wrong size is simply invalid.
 * @throws TypeError when the key does not fit the algorithm.
 */
export function verifySignature(alg: string, key: KeyObject, signingInput: Buffer, signature: Buffer): boolean {
  const binding = assertKeyFitsAlgorithm(alg, key);
  if (binding.keyType === 'secret') {
    const expected = createHmac(binding.hash as string, key)
      .update(signingInput)
      .digest();
    return expected.length === signature.length && timingSafeEqual(expected, signature);
  }
  try {
    return verify(binding.hash, signingInput, verifyKey(binding, key), signature);
  } catch {
    // OpenSSL rejects some malformed signatures by throwing rather than returning false.
    return false;
  }
}

/**
 * Verifies a JWS signature like {@link verifySignature}, with the public-key operation on
 * libuv's thread pool (node:crypto's callback form), so the event loop keeps serving other
 * requests meanwhile. HMAC, which costs about as much as the hop, stays synchronous.
 *
 * @returns whether the signature is valid.
 * @throws TypeError (synchronously) when the key does not fit the algorithm.
 */
export function verifySignatureOffThread(
  alg: string,
  key: KeyObject,
  signingInput: Buffer,
  signature: Buffer,
): boolean | Promise<boolean> {
  const binding = assertKeyFitsAlgorithm(alg, key);
  if (binding.keyType === 'secret') return verifySignature(alg, key, signingInput, signature);
  return new Promise((resolve) => {
    try {
      verify(binding.hash, signingInput, verifyKey(binding, key), signature, (error, valid) =>
        resolve(error === null && valid),
      );
    } catch {
      resolve(false);
    }
  });
}

function verifyKey(binding: AlgorithmBinding, key: KeyObject) {
  if (binding.keyType === 'ec') return { key, dsaEncoding: 'ieee-p1363' as const };
  if (binding.padding === undefined) return key;
  return binding.saltLength === undefined
    ? { key, padding: binding.padding }
    : { key, padding: binding.padding, saltLength: binding.saltLength };
}
