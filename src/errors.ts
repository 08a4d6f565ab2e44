/**
 * Error classes for RFC 6750 §3 and RFC 9449 §7 responses.
 *
 * Every HTTP error here is a real `http-errors` error (`instanceof createError.HttpError`,
 * `createError.isHttpError(err)`), with `status`, `statusCode`, `expose` and `headers`, so
 * Express's default handler and most error middlewares render it with the right status and
 * headers even without {@link m2mErrorHandler}. As in express-oauth2-jwt-bearer,
 * {@link InvalidRequestError}, {@link InvalidTokenError}, {@link InsufficientScopeError} and the
 * DPoP errors extend {@link UnauthorizedError}, so `err instanceof UnauthorizedError` catches
 * every authentication and authorization failure.
 *
 * @module
 */
// A namespace import, not a default one: it also works when a CommonJS test runner (ts-jest)
// transpiles this package without `esModuleInterop`.
import * as httpErrors from 'http-errors';
import { clipDetail, type ErrorDetails } from './error-details.js';
import type { M2MErrorReason } from './reasons.js';
import { pauseStackTraces } from './stackless.js';
import { NQSCHAR, runOf } from './syntax.js';

export type { ErrorDetails } from './error-details.js';
export type { M2MErrorReason } from './reasons.js';

/** The default `realm` of the `WWW-Authenticate` challenge. */
export const DEFAULT_REALM = 'api';

/**
 * Characters RFC 6750 §3 allows in `error_description` and `scope` values
 * (%x20-21 / %x23-5B / %x5D-7E): printable ASCII without `"` and `\`.
 */
const CHALLENGE_VALUE = runOf(NQSCHAR, 0);
const CHALLENGE_UNSAFE = new RegExp(`[^${NQSCHAR}]`, 'g');

/** Replaces every character RFC 6750 forbids in a quoted attribute, so a header can never be split or rejected. */
export function quotable(value: string): string {
  return CHALLENGE_VALUE.test(value) ? value : value.replace(CHALLENGE_UNSAFE, '?');
}

/** True when `value` may appear verbatim inside a quoted `WWW-Authenticate` attribute. */
export function isQuotable(value: string): boolean {
  return CHALLENGE_VALUE.test(value);
}

/** Options shared by every error constructor. */
export interface M2MErrorOptions {
  /** `realm` of the challenge; defaults to `"api"`. */
  realm?: string;
  /** The underlying error, kept for logs; never rendered to the client. */
  cause?: unknown;
  /** Stable machine-readable reason, for logs and metrics; never rendered to the client. */
  reason?: M2MErrorReason;
  /** Which claim check failed, for server logs (strings are cut to 200 characters). */
  details?: ErrorDetails;
  /** Challenge scheme: `DPoP` (RFC 9449 §7.1) or `Bearer` (default). */
  scheme?: 'Bearer' | 'DPoP';
  /** With the `DPoP` scheme: the proof algorithms the server accepts (`algs`). */
  algs?: readonly string[];
  /** RFC 9728 §5.1 `resource_metadata`: where the protected resource metadata is (401 challenges only). */
  resourceMetadata?: string;
}

interface ErrorKind {
  status: number;
  code: string | undefined;
  reason: M2MErrorReason;
}

/** Status, code and default reason of each class, looked up through the prototype chain (user subclasses inherit). */
const KINDS = new Map<object, ErrorKind>();

function kindOf(target: object): ErrorKind {
  for (let current: object | null = target; current !== null; current = Object.getPrototypeOf(current)) {
    const kind = KINDS.get(current);
    if (kind !== undefined) return kind;
  }
  throw new TypeError('express-m2m: unknown error class');
}

/**
 * Base class of the package's HTTP errors. `message` and `description` are the same fixed,
 * human-readable sentence; neither ever contains the token or a value read from it.
 */
