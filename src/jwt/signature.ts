/**
 * JWS signature checks with node:crypto `KeyObject`s, about twice as fast as jose 6's
 * WebCrypto path. Each algorithm is bound, through the package's algorithm table
 * (`algorithms.ts`), to its key type, padding, salt length and curve, so a key can never be
 * used with an algorithm it was not meant for. The
 * differential test (`test/jwt/differential.test.ts`) proves the same accept/reject decisions
 * as `jose.jwtVerify`.
 *
 * @module
 */
import { constants, createHmac, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { errors } from 'jose';
import { algorithmSpec, type AlgorithmSpec } from '../algorithms.js';

const MIN_RSA_BITS = 2048;
/** RSA public exponents below this are refused: with e = 1 a "signature" is just the padded hash. */
const MIN_RSA_EXPONENT = 3n;

/**
 * Checks that `key` may verify `alg` signatures: key type, curve, and for RSA a modulus of at
 * least 2048 bits and an odd public exponent of at least 3. jose checks all but the exponent;
 * with e = 1 anyone can forge a signature (it is the PKCS#1-padded hash itself), and an even
 * exponent is not a valid RSA key, so those keys are refused even though jose accepts them.
 *
 * @example
 * ```ts
 * assertKeyFitsAlgorithm('ES256', createPublicKey({ key: jwk, format: 'jwk' }));
 * ```
 * @returns the algorithm's entry in the package's algorithm table.
 * @throws TypeError when the key's type, size, exponent or curve does not match the algorithm
 *   (jose's convention for unusable keys), `JOSENotSupported` for an unknown algorithm.
 */
export function assertKeyFitsAlgorithm(alg: string, key: KeyObject): AlgorithmSpec {
  const spec = algorithmSpec(alg);
  if (spec === undefined) throw new errors.JOSENotSupported('Unsupported "alg" value');
  if (spec.keyType === 'secret') {
    if (key.type !== 'secret') throw new TypeError(`${alg} needs a secret key`);
    return spec;
  }
  if (key.type !== 'public') throw new TypeError(`${alg} needs a public key`);
  if (key.asymmetricKeyType !== spec.keyType) throw new TypeError(`${alg} needs a ${spec.keyType} key`);
  const details = key.asymmetricKeyDetails ?? {};
  if (spec.keyType === 'rsa') {
    if ((details.modulusLength ?? 0) < MIN_RSA_BITS)
      throw new TypeError(`${alg} requires key modulusLength to be 2048 bits or larger`);
    const exponent = details.publicExponent ?? 0n;
    if (exponent < MIN_RSA_EXPONENT || exponent % 2n === 0n)
      throw new TypeError(`${alg} requires an odd RSA public exponent of at least 3`);
  }
  if (spec.curve !== undefined && details.namedCurve !== spec.curve)
    throw new TypeError(`${alg} needs the ${spec.curve} curve`);
  return spec;
}

/**
 * Verifies a JWS signature synchronously.
 *
 * @returns whether the signature is valid; a signature of the wrong size is simply invalid.
 * @throws TypeError when the key does not fit the algorithm.
 */
export function verifySignature(alg: string, key: KeyObject, signingInput: Buffer, signature: Buffer): boolean {
  const spec = assertKeyFitsAlgorithm(alg, key);
  if (spec.keyType === 'secret') {
    const expected = createHmac(spec.hash as string, key)
      .update(signingInput)
      .digest();
    return expected.length === signature.length && timingSafeEqual(expected, signature);
  }
  try {
    return verify(spec.hash, signingInput, verifyKey(spec, key), signature);
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
  const spec = assertKeyFitsAlgorithm(alg, key);
  if (spec.keyType === 'secret') return verifySignature(alg, key, signingInput, signature);
  return new Promise((resolve) => {
    try {
      verify(spec.hash, signingInput, verifyKey(spec, key), signature, (error, valid) =>
        resolve(error === null && valid),
      );
    } catch {
      resolve(false);
    }
  });
}

/** The node:crypto verify options the algorithm fixes: P1363 signatures for ECDSA, PSS with a digest-sized salt. */
function verifyKey(spec: AlgorithmSpec, key: KeyObject) {
  if (spec.keyType === 'ec') return { key, dsaEncoding: 'ieee-p1363' as const };
  if (spec.keyType !== 'rsa') return key;
  return spec.pss
    ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: DIGEST_BYTES[spec.hash as string] as number }
    : { key, padding: constants.RSA_PKCS1_PADDING };
}

const DIGEST_BYTES: Readonly<Record<string, number>> = { sha256: 32, sha384: 48, sha512: 64 };
