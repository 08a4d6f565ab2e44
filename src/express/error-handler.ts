/**
 * `m2mErrorHandler`: renders this package's errors as RFC 6750 responses.
 *
 * @module
 */
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import { isM2MError, type M2MError } from '../errors.js';

/** Options of {@link m2mErrorHandler}. */
export interface M2MErrorHandlerOptions {
  /** Called with each error rendered (for logs or metrics). Must not throw; never receives the token. */
  onError?: (error: M2MError, req: Request) => void;
}

/**
 * Express error handler: answers this package's errors with their status, `WWW-Authenticate`
 * (and `Retry-After`) headers and an `application/json` body
 * `{ "error": code, "error_description": text }` (`"unauthorized"` when no token was sent).
 * Any other error passes on to `next(err)`.
 */
export function m2mErrorHandler(options: M2MErrorHandlerOptions = {}): ErrorRequestHandler {
  const { onError } = options;
  return function m2mErrorHandler(error: unknown, req: Request, res: Response, next: NextFunction): void {
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
    res.status(error.status).set(error.headers).json(error.toJSON());
  };
}
