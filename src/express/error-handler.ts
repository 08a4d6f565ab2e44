/**
 * `m2mErrorHandler`: renders this package's errors as RFC 6750 responses.
 *
 * @module
 */
import { isM2MError, type M2MError } from '../errors.js';
import { OptionProblems } from '../options/readers.js';
import type { M2MErrorMiddleware, M2MNext, M2MRequest, M2MResponse } from './types.js';

/** Options of {@link m2mErrorHandler}. */
export interface M2MErrorHandlerOptions {
  /**
   * Called with each error rendered, for logs and metrics: `err.reason` says exactly why,
   * `err.details` which claim check failed. Must not throw; never receives the token, and
   * nothing it sees is sent to the client.
   */
  onError?(error: M2MError, req: M2MRequest): void;
}

/**
 * Express error handler: answers this package's errors with their status, `WWW-Authenticate`
 * (and `Retry-After`) headers and an `application/json` body
 * `{ "error": code, "error_description": text }` (`"unauthorized"` when no token was sent).
 * Any other error passes on to `next(err)`.
 */
export function m2mErrorHandler(options: M2MErrorHandlerOptions = {}): M2MErrorMiddleware {
  const problems = new OptionProblems('m2mErrorHandler');
  const config = problems.object(options, 'options') ?? {};
  problems.unknownKeys(config, ['onError']);
  const onError = problems.function<M2MErrorHandlerOptions['onError']>(config.onError, 'onError');
  problems.throwIfAny();
  return function m2mErrorHandler(error: unknown, req: M2MRequest, res: M2MResponse, next: M2MNext): void {
    if (!isM2MError(error) || res.headersSent) {
      next(error);
      return;
    }
    if (onError !== undefined) {
      try {
        onError(error, req);
      } catch {
        // A logging hook must not turn an RFC 6750 answer into a 500.
      }
    }
    res.statusCode = error.status;
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(error.toJSON()));
  };
}
