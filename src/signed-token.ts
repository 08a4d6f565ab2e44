/**
 * The cryptographic half of verifying a JWT once its issuer and key are known: the signature
 * (on node:crypto, optionally on the thread pool) and then the claims-set rules. The payload
 * was decoded once, before the signature check, to pick the issuer; it is trusted only after
 * this passes.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { errors, type JWTPayload } from 'jose';
import { validateClaimsSet, type ClaimsSetOptions } from './jwt/claims-set.js';
import { decodeBase64url, type ParsedCompact } from './jwt/compact.js';
import { verifySignature, verifySignatureOffThread } from './jwt/signature.js';

/**
 * Checks the signature of `parsed` with `key`, then its claims set.
 *
 * @param now - the current time in seconds.
 * @returns nothing, or a promise when the signature is checked on the thread pool.
 * @throws jose's errors (`JWSSignatureVerificationFailed`, `JWTClaimValidationFailed`, `JWTExpired`, …), or
 *   TypeError when the key does not fit the algorithm — synchronously or through the promise.
 */
export function checkSignedToken(
  parsed: ParsedCompact,
  payload: JWTPayload,
  key: KeyObject,
  claims: ClaimsSetOptions,
  now: number,
  offThread: boolean,
): void | Promise<void> {
  const alg = parsed.header.alg as string;
  const signature = decodeBase64url(parsed.encodedSignature);
  if (signature === undefined) throw new errors.JWSInvalid('Failed to base64url decode the signature');
  const valid = offThread
    ? verifySignatureOffThread(alg, key, parsed.signingInput, signature)
    : verifySignature(alg, key, parsed.signingInput, signature);
  if (typeof valid === 'boolean') {
    if (!valid) throw new errors.JWSSignatureVerificationFailed();
    validateClaimsSet(parsed.header, payload, claims, now);
    return;
  }
  return valid.then((ok) => {
    if (!ok) throw new errors.JWSSignatureVerificationFailed();
    validateClaimsSet(parsed.header, payload, claims, now);
  });
}
