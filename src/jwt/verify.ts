/**
 * JWT verification on node:crypto: jose's compact-JWS and claims-set rules with a faster
 * signature check. Key selection stays with jose (see `keys/jwks-cache.ts`).
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { errors, type JWTPayload } from 'jose';
import { validateClaimsSet, type ClaimsSetOptions } from './claims-set.js';
import { decodeBase64url, decodeJsonObject, parseCompact, type ParsedCompact } from './compact.js';
import { withoutStack } from '../stackless.js';
import { verifySignature, verifySignatureOffThread } from './signature.js';

/**
 * Parses a compact JWS and refuses an `alg` outside the allow-list (and, when `typ` is given,
 * another `typ`) before any key lookup and before any work that grows with the header.
 *
 * @example
 * ```ts
 * const parsed = parseJwt(token, ['RS256']);
 * const payload = decodePayload(parsed);
 * checkSignedJwt(parsed, payload, publicKey, claimsOptions, Math.floor(Date.now() / 1000), false);
 * ```
 * @throws jose's `JWSInvalid`, `JWTInvalid`, `JOSENotSupported`, `JOSEAlgNotAllowed` or
 *   `JWTClaimValidationFailed` (claim `typ`).
 */
export function parseJwt(token: string, algorithms: readonly string[], typ?: string): ParsedCompact {
  return parseCompact(token, { algorithms, typ });
}

/**
 * Decodes a parsed token's claims set. The verifier reads it before the signature check only to
 * pick the token's issuer; nothing in it is trusted until {@link checkSignedJwt} passes.
 *
 * @throws jose's `JWTInvalid` when the payload is not a top-level JSON object.
 */
export function decodePayload(parsed: ParsedCompact): JWTPayload {
  const payload = decodeJsonObject(parsed.encodedPayload);
  if (payload === undefined) throw new errors.JWTInvalid('JWT Claims Set must be a top-level JSON object');
  return payload;
}

/**
 * Checks the signature of `parsed` with `key` (on libuv's thread pool with `offThread`, see
 * {@link verifySignatureOffThread}; HMAC always synchronously), then its claims set: the one
 * path every verification of this package takes, and the one the differential test holds to
 * `jose.jwtVerify`'s decisions.
 *
 * @param now - the current time in seconds.
 * @returns nothing, or a promise when the signature is checked on the thread pool.
 * @throws jose's `JWSSignatureVerificationFailed`, `JWSInvalid`, `JWTClaimValidationFailed`,
 *   `JWTExpired`; TypeError when the key does not fit the algorithm — synchronously or through the promise.
 */
export function checkSignedJwt(
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
    if (!valid) throw signatureFailure();
    validateClaimsSet(parsed.header, payload, claims, now);
    return;
  }
  return valid.then((ok) => {
    if (!ok) throw signatureFailure();
    validateClaimsSet(parsed.header, payload, claims, now);
  });
}

/** jose's error for a bad signature, without a stack: the refusal a forged-token flood produces on every request. */
function signatureFailure(): errors.JWSSignatureVerificationFailed {
  return withoutStack(() => new errors.JWSSignatureVerificationFailed());
}
