/**
 * Translation of jose's verification errors into fixed RFC 6750 descriptions. A description
 * names the check that failed and never quotes a value taken from the token.
 *
 * @module
 */
import { errors } from 'jose';

/** Claims whose name may appear in a description (they are ours, not the token's). */
const NAMED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'client_id', 'typ']);

/** The `error_description` for an error thrown while verifying a token. */
export function describeVerificationError(error: unknown): string {
  // jose also raises JWTExpired when `iat` is older than maxTokenAge.
  if (error instanceof errors.JWTExpired) return error.claim === 'iat' ? 'token too old' : 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) return describeClaimFailure(error);
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no matching signing key';
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'several signing keys match the token';
  if (error instanceof errors.JWKSInvalid) return 'invalid signing key';
  if (error instanceof errors.JOSENotSupported) return 'unsupported token';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed token';
  // jose raises TypeError for unusable keys (e.g. an RSA modulus under 2048 bits).
  if (error instanceof TypeError) return 'invalid signing key';
  return 'token could not be verified';
}

function describeClaimFailure(error: InstanceType<typeof errors.JWTClaimValidationFailed>): string {
  const { claim, reason } = error;
  if (reason === 'missing') return NAMED_CLAIMS.has(claim) ? `missing ${claim} claim` : 'missing required claim';
  switch (claim) {
    case 'iss':
      return 'unexpected issuer';
    case 'aud':
      return 'unexpected audience';
    case 'typ':
      return 'unexpected token type';
    case 'nbf':
      return reason === 'invalid' ? 'malformed nbf claim' : 'token not yet valid';
    case 'iat':
      if (reason === 'invalid') return 'malformed iat claim';
      return 'token issued in the future';
    case 'exp':
      return reason === 'invalid' ? 'malformed exp claim' : 'token expired';
    default:
      return NAMED_CLAIMS.has(claim) ? `invalid ${claim} claim` : 'invalid claim';
  }
}
