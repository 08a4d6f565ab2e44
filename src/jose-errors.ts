/**
 * Translation of jose's verification errors into fixed RFC 6750 descriptions and stable
 * reasons. A description names the check that failed and never quotes a value taken from
 * the token; the details (for server logs) say what was expected and what the token had.
 *
 * @module
 */
import { errors } from 'jose';
import type { ErrorDetails } from './error-details.js';
import type { M2MErrorReason } from './reasons.js';
import { Refusal } from './refusal.js';

/** Claims whose name may appear in a description (they are ours, not the token's). */
const NAMED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'client_id', 'typ']);

/**
 * The refusal for an error thrown while verifying a token.
 *
 * @param expected - what the configuration asked for, by claim (for `details`).
 */
export function refusalFor(error: unknown, expected: Readonly<Record<string, unknown>> = {}): Refusal {
  if (error instanceof Refusal) return error;
  const [reason, description] = describe(error);
  let details: ErrorDetails | undefined;
  if (isClaimError(error)) {
    const claim = error.claim;
    // jose keeps the decoded payload on the error: copy out the one claim and drop the rest.
    const actual = claim === 'typ' ? undefined : (error.payload as Record<string, unknown>)[claim];
    details = { claim, expected: expected[claim], actual };
  }
  return new Refusal(reason, description, { details, cause: sanitize(error) });
}

/** jose's claim errors carry the whole payload; a cause kept for logs must not. */
function sanitize(error: unknown): unknown {
  if (!isClaimError(error)) return error;
  return new Error(`${error.code}: ${error.message}`);
}

function isClaimError(
  error: unknown,
): error is InstanceType<typeof errors.JWTClaimValidationFailed> | InstanceType<typeof errors.JWTExpired> {
  return error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired;
}

function describe(error: unknown): [M2MErrorReason, string] {
  // jose also raises JWTExpired when `iat` is older than maxTokenAge.
  if (error instanceof errors.JWTExpired) {
    return error.claim === 'iat' ? ['too_old', 'token too old'] : ['expired', 'token expired'];
  }
  if (error instanceof errors.JWTClaimValidationFailed) return describeClaimFailure(error);
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return ['invalid_signature', 'signature verification failed'];
  if (error instanceof errors.JOSEAlgNotAllowed) return ['alg_not_allowed', 'algorithm not allowed'];
  if (error instanceof errors.JWKSNoMatchingKey) return ['unknown_key', 'no matching signing key'];
  if (error instanceof errors.JWKSMultipleMatchingKeys) return ['unknown_key', 'several signing keys match the token'];
  if (error instanceof errors.JWKSInvalid) return ['unknown_key', 'invalid signing key'];
  if (error instanceof errors.JOSENotSupported) return ['malformed_token', 'unsupported token'];
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
    return ['malformed_token', 'malformed token'];
  // jose raises TypeError for unusable keys (e.g. an RSA modulus under 2048 bits).
  if (error instanceof TypeError) return ['unknown_key', 'invalid signing key'];
  return ['malformed_token', 'token could not be verified'];
}

function describeClaimFailure(error: InstanceType<typeof errors.JWTClaimValidationFailed>): [M2MErrorReason, string] {
  const { claim, reason } = error;
  if (reason === 'missing') {
    return ['missing_claim', NAMED_CLAIMS.has(claim) ? `missing ${claim} claim` : 'missing required claim'];
  }
  switch (claim) {
    case 'iss':
      return ['unexpected_issuer', 'unexpected issuer'];
    case 'aud':
      return ['unexpected_audience', 'unexpected audience'];
    case 'typ':
      return ['invalid_typ', 'unexpected token type'];
    case 'nbf':
      return reason === 'invalid'
        ? ['malformed_token', 'malformed nbf claim']
        : ['not_yet_valid', 'token not yet valid'];
    case 'iat':
      return reason === 'invalid'
        ? ['malformed_token', 'malformed iat claim']
        : ['issued_in_future', 'token issued in the future'];
    case 'exp':
      return reason === 'invalid' ? ['malformed_token', 'malformed exp claim'] : ['expired', 'token expired'];
    default:
      return ['missing_claim', NAMED_CLAIMS.has(claim) ? `invalid ${claim} claim` : 'invalid claim'];
  }
}
