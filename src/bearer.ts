/**
 * Access-token extraction, independent of any web framework: the `Bearer` scheme and the
 * query and body parameters of RFC 6750 §2, and the `DPoP` scheme of RFC 9449 §7.1.
 *
 * @module
 */
import { Refusal } from './refusal.js';

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

/** An access token and the `Authorization` scheme it came with (`Bearer` also for query and body). */
export interface ExtractedToken {
  token: string;
  scheme: 'Bearer' | 'DPoP';
}

/** RFC 6750 §2.1 `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const BEARER = 'bearer';
const DPOP = 'dpop';
const SPACE = 0x20;

function malformed(description: string): Refusal {
  return new Refusal('malformed_request', description);
}
const FORM_CONTENT_TYPE = /^application\/x-www-form-urlencoded(?:\s*;|\s*$)/i;

/**
 * Finds the access token of a request in the allowed locations.
 *
 * @param acceptDPoP - whether `Authorization: DPoP <token>` is a token (DPoP not `off`);
 *   otherwise the DPoP scheme is another scheme, like `Basic`.
 * @returns the token and its scheme, or `undefined` when the request carries none (an
 *   `Authorization` header with another scheme counts as none).
 * @throws {@link Refusal} `malformed_request` for a malformed header, a token in more than one
 *   place or not a `b64token`; `token_too_large` for a token over 16 KB.
 */
export function extractAccessToken(
  sources: BearerSources,
  locations: readonly TokenLocation[],
  acceptDPoP = false,
): ExtractedToken | undefined {
  let found: ExtractedToken | undefined;
  let places = 0;
  for (const location of locations) {
    let extracted: ExtractedToken | undefined;
    if (location === 'header') {
      extracted = fromHeader(sources.authorization, acceptDPoP);
    } else {
      const parameters = location === 'query' ? sources.query : isForm(sources.contentType) ? sources.body : undefined;
      const token = fromParameters(parameters);
      extracted = token === undefined ? undefined : { token, scheme: 'Bearer' };
    }
    if (extracted === undefined) continue;
    places++;
    found = extracted;
  }
  if (places > 1) throw malformed('more than one method used to send the token');
  if (found !== undefined) checkSyntax(found.token);
  return found;
}

/** The `auth-scheme 1*SP token68` value of `header` when its scheme is `scheme` (lower-case), else undefined. */
function credentials(value: string, scheme: string): string | undefined {
  // Read by hand because this runs on every request and a regex would scan the whole token once more.
  if (
    value.length <= scheme.length ||
    value.charCodeAt(scheme.length) !== SPACE ||
    value.slice(0, scheme.length).toLowerCase() !== scheme
  ) {
    return undefined;
  }
  let start = scheme.length + 1;
  while (value.charCodeAt(start) === SPACE) start++;
  if (start === value.length) throw malformed('missing token in Authorization header');
  // The token's own syntax (no CR/LF, tab or comma) is checked by the caller.
  return value.slice(start);
}

function fromHeader(header: string | readonly string[] | undefined, acceptDPoP: boolean): ExtractedToken | undefined {
  if (header === undefined) return undefined;
  let value: string;
  if (typeof header === 'string') {
    value = header;
  } else {
    if (header.length === 0) return undefined;
    if (header.length > 1) throw malformed('more than one Authorization header');
    value = header[0] as string;
  }
  if (value.length > MAX_TOKEN_LENGTH + 64) throw new Refusal('token_too_large', 'token too large');
  const bearer = credentials(value, BEARER);
  if (bearer !== undefined) return { token: bearer, scheme: 'Bearer' };
  if (acceptDPoP) {
    const dpop = credentials(value, DPOP);
    if (dpop !== undefined) return { token: dpop, scheme: 'DPoP' };
    if (/^dpop(?:\s|$)/i.test(value.trim())) throw malformed('malformed Authorization header');
  }
  // Another scheme (Basic, …) is not an access token: the request is unauthenticated.
  // A value that is only the word "Bearer" is a malformed bearer request.
  if (/^bearer$/i.test(value.trim())) throw malformed('missing token in Authorization header');
  if (/^bearer\s/i.test(value)) throw malformed('malformed Authorization header');
  return undefined;
}

function fromParameters(parameters: unknown): string | undefined {
  if (parameters === null || typeof parameters !== 'object') return undefined;
  if (!Object.prototype.hasOwnProperty.call(parameters, 'access_token')) return undefined;
  const value = (parameters as Record<string, unknown>).access_token;
  if (typeof value !== 'string') throw malformed('malformed access_token parameter');
  if (value.length === 0) throw malformed('empty access_token parameter');
  return value;
}

function isForm(contentType: string | undefined): boolean {
  return contentType !== undefined && FORM_CONTENT_TYPE.test(contentType);
}

function checkSyntax(token: string): void {
  if (token.length > MAX_TOKEN_LENGTH) throw new Refusal('token_too_large', 'token too large');
  if (!B64TOKEN.test(token)) throw malformed('malformed token');
}
