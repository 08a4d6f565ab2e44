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

/** Options of {@link verifyJwt}. */
export interface JwtVerifyOptions extends ClaimsSetOptions {
  algorithms: readonly string[];
}

/** A verified token. */
export interface VerifiedJwt {
  header: JWTHeaderParameters;
  payload: JWTPayload;
}

/**
 * Parses a compact JWS and refuses an `alg` outside the allow-list, before any key lookup.
 *
 * @throws jose's `JWSInvalid`, `JWTInvalid`, `JOSENotSupported` or `JOSEAlgNotAllowed`.
 */
export function parseJwt(token: string, algorithms: readonly string[]): ParsedCompact {
  const parsed = parseCompact(token);
  if (!algorithms.includes(parsed.header.alg as string)) {
    throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  }
  return parsed;
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

/** Verifies a compact JWT with `key`: the whole pipeline, with jose's decisions. */
export function verifyJwt(
  token: string,
  key: KeyObject,
  options: JwtVerifyOptions,
  now = Math.floor(Date.now() / 1000),
): VerifiedJwt {
  return verifyParsedJwt(parseJwt(token, options.algorithms), key, options, now);
}
