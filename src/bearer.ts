/**
 * Bearer token extraction (RFC 6750 §2), independent of any web framework.
 *
 * @module
 */
import { InvalidRequestError } from './errors.js';

/** Where a token may be read from (RFC 6750 §2.1, §2.2, §2.3). */
export type TokenLocation = 'header' | 'query' | 'body';

/** Tokens longer than this are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/** The parts of a request a token may come from. */
export interface BearerSources {
  /** The request's `Authorization` header, or every one of them when it was sent more than once. */
  authorization?: string | readonly string[] | undefined;
  /** Parsed query string (`req.query`). */
  query?: unknown;
  /** Parsed body (`req.body`), considered only when `contentType` is `application/x-www-form-urlencoded`. */
  body?: unknown;
  /** The request's `Content-Type` header. */
  contentType?: string | undefined;
}

/** RFC 6750 §2.1 `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const SCHEME = 'bearer';
const SPACE = 0x20;
const FORM_CONTENT_TYPE = /^application\/x-www-form-urlencoded(?:\s*;|\s*$)/i;

/**
 * Finds the bearer token of a request in the allowed locations.
 *
 * @returns the token, or `undefined` when the request carries none (an `Authorization`
 *   header with another scheme, such as `Basic`, counts as none).
 * @throws {@link InvalidRequestError} for a malformed header, a token in more than one
 *   place, a token that is not a `b64token`, or a token over 16 KB.
 */
export function extractBearerToken(
  sources: BearerSources,
  locations: readonly TokenLocation[],
  realm?: string,
): string | undefined {
  let found: string | undefined;
  let places = 0;
  for (const location of locations) {
    const token =
      location === 'header'
        ? fromHeader(sources.authorization, realm)
        : location === 'query'
          ? fromParameters(sources.query, realm)
          : isForm(sources.contentType)
            ? fromParameters(sources.body, realm)
            : undefined;
    if (token === undefined) continue;
    places++;
    found = token;
  }
  if (places > 1) throw new InvalidRequestError('more than one method used to send the token', { realm });
  if (found !== undefined) checkSyntax(found, realm);
  return found;
}

function fromHeader(header: string | readonly string[] | undefined, realm?: string): string | undefined {
  if (header === undefined) return undefined;
  let value: string;
  if (typeof header === 'string') {
    value = header;
  } else {
    if (header.length === 0) return undefined;
    if (header.length > 1) throw new InvalidRequestError('more than one Authorization header', { realm });
    value = header[0] as string;
  }
  if (value.length > MAX_TOKEN_LENGTH + 64) throw new InvalidRequestError('token too large', { realm });
  // `auth-scheme 1*SP token68` (RFC 7235 §2.1), the scheme matched case-insensitively; read
  // by hand because this runs on every request and a regex would scan the whole token once more.
  if (
    value.length > SCHEME.length &&
    value.charCodeAt(SCHEME.length) === SPACE &&
    value.slice(0, SCHEME.length).toLowerCase() === SCHEME
  ) {
    let start = SCHEME.length + 1;
    while (value.charCodeAt(start) === SPACE) start++;
    if (start === value.length) throw new InvalidRequestError('missing token in Authorization header', { realm });
    // The token's own syntax (no CR/LF, tab or comma) is checked by the caller.
    return value.slice(start);
  }
  // Another scheme (Basic, DPoP, ...) is not a bearer token: the request is unauthenticated.
  // A value that is only the word "Bearer" is a malformed bearer request.
  if (/^bearer$/i.test(value.trim())) throw new InvalidRequestError('missing token in Authorization header', { realm });
  if (/^bearer\s/i.test(value)) throw new InvalidRequestError('malformed Authorization header', { realm });
  return undefined;
}

function fromParameters(parameters: unknown, realm?: string): string | undefined {
  if (parameters === null || typeof parameters !== 'object') return undefined;
  if (!Object.prototype.hasOwnProperty.call(parameters, 'access_token')) return undefined;
  const value = (parameters as Record<string, unknown>).access_token;
  if (typeof value !== 'string') throw new InvalidRequestError('malformed access_token parameter', { realm });
  if (value.length === 0) throw new InvalidRequestError('empty access_token parameter', { realm });
  return value;
}

function isForm(contentType: string | undefined): boolean {
  return contentType !== undefined && FORM_CONTENT_TYPE.test(contentType);
}

function checkSyntax(token: string, realm?: string): void {
  if (token.length > MAX_TOKEN_LENGTH) throw new InvalidRequestError('token too large', { realm });
  if (!B64TOKEN.test(token)) throw new InvalidRequestError('malformed token', { realm });
}
