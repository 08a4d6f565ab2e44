/**
 * `requireM2M`: the Express layer over the verifier. Extracts the token, verifies it, sets
 * `req.auth`, and hands every failure to `next(err)`.
 *
 * @module
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { extractBearerToken, type TokenLocation } from '../bearer.js';
import { UnauthorizedError } from '../errors.js';
import { resolveOptions, type RequireM2MOptions } from '../options.js';
import { Verifier, type M2MAuth, type TokenVerifier } from '../verifier.js';
import { setRealm } from './request.js';

/** The middleware returned by {@link requireM2M}. */
export interface RequireM2MHandler extends RequestHandler {
  /** The verifier in use. */
  readonly verifier: TokenVerifier;
  /** Resolves after discovery and the first JWKS fetch; rejects with a clear message when the issuer is unreachable or misconfigured. */
  ready(): Promise<void>;
}

const LOCATIONS: readonly TokenLocation[] = ['header', 'query', 'body'];

/**
 * Express middleware that only lets requests with a valid M2M access token through.
 *
 * Options fall back to the `ISSUER_BASE_URL`, `ISSUER`, `JWKS_URI`, `AUDIENCE` and `SECRET`
 * environment variables. On success `req.auth` holds the verified caller; on failure
 * `next(err)` receives an {@link InvalidRequestError}, {@link UnauthorizedError},
 * {@link InvalidTokenError}, {@link InsufficientScopeError} or {@link ServiceUnavailableError}.
 *
 * @throws TypeError at once when the configuration is incomplete or invalid.
 */
export function requireM2M(options: RequireM2MOptions = {}): RequireM2MHandler {
  const { authRequired = true, tokenLocations = ['header'], ...verifierOptions } = options;
  if (
    !Array.isArray(tokenLocations) ||
    tokenLocations.length === 0 ||
    !tokenLocations.every((l) => LOCATIONS.includes(l))
  ) {
    throw new TypeError("express-m2m: `tokenLocations` must be a non-empty array of 'header', 'query', 'body'");
  }
  const locations = [...new Set(tokenLocations)] as readonly TokenLocation[];
  const readsQuery = locations.includes('query');
  const readsBody = locations.includes('body');
  const verifier = new Verifier(resolveOptions(verifierOptions));
  const { realm } = verifier;

  const handler = (req: Request, _res: Response, next: NextFunction): void => {
    let token: string | undefined;
    try {
      token = extractBearerToken(
        {
          authorization: authorizationHeaders(req),
          query: readsQuery ? req.query : undefined,
          body: readsBody ? req.body : undefined,
          contentType: readsBody ? req.headers['content-type'] : undefined,
        },
        locations,
        realm,
      );
    } catch (error) {
      next(error);
      return;
    }
    if (token === undefined) {
      if (authRequired) {
        next(new UnauthorizedError('authentication required', { realm }));
      } else {
        // Guards after an optional requireM2M answer 401 with this realm.
        setRealm(req, realm);
        next();
      }
      return;
    }
    let result: M2MAuth | Promise<M2MAuth>;
    try {
      result = verifier.verifyNow(token);
    } catch (error) {
      next(error);
      return;
    }
    if (!(result instanceof Promise)) {
      // Hot path: a cached token needs no promise.
      req.auth = result;
      next();
      return;
    }
    result.then((auth) => {
      req.auth = auth;
      next();
    }, next);
  };

  return Object.assign(handler, { verifier, ready: () => verifier.ready() });
}

const AUTHORIZATION = 'authorization';

/**
 * The request's `Authorization` header, or all of them when it was sent more than once: Node
 * keeps only the first in `req.headers`, so repeats are counted in `rawHeaders` (cheaper than
 * building `req.headersDistinct` for every request).
 */
function authorizationHeaders(req: Request): string | string[] | undefined {
  const first = req.headers.authorization;
  if (first === undefined) return undefined;
  const raw = req.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (isAuthorization(raw[i] as string)) count++;
  if (count <= 1) return first;
  return raw.filter((_value, i) => i % 2 === 1 && isAuthorization(raw[i - 1] as string));
}

function isAuthorization(name: string): boolean {
  return name.length === AUTHORIZATION.length && name.toLowerCase() === AUTHORIZATION;
}
