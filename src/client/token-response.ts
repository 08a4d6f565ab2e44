/**
 * Reading a token endpoint's answer (RFC 6749 §5.1 and §5.2): the token and how long it may be
 * cached, or a typed failure with the server's text made safe.
 *
 * @module
 */
import { decodeJwt } from 'jose';
import { isJsonObject } from '../json.js';
import { NQSCHAR, runOf } from '../syntax.js';
import type { ClientAuthentication } from './client-auth.js';
import type { TokenRequestErrorInit } from './errors.js';
import type { HttpResponse } from './http.js';
import { WITHHELD } from './redact.js';
import { isRetryableStatus, parseRetryAfter } from './retry.js';

/**
 * Longest time a token is cached, in seconds, whatever `expires_in` or `exp` say: 24 hours, the
 * longest default lifetime of common issuers (Auth0). A server answering `expires_in: 1e308`
 * (or a corrupted value) must not pin one token for the life of the process, and a daily
 * refresh is also when rotated client credentials or revoked grants come to light.
 */
export const MAX_TOKEN_CACHE = 24 * 60 * 60;
/** Cache lifetime of a token whose lifetime is unknown (no `expires_in`, no JWT `exp`), in seconds. */
export const UNKNOWN_LIFETIME = 60;
/** Clearly-safe characters of an access token placed in a header (visible ASCII). */
const HEADER_SAFE = /^[\x21-\x7E]+$/;
/** An RFC 6749 §5.2 `error` code (NQSCHAR), at most 100 characters. */
const ERROR_CODE = runOf(NQSCHAR, 1, 100);

/** Why one attempt failed, and whether another attempt may help. */
export interface Failure {
  init: TokenRequestErrorInit;
  retryable: boolean;
  /** Seconds, from `Retry-After`. */
  retryAfter?: number | undefined;
}

/** A token as the cache keeps it. */
export interface ObtainedToken {
  accessToken: string;
  /** ms since the epoch: from here on a new token is requested. */
  refreshAt: number;
}

/** The outcome of one token request. */
export type Attempt = { ok: true; token: ObtainedToken } | { ok: false; failure: Failure };

/** What reading a response needs besides the response. */
export interface ResponseContext {
  /** ms since the epoch when the request started: lifetimes count from there. */
  started: number;
  /** ms since the epoch now (for an HTTP-date `Retry-After`). */
  now: number;
  /** Seconds; see the `expiryMargin` option. */
  expiryMargin: number;
  /** `Bearer`, or `DPoP` for a client that sent a proof. */
  tokenType: 'Bearer' | 'DPoP';
  /** Recognises the client's credentials in server text. */
  auth: Pick<ClientAuthentication, 'sanitize' | 'containsCredential'>;
}

/** A failure the client itself describes: `invalid_response`, never retried. */
function invalidResponse(status: number | undefined, description: string): Attempt {
  return {
    ok: false,
    failure: { init: { error: 'invalid_response', error_description: description, status }, retryable: false },
  };
}

/** Reads one token endpoint answer. Never throws. */
export function readTokenResponse(response: HttpResponse, context: ResponseContext): Attempt {
  const { status } = response;
  const document = parseJsonObject(response.body);
  if (status >= 200 && status < 300) {
    if (document === undefined) return invalidResponse(status, 'token response is not a JSON object');
    return readToken(document, status, context);
  }
  const retryable = isRetryableStatus(status);
  const retryAfter = retryable ? parseRetryAfter(response.headers.get('retry-after'), context.now) : undefined;
  const code = document?.error;
  if (typeof code === 'string' && ERROR_CODE.test(code)) {
    const description = document?.error_description;
    // A code that echoes a credential says nothing a caller could act on: report the answer as unusable.
    const echoed = context.auth.containsCredential(code);
    return {
      ok: false,
      failure: {
        init: {
          error: echoed ? 'invalid_response' : code,
          error_description: echoed
            ? WITHHELD
            : typeof description === 'string'
              ? context.auth.sanitize(description)
              : undefined,
          status,
        },
        retryable,
        retryAfter,
      },
    };
  }
  const description =
    status >= 300 && status < 400
      ? 'token endpoint answered with a redirect'
      : `token endpoint answered HTTP ${status} without an OAuth error`;
  return {
    ok: false,
    failure: { init: { error: 'invalid_response', error_description: description, status }, retryable, retryAfter },
  };
}

function readToken(document: Record<string, unknown>, status: number, context: ResponseContext): Attempt {
  const { access_token: accessToken, token_type: tokenType } = document;
  if (typeof accessToken !== 'string' || accessToken === '')
    return invalidResponse(status, 'token response has no access_token');
  if (!HEADER_SAFE.test(accessToken))
    return invalidResponse(status, 'access_token contains characters not allowed in a header');
  if (context.tokenType === 'DPoP') {
    // A Bearer token for a DPoP client means the server ignored the proof: using it would silently downgrade.
    if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'dpop')
      return invalidResponse(status, 'token_type is not DPoP');
  } else if (tokenType !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')) {
    // A DPoP- or MAC-bound token would be refused by a Bearer API; say so here rather than there.
    return invalidResponse(status, 'token_type is not Bearer');
  }
  const expiresIn = readExpiresIn(document.expires_in);
  if (expiresIn === 'invalid') return invalidResponse(status, 'expires_in is not a non-negative integer');
  const jwtRemaining = jwtLifetime(accessToken, context.started);
  const lifetime = cacheLifetime(expiresIn, jwtRemaining);
  // A guessed lifetime is short already; the margin is for known expiries.
  const known = expiresIn !== undefined || jwtRemaining !== undefined;
  const margin = known ? Math.min(context.expiryMargin, lifetime / 2) : 0;
  // Lifetimes count from the request's start, not its end: a slow answer only makes us refresh earlier.
  return { ok: true, token: { accessToken, refreshAt: context.started + (lifetime - margin) * 1000 } };
}

/**
 * Seconds to cache a token: the earlier of `expires_in` and the JWT's `exp`, at most
 * {@link MAX_TOKEN_CACHE}; {@link UNKNOWN_LIFETIME} when neither is known.
 */
export function cacheLifetime(expiresIn: number | undefined, jwtRemaining: number | undefined): number {
  if (expiresIn === undefined && jwtRemaining === undefined) return UNKNOWN_LIFETIME;
  return Math.max(0, Math.min(expiresIn ?? Infinity, jwtRemaining ?? Infinity, MAX_TOKEN_CACHE));
}

/**
 * `expires_in` (RFC 6749 §5.1: a non-negative integer of seconds). A string of decimal digits is
 * accepted too, since some servers (Azure AD v1, gateways) quote it; `null` counts as absent.
 * Anything else — negative, fractional, `"abc"`, a boolean — is `'invalid'`.
 */
export function readExpiresIn(value: unknown): number | undefined | 'invalid' {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return /^\d+$/.test(value) ? Number(value) : 'invalid';
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 'invalid';
}

/** Seconds left before a JWT access token's `exp` (0 when past); `undefined` for an opaque token. */
function jwtLifetime(accessToken: string, started: number): number | undefined {
  try {
    const { exp } = decodeJwt(accessToken);
    return typeof exp === 'number' && Number.isFinite(exp) ? Math.max(0, exp - started / 1000) : undefined;
  } catch {
    return undefined;
  }
}

function parseJsonObject(body: string | undefined): Record<string, unknown> | undefined {
  if (body === undefined || body === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    // The parser's message quotes the body, which may echo a secret: never keep it.
    return undefined;
  }
  return isJsonObject(value) ? value : undefined;
}
