/**
 * JWT verification on node:crypto: jose's compact-JWS and claims-set rules with a faster
 * signature check. Key selection stays with jose (see `keys/jwks-cache.ts`).
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { errors, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { validateClaimsSet, type ClaimsSetOptions } from './claims-set.js';
import { decodeBase64url, decodeJsonObject, parseCompact, type ParsedCompact } from './compact.js';
import { verifySignature, verifySignatureOffThread } from './signature.js';

/** A verified token. */
export interface VerifiedJwt {
  header: JWTHeaderParameters;
  payload: JWTPayload;
}

/**
 * Parses a compact JWS and refuses an `alg` outside the allow-list (and, when `typ` is given,
 * another `typ`) before any key lookup and before any work that grows with the header.
 *
 * @example
 * ```ts
 * const parsed = parseJwt(token, ['RS256']);
 * const { payload } = verifyParsedJwt(parsed, publicKey, claimsOptions, Math.floor(Date.now() / 1000));
 * ```
 * @throws jose's `JWSInvalid`, `JWTInvalid`, `JOSENotSupported`, `JOSEAlgNotAllowed` or
 *   `JWTClaimValidationFailed` (claim `typ`).
 */
export function parseJwt(token: string, algorithms: readonly string[], typ?: string): ParsedCompact {
  return parseCompact(token, { algorithms, typ });
}

/**
 * Checks the signature of a parsed token with `key`, then decodes and validates its claims.
 *
 * @param now - current time in seconds.
 * @throws jose's `JWSSignatureVerificationFailed`, `JWSInvalid`, `JWTInvalid`,
 *   `JWTClaimValidationFailed`, `JWTExpired`; TypeError when the key does not fit the algorithm.
 */
export function verifyParsedJwt(
  parsed: ParsedCompact,
  key: KeyObject,
  options: ClaimsSetOptions,
  now: number,
): VerifiedJwt {
  if (!verifySignature(parsed.header.alg as string, key, parsed.signingInput, decodeSignature(parsed))) {
    throw new errors.JWSSignatureVerificationFailed();
  }
  return decodeVerifiedClaims(parsed, options, now);
}

/**
 * {@link verifyParsedJwt} with the public-key operation on the thread pool
 * (see {@link verifySignatureOffThread}); synchronous for HMAC.
 */
export function verifyParsedJwtOffThread(
  parsed: ParsedCompact,
  key: KeyObject,
  options: ClaimsSetOptions,
  now: number,
): VerifiedJwt | Promise<VerifiedJwt> {
  const valid = verifySignatureOffThread(
    parsed.header.alg as string,
    key,
    parsed.signingInput,
    decodeSignature(parsed),
  );
  if (typeof valid === 'boolean') {
    if (!valid) throw new errors.JWSSignatureVerificationFailed();
    return decodeVerifiedClaims(parsed, options, now);
  }
  return valid.then((ok) => {
    if (!ok) throw new errors.JWSSignatureVerificationFailed();
    return decodeVerifiedClaims(parsed, options, now);
  });
}

function decodeSignature(parsed: ParsedCompact): Buffer {
  const signature = decodeBase64url(parsed.encodedSignature);
  if (signature === undefined) throw new errors.JWSInvalid('Failed to base64url decode the signature');
  return signature;
}

/** Decodes and validates the claims of a token whose signature has been checked. */
function decodeVerifiedClaims(parsed: ParsedCompact, options: ClaimsSetOptions, now: number): VerifiedJwt {
  const payload = decodeJsonObject(parsed.encodedPayload);
  if (payload === undefined) throw new errors.JWTInvalid('JWT Claims Set must be a top-level JSON object');
  validateClaimsSet(parsed.header, payload, options, now);
  return { header: parsed.header, payload };
}
