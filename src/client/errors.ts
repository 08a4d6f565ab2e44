/**
 * The caller side's error type.
 *
 * @module
 */

/**
 * Error codes a {@link TokenRequestError} may carry.
 *
 * Codes the authorization server sent are passed through unchanged (RFC 6749 §5.2:
 * `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
 * `unsupported_grant_type`, `invalid_scope`, and the widely used `access_denied`,
 * `server_error`, `temporarily_unavailable`, `invalid_target` (RFC 8707), …). The client
 * adds three of its own:
 *
 * - `invalid_response`: the token endpoint answered, but not with anything usable — a
 *   non-JSON or oversized body, an error status without an RFC 6749 `error` code (e.g. an
 *   HTML 500 page, after the retries), a redirect, a success without an `access_token`, or a
 *   `token_type` other than `Bearer`.
 * - `network_error`: the token endpoint (or the discovery document) could not be reached —
 *   connection refused or reset, DNS failure — after the retries.
 * - `timeout`: no complete answer within `timeout` seconds, after the retries.
 */
export type TokenRequestErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'invalid_response'
  | 'network_error'
  | 'timeout'
  // Any other code a server may send, while keeping autocompletion for the known ones.
  | (string & Record<never, never>);

/** What a {@link TokenRequestError} is built from. */
export interface TokenRequestErrorInit {
  /** The error code; see {@link TokenRequestErrorCode}. */
  error: TokenRequestErrorCode;
  /** Human-readable detail, already free of secrets. */
  error_description?: string | undefined;
  /** HTTP status of the token endpoint's last answer; absent for network errors and timeouts. */
  status?: number | undefined;
  /** Seconds the server asked to wait (`Retry-After`) in its last answer, if it did. */
  retryAfter?: number | undefined;
  /** The underlying network error, if any (never a response body). */
  cause?: unknown;
}

/**
 * A token request failed: the authorization server refused it (RFC 6749 §5.2), or it could
 * not be completed (network error, timeout, unusable response) within the allowed retries.
 *
 * Neither the message, the stack, nor `JSON.stringify`/`util.inspect` of the error contain the
 * client secret, the private key or a client assertion: the client removes them from the
 * server's `error_description` before this error is built, even when the server echoes them.
 *
 * Note that `status` is the *token endpoint's* status. An Express app that lets this error
 * reach its default error handler would answer its own caller with that status (e.g. 401 for
 * an upstream `invalid_client`); map it to a 502/503 if that matters.
 */
export class TokenRequestError extends Error {
  /** The error code; see {@link TokenRequestErrorCode}. */
  readonly error: TokenRequestErrorCode;
  /** Detail from the server (sanitized) or from the client. */
  readonly error_description: string | undefined;
  /** HTTP status of the token endpoint's last answer; `undefined` for `network_error` and `timeout`. */
  readonly status: number | undefined;
  /**
   * The `Retry-After` of the server's last answer, in seconds, if it sent one. The client waits
   * up to 30 s by itself; when the server asks for longer, it gives up at once and leaves the
   * scheduling to the caller.
   */
  readonly retryAfter: number | undefined;

  constructor(init: TokenRequestErrorInit) {
    super(formatMessage(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.error = init.error;
    this.error_description = init.error_description;
    this.status = init.status;
    this.retryAfter = init.retryAfter;
  }

  /** A plain object for logs: code, description, status and message, nothing else. */
  toJSON(): {
    name: string;
    message: string;
    error: string;
    error_description?: string;
    status?: number;
    retryAfter?: number;
  } {
    return {
      name: this.name,
      message: this.message,
      error: this.error,
      ...(this.error_description !== undefined && { error_description: this.error_description }),
      ...(this.status !== undefined && { status: this.status }),
      ...(this.retryAfter !== undefined && { retryAfter: this.retryAfter }),
    };
  }
}

// On the prototype rather than as an own field, so util.inspect does not list it as an extra property.
Object.defineProperty(TokenRequestError.prototype, 'name', {
  value: 'TokenRequestError',
  writable: true,
  enumerable: false,
  configurable: true,
});

function formatMessage({ error, error_description: description, status }: TokenRequestErrorInit): string {
  let message = `token request failed: ${error}`;
  if (status !== undefined) message += ` (HTTP ${status})`;
  if (description !== undefined && description !== '') message += `: ${description}`;
  return message;
}
