import { m2mErrorHandler } from '../../../src/index.js';

/** A structured logger: pino's `logger.warn.bind(logger)`, or `(entry) => console.log(JSON.stringify(entry))`. */
export type Log = (entry: Record<string, unknown>) => void;

/**
 * `m2mErrorHandler` that logs each refusal: why (`reason`), which claim check failed (`details`),
 * and for a 503 what was unreachable. Never the Authorization header, the token or the query string
 * (a token may travel as `access_token` there).
 */
export function loggingErrorHandler(log: Log) {
  return m2mErrorHandler({
    onError(error, req) {
      log({
        msg: 'request refused by express-m2m',
        method: req.method,
        path: (req.originalUrl ?? req.url ?? '').split('?')[0],
        status: error.status,
        reason: error.reason,
        details: error.details,
        clientId: req.auth?.clientId,
        cause: error.status === 503 && error.cause instanceof Error ? error.cause.message : undefined,
      });
    },
  });
}
