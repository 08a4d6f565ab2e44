/**
 * JWT claims-set validation with jose 6's `jwtVerify` semantics (RFC 7519 §4.1): `typ`,
 * required claims, `iss`, `aud`, `nbf`, `exp`, and `iat` with `maxTokenAge`. Errors are jose's
 * classes, so descriptions come from one table.
 *
 * @module
 */
import { errors, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { normalizeTyp } from './compact.js';

/** The checks to run; every duration in seconds. */
export interface ClaimsSetOptions {
  issuer: string;
  audience: readonly string[];
  clockTolerance: number;
  maxTokenAge?: number | undefined;
  requiredClaims: readonly string[];
  /** Expected `typ`, compared as a media type (`at+jwt` matches `application/at+jwt`). */
  typ?: string | undefined;
}

const CHECK_FAILED = 'check_failed';

function numericDate(payload: JWTPayload, claim: 'iat' | 'nbf' | 'exp', required = false): number | undefined {
  const value = payload[claim];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'number') {
    throw new errors.JWTClaimValidationFailed(`"${claim}" claim must be a number`, payload, claim, 'invalid');
  }
  return value;
}

/**
 * Validates a decoded claims set.
 *
 * @param now - the current time in seconds (whole seconds, as jose uses).
 * @throws jose's `JWTClaimValidationFailed` or `JWTExpired`.
 */
export function validateClaimsSet(
  header: JWTHeaderParameters,
  payload: JWTPayload,
  options: ClaimsSetOptions,
  now: number,
): void {
  const { typ } = options;
  if (typ !== undefined && (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== normalizeTyp(typ))) {
    throw new errors.JWTClaimValidationFailed('unexpected "typ" JWT header value', payload, 'typ', CHECK_FAILED);
  }
  const required = [...options.requiredClaims];
  if (options.maxTokenAge !== undefined) required.push('iat');
  required.push('aud', 'iss');
  for (const claim of new Set(required.reverse())) {
    if (!Object.hasOwn(payload, claim)) {
      throw new errors.JWTClaimValidationFailed(`missing required "${claim}" claim`, payload, claim, 'missing');
    }
  }
  if (payload.iss !== options.issuer) {
    throw new errors.JWTClaimValidationFailed('unexpected "iss" claim value', payload, 'iss', CHECK_FAILED);
  }
  if (!hasAudience(payload.aud, options.audience)) {
    throw new errors.JWTClaimValidationFailed('unexpected "aud" claim value', payload, 'aud', CHECK_FAILED);
  }
  const tolerance = options.clockTolerance;
  const iat = numericDate(payload, 'iat', options.maxTokenAge !== undefined);
  const nbf = numericDate(payload, 'nbf');
  if (nbf !== undefined && nbf > now + tolerance) {
    throw new errors.JWTClaimValidationFailed('"nbf" claim timestamp check failed', payload, 'nbf', CHECK_FAILED);
  }
  const exp = numericDate(payload, 'exp');
  if (exp !== undefined && exp <= now - tolerance) {
    throw new errors.JWTExpired('"exp" claim timestamp check failed', payload, 'exp', CHECK_FAILED);
  }
  if (options.maxTokenAge !== undefined) {
    const age = now - (iat as number);
    if (age - tolerance > options.maxTokenAge) {
      throw new errors.JWTExpired(
        '"iat" claim timestamp check failed (too far in the past)',
        payload,
        'iat',
        CHECK_FAILED,
      );
    }
    if (age < -tolerance) {
      throw new errors.JWTClaimValidationFailed(
        '"iat" claim timestamp check failed (it should be in the past)',
        payload,
        'iat',
        CHECK_FAILED,
      );
    }
  }
}

function hasAudience(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud);
  if (Array.isArray(aud)) return accepted.some((candidate) => aud.includes(candidate));
  return false;
}
