import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { NQSCHAR, runOf } from '../syntax.js';
import { sendJson } from './http.js';

/** An `error_description` this issuer sends verbatim: RFC 6749 §5.2 NQSCHAR, at most 200 characters. */
const DESCRIPTION = runOf(NQSCHAR, 0, 200);

/** Headers of every token and introspection response (RFC 6749 §5.1): never cached. */
export const NO_STORE: Readonly<OutgoingHttpHeaders> = Object.freeze({
  'cache-control': 'no-store',
  pragma: 'no-cache',
});

/** An RFC 6749 §5.2 error response, thrown inside a handler and rendered once. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
    /** Extra response headers (`WWW-Authenticate`, `DPoP-Nonce`). */
    readonly headers: OutgoingHttpHeaders = {},
  ) {
    super(description);
  }
}

/** 400 `invalid_request`. */
export const invalidRequest = (description: string): OAuthError => new OAuthError(400, 'invalid_request', description);

/** The Basic challenge RFC 6749 §5.2 requires when Basic credentials failed. */
export const BASIC_CHALLENGE: Readonly<OutgoingHttpHeaders> = Object.freeze({
  'www-authenticate': 'Basic realm="test-issuer"',
});

/** 401 `invalid_client`, with the Basic challenge when the client tried Basic credentials. */
export const invalidClient = (description: string, basic = false): OAuthError =>
  new OAuthError(401, 'invalid_client', description, basic ? BASIC_CHALLENGE : {});

/**
 * `value` when it may appear in an `error_description` (RFC 6749 §5.2 allows %x20-21 /
 * %x23-5B / %x5D-7E; at most 200 characters), otherwise `fallback`.
 */
export function describable(value: string, fallback: string): string {
  return DESCRIPTION.test(value) ? value : fallback;
}

/** Renders `err` as an RFC 6749 §5.2 JSON error; anything else becomes a 500 without details. */
export function sendOAuthError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) return;
  if (err instanceof OAuthError) {
    sendJson(res, err.status, { error: err.code, error_description: err.description }, { ...NO_STORE, ...err.headers });
  } else {
    sendJson(res, 500, { error: 'server_error', error_description: 'unexpected error in the test issuer' }, NO_STORE);
  }
}