export abstract class M2MError extends Error {
  /** HTTP status code. */
  readonly status: number;
  /** Same as {@link M2MError.status}, for `http-errors` compatibility. */
  readonly statusCode: number;
  /** Always true: the description is safe to show to the client. */
  readonly expose = true;
  /**
   * RFC 6750 / RFC 9449 error code (`invalid_request`, `invalid_token`, `insufficient_scope`,
   * `invalid_dpop_proof`, `use_dpop_nonce`), `temporarily_unavailable` for 503, `undefined`
   * when no token was sent.
   */
  readonly code: string | undefined;
  /** Stable reason for logs and metrics (`expired`, `unexpected_audience`, …); never sent to the client. */
  readonly reason: M2MErrorReason;
  /** For a failed claim check: the claim, what was expected and what the token had. Never sent to the client. */
  readonly details: ErrorDetails | undefined;
  /** The `error_description` sent to the client. */
  readonly description: string;
  /** `realm` of the challenge. */
  readonly realm: string;
  /** Response headers: `WWW-Authenticate`, `Retry-After` for 503, `DPoP-Nonce` for `use_dpop_nonce`. */
  readonly headers: Record<string, string>;

  constructor(description: string, options: M2MErrorOptions & { scope?: readonly string[] } = {}) {
    const kind = kindOf(new.target);
    const safeDescription = quotable(description);
    // A 4xx is an expected outcome, not a bug: its stack is one line (below), so none is captured.
    const resume = kind.status < 500 ? pauseStackTraces() : undefined;
    try {
      super(safeDescription, options.cause === undefined ? undefined : { cause: options.cause });
    } finally {
      resume?.();
    }
    this.name = new.target.name;
    this.status = kind.status;
    this.statusCode = kind.status;
    this.code = kind.code;
    this.reason = options.reason ?? kind.reason;
    this.details = options.details === undefined ? undefined : clipDetail(options.details);
    this.description = safeDescription;
    this.realm = quotable(options.realm ?? DEFAULT_REALM);
    this.headers = { 'WWW-Authenticate': challenge(this, options) };
    if (this.status < 500) {
      // An expected outcome, not a bug: a one-line "stack" keeps logs of Express's default handler short.
      this.stack = `${this.name}: ${safeDescription}`;
    }
  }

  /** The JSON body rendered by {@link m2mErrorHandler}. */
  toJSON(): { error: string; error_description: string } {
    return { error: this.code ?? 'unauthorized', error_description: this.description };
  }
}

// A real http-errors error: `instanceof createError.HttpError` and `createError.isHttpError()`.
// (HttpError's constructor refuses to run, so the prototype is linked rather than extended.)
Object.setPrototypeOf(M2MError.prototype, httpErrors.HttpError.prototype);

function challenge(error: M2MError, options: M2MErrorOptions & { scope?: readonly string[] }): string {
  const scheme = options.scheme ?? 'Bearer';
  let value = `${scheme} realm="${error.realm}"`;
  const { code } = error;
  if (code !== undefined && code !== 'temporarily_unavailable') {
    value += `, error="${code}", error_description="${error.description}"`;
    if (options.scope && options.scope.length > 0) value += `, scope="${quotable(options.scope.join(' '))}"`;
  }
  if (scheme === 'DPoP' && options.algs !== undefined && options.algs.length > 0) {
    value += `, algs="${quotable(options.algs.join(' '))}"`;
  }
  if (error.status === 401 && options.resourceMetadata !== undefined) {
    value += `, resource_metadata="${quotable(options.resourceMetadata)}"`;
  }
  return value;
}

/** 401 without an error code: the request carried no access token (RFC 6750 §3.1). Base of every 400/401/403 here. */
export class UnauthorizedError extends M2MError {
  constructor(description = 'authentication required', options?: M2MErrorOptions) {
    super(description, options);
  }
}

/** 400 `invalid_request`: a malformed `Authorization` header, a token in several places, or an oversized token. */
export class InvalidRequestError extends UnauthorizedError {
  constructor(description = 'invalid request', options?: M2MErrorOptions) {
    super(description, options);
  }
}

/** 401 `invalid_token`: the token is malformed, expired, badly signed, for another audience or issuer, revoked, or not an M2M token. */
export class InvalidTokenError extends UnauthorizedError {
  constructor(description = 'invalid token', options?: M2MErrorOptions) {
    super(description, options);
  }
}

