/**
 * The package's rules beyond a JWT's signature and claims set, each written once: a numeric
 * `exp` required, the RFC 9068 profile, client-credentials detection, the calling client,
 * allowed clients, organizations, revocation, and the re-check of time claims for tokens the
 * verified-token cache answers.
 *
 * @module
 */
import type { JWTPayload } from 'jose';
import { isClientCredentialsToken, matchesOrganization, readClientId } from './claims.js';
import type { ResolvedOptions } from './options/resolve.js';
import { Refusal } from './refusal.js';

/** Claims the RFC 9068 profile requires as non-empty strings beyond jose's presence check. */
const STRICT_STRING_CLAIMS = ['sub', 'client_id', 'jti'] as const;

function invalidToken(reason: Refusal['reason'], description: string, details?: Refusal['extra']['details']): Refusal {
  return new Refusal(reason, description, { details });
}

/**
 * Applies the policy to a token whose signature and claims set are valid.
 *
 * @param now - the current time in seconds.
 * @returns the calling client's id.
 * @throws {@link Refusal} naming the rule that failed.
 */
export function checkPolicy(payload: JWTPayload, options: ResolvedOptions, now: number): string {
  const { exp, iat } = payload;
  if (exp === undefined)
    throw invalidToken('missing_claim', 'missing exp claim', { claim: 'exp', expected: 'a number', actual: undefined });
  // JSON's 1e400 parses as Infinity: a token that never expires is not acceptable either.
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw invalidToken('malformed_token', 'malformed exp claim', {
      claim: 'exp',
      expected: 'a finite number',
      actual: exp,
    });
  }
  if (typeof iat === 'number' && iat > now + options.clockTolerance) {
    throw invalidToken('issued_in_future', 'token issued in the future', {
      claim: 'iat',
      expected: `<= ${now}`,
      actual: iat,
    });
  }
  if (options.strict) {
    for (const claim of STRICT_STRING_CLAIMS) {
      const value = payload[claim];
      if (typeof value !== 'string' || value === '') {
        throw invalidToken('missing_claim', `invalid ${claim} claim`, {
          claim,
          expected: 'a non-empty string',
          actual: value,
        });
      }
    }
  }
  if (options.m2mOnly && !isM2M(payload, options.isM2M)) {
    throw invalidToken('not_m2m', 'token was not issued to a client (client-credentials grant)', {
      claim: 'gty',
      expected: 'client-credentials (or sub equal to the client id)',
      actual: payload.gty,
    });
  }
  const clientId = readClientId(payload);
  if (clientId === undefined) {
    throw invalidToken('no_client_id', 'token does not identify its client', {
      claim: 'client_id',
      expected: 'a non-empty client_id, azp, cid, appid or sub',
      actual: undefined,
    });
  }
  if (options.allowedClients !== undefined && !options.allowedClients.includes(clientId)) {
    throw new Refusal('client_not_allowed', 'client not allowed', {
      details: { claim: 'client_id', expected: options.allowedClients, actual: clientId },
    });
  }
  if (options.organizations !== undefined && !matchesOrganization(payload, options.organizations)) {
    throw new Refusal('organization_not_allowed', 'organization not allowed', {
      details: {
        claim: 'org_id',
        expected: options.organizations,
        actual: payload.org_id ?? payload.org_name,
      },
    });
  }
  return clientId;
}

function isM2M(payload: JWTPayload, custom: ResolvedOptions['isM2M']): boolean {
  if (custom === undefined) return isClientCredentialsToken(payload);
  try {
    return custom(payload) === true;
  } catch {
    return false;
  }
}

/**
 * Re-checks the time-dependent claims of a token the cache answered, with the rules a fresh
 * token is held to (`exp`, `nbf`, `maxTokenAge`, each with `clockTolerance`).
 *
 * @param now - the current time in seconds.
 */
export function checkLifetime(payload: JWTPayload, options: ResolvedOptions, now: number): void {
  const tolerance = options.clockTolerance;
  const exp = payload.exp as number;
  if (exp <= now - tolerance)
    throw invalidToken('expired', 'token expired', { claim: 'exp', expected: `> ${now}`, actual: exp });
  const { nbf } = payload;
  if (typeof nbf === 'number' && nbf > now + tolerance) {
    throw invalidToken('not_yet_valid', 'token not yet valid', { claim: 'nbf', expected: `<= ${now}`, actual: nbf });
  }
  const { maxTokenAge } = options;
  if (maxTokenAge !== undefined && now - (payload.iat as number) - tolerance > maxTokenAge) {
    throw invalidToken('too_old', 'token too old', {
      claim: 'iat',
      expected: `>= ${now - maxTokenAge}`,
      actual: payload.iat,
    });
  }
}

/** What the revocation list is asked about a verified token. */
export interface RevocationSubject {
  issuer: string;
  clientId: string;
  payload: JWTPayload;
  keyId: string | undefined;
}

/**
 * Refuses a revoked token (kill switch). Synchronous: an in-memory lookup on every request,
 * cached tokens included.
 *
 * @param now - the current time in seconds.
 */
export function checkRevocation(subject: RevocationSubject, options: ResolvedOptions, now: number): void {
  const list = options.revocations;
  if (list === undefined) return;
  const { iat, jti } = subject.payload;
  const revoked = list.isRevoked(
    {
      issuer: subject.issuer,
      clientId: subject.clientId,
      iat: typeof iat === 'number' ? iat : undefined,
      jti: typeof jti === 'string' ? jti : undefined,
      keyId: subject.keyId,
    },
    now,
  );
  if (revoked) throw invalidToken('revoked', 'token revoked');
}
