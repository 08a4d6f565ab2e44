/**
 * Error classes for RFC 6750 §3 responses.
 *
 * Every HTTP error here satisfies `createError.isHttpError()` from `http-errors` (it is an
 * `Error` with numeric `status === statusCode` and boolean `expose`), so Express's default
 * handler and most error middlewares render it with the right status and headers even
 * without {@link m2mErrorHandler}.
 *
 * @module
 */

/** The default `realm` of the `WWW-Authenticate` challenge. */
export const DEFAULT_REALM = 'api';

/**
 * Characters RFC 6750 §3 allows in `error_description` and `scope` values
 * (%x20-21 / %x23-5B / %x5D-7E): printable ASCII without `"` and `\`.
 */
const CHALLENGE_VALUE = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;
const CHALLENGE_UNSAFE = /[^\x20\x21\x23-\x5B\x5D-\x7E]/g;

/** Replaces every character RFC 6750 forbids in a quoted attribute, so a header can never be split or rejected. */
function quotable(value: string): string {
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
  /** RFC 6750 error code (`invalid_request`, `invalid_token`, `insufficient_scope`), `temporarily_unavailable` for 503, `undefined` when no token was sent. */
  readonly code: string | undefined;
  /** The `error_description` sent to the client. */
  readonly description: string;
  /** `realm` of the challenge. */
  readonly realm: string;
  /** Response headers: `WWW-Authenticate`, and `Retry-After` for 503. */
  readonly headers: Record<string, string>;

  protected constructor(
    status: number,
    code: string | undefined,
    description: string,
    options: M2MErrorOptions & { scope?: readonly string[]; extraHeaders?: Record<string, string> } = {},
  ) {
    const safeDescription = quotable(description);
    super(safeDescription, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.statusCode = status;
    this.code = code;
    this.description = safeDescription;
    this.realm = quotable(options.realm ?? DEFAULT_REALM);
    this.headers = {
      'WWW-Authenticate': challenge(this.realm, code, safeDescription, options.scope),
      ...options.extraHeaders,
    };
  }

  /** The JSON body rendered by {@link m2mErrorHandler}. */
  toJSON(): { error: string; error_description: string } {
    return { error: this.code ?? 'unauthorized', error_description: this.description };
  }
}

function challenge(realm: string, code: string | undefined, description: string, scope?: readonly string[]): string {
  let value = `Bearer realm="${realm}"`;
  if (code === undefined || code === 'temporarily_unavailable') return value;
  value += `, error="${code}", error_description="${description}"`;
  if (scope && scope.length > 0) value += `, scope="${quotable(scope.join(' '))}"`;
  return value;
}

/** 400 `invalid_request`: a malformed `Authorization` header, a token in several places, or an oversized token. */
export class InvalidRequestError extends M2MError {
  constructor(description = 'invalid request', options?: M2MErrorOptions) {
    super(400, 'invalid_request', description, options);
  }
}

/** 401 `invalid_token`: the token is malformed, expired, badly signed, for another audience or issuer, or not an M2M token. */
export class InvalidTokenError extends M2MError {
  constructor(description = 'invalid token', options?: M2MErrorOptions) {
    super(401, 'invalid_token', description, options);
  }
}

/** 401 without an error code: the request carried no bearer token (RFC 6750 §3.1). */
export class UnauthorizedError extends M2MError {
  constructor(description = 'authentication required', options?: M2MErrorOptions) {
    super(401, undefined, description, options);
  }
}

/** Options of {@link InsufficientScopeError}. */
export interface InsufficientScopeErrorOptions extends M2MErrorOptions {
  /** Scopes the request needs; rendered as the challenge's `scope` attribute. */
  scope?: readonly string[];
}

/** 403 `insufficient_scope`: the token is valid but lacks a scope, or a client, claim or organization guard refused it. */
export class InsufficientScopeError extends M2MError {
  /** The scopes required, when a scope guard failed. */
  readonly scopes: readonly string[] | undefined;
  constructor(description = 'insufficient scope', options: InsufficientScopeErrorOptions = {}) {
    super(403, 'insufficient_scope', description, options);
    this.scopes = options.scope;
  }
}

/** Options of {@link ServiceUnavailableError}. */
export interface ServiceUnavailableErrorOptions extends M2MErrorOptions {
  /** Seconds until a retry may succeed; rounded up for `Retry-After`. */
  retryAfter?: number;
}

/** 503 `temporarily_unavailable`: no signing key set could be obtained from the issuer yet. */
export class ServiceUnavailableError extends M2MError {
  /** Whole seconds sent in `Retry-After`. */
  readonly retryAfter: number;
  constructor(description = 'signing keys are temporarily unavailable', options: ServiceUnavailableErrorOptions = {}) {
    const retryAfter = Math.max(1, Math.ceil(options.retryAfter ?? 30));
    super(503, 'temporarily_unavailable', description, {
      ...options,
      extraHeaders: { 'Retry-After': String(retryAfter) },
    });
    this.retryAfter = retryAfter;
  }
}

/** True for every HTTP error this package raises. */
export function isM2MError(error: unknown): error is M2MError {
  return error instanceof M2MError;
}