/** Options of {@link InsufficientScopeError}. */
export interface InsufficientScopeErrorOptions extends M2MErrorOptions {
  /** Scopes the request needs; rendered as the challenge's `scope` attribute. */
  scope?: readonly string[];
}

/** 403 `insufficient_scope`: the token is valid but lacks a scope, or a client, claim or organization check refused it. */
export class InsufficientScopeError extends UnauthorizedError {
  /** The scopes required, when a scope guard failed. */
  readonly scopes: readonly string[] | undefined;
  constructor(description = 'insufficient scope', options: InsufficientScopeErrorOptions = {}) {
    super(description, options);
    this.scopes = options.scope;
  }
}

/** 401 `invalid_dpop_proof` (RFC 9449 §7.1): the DPoP proof is missing, malformed, replayed or does not match. */
export class InvalidDPoPProofError extends UnauthorizedError {
  constructor(description = 'invalid DPoP proof', options?: M2MErrorOptions) {
    super(description, options);
  }
}

/** Options of {@link UseDPoPNonceError}. */
export interface UseDPoPNonceErrorOptions extends M2MErrorOptions {
  /** The nonce the client must put in its next proof; sent as `DPoP-Nonce`. */
  nonce: string;
}

/** 401 `use_dpop_nonce` (RFC 9449 §9): the proof must carry the server nonce sent in `DPoP-Nonce`. */
export class UseDPoPNonceError extends UnauthorizedError {
  constructor(description = 'DPoP nonce required', options: UseDPoPNonceErrorOptions = { nonce: '' }) {
    super(description, options);
    if (options.nonce !== '') this.headers['DPoP-Nonce'] = options.nonce;
  }
}

/** Options of {@link ServiceUnavailableError}. */
export interface ServiceUnavailableErrorOptions extends M2MErrorOptions {
  /** Seconds until a retry may succeed; rounded up (1 s to 1 day) for `Retry-After`. */
  retryAfter?: number;
}

const DEFAULT_RETRY_AFTER = 30;
const MAX_RETRY_AFTER = 86_400;

/** 503 `temporarily_unavailable`: no usable key set, or a store or endpoint the check depends on is failing. */
export class ServiceUnavailableError extends M2MError {
  /** Whole seconds sent in `Retry-After`. */
  readonly retryAfter: number;
  constructor(description = 'signing keys are temporarily unavailable', options: ServiceUnavailableErrorOptions = {}) {
    super(description, options);
    const requested = options.retryAfter;
    // A header value built from options must be valid whatever it is given (NaN, Infinity, negative).
    const retryAfter =
      typeof requested === 'number' && Number.isFinite(requested)
        ? Math.min(MAX_RETRY_AFTER, Math.max(1, Math.ceil(requested)))
        : DEFAULT_RETRY_AFTER;
    this.retryAfter = retryAfter;
    this.headers['Retry-After'] = String(retryAfter);
  }
}

KINDS.set(UnauthorizedError, { status: 401, code: undefined, reason: 'missing_token' });
KINDS.set(InvalidRequestError, { status: 400, code: 'invalid_request', reason: 'malformed_request' });
KINDS.set(InvalidTokenError, { status: 401, code: 'invalid_token', reason: 'malformed_token' });
KINDS.set(InsufficientScopeError, { status: 403, code: 'insufficient_scope', reason: 'insufficient_scope' });
KINDS.set(InvalidDPoPProofError, { status: 401, code: 'invalid_dpop_proof', reason: 'invalid_dpop_proof' });
KINDS.set(UseDPoPNonceError, { status: 401, code: 'use_dpop_nonce', reason: 'use_dpop_nonce' });
KINDS.set(ServiceUnavailableError, { status: 503, code: 'temporarily_unavailable', reason: 'keys_unavailable' });

/** True for every HTTP error this package raises. */
export function isM2MError(error: unknown): error is M2MError {
  return error instanceof M2MError;
}
