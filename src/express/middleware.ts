/**
 * `requireM2M`: the Express layer over the verifier. Reads the request into a
 * {@link RequestContext}, verifies the token, sets `req.auth`, and hands every failure to
 * `next(err)`.
 *
 * @module
 */
import type { M2MAuth } from '../auth.js';
import { extractAccessToken, type TokenLocation } from '../bearer.js';
import { OptionProblems } from '../options/readers.js';
import { resolveOptions } from '../options/resolve.js';
import type { RequireM2MOptions } from '../options/types.js';
import { Refusal } from '../refusal.js';
import { Verifier, type TokenVerifier } from '../verifier.js';
import { rememberAuth } from './auth-registry.js';
import { headerValues, RequestContext } from './request-context.js';
import { setRealm } from './request.js';
import type { M2MMiddleware, M2MNext, M2MRequest, M2MResponse } from './types.js';

/** The middleware returned by {@link requireM2M}. */
export interface RequireM2MHandler extends M2MMiddleware {
  /** The verifier in use. */
  readonly verifier: TokenVerifier;
  /** Resolves after discovery and the first JWKS fetch; rejects with a clear message when an issuer is unreachable or misconfigured. */
  ready(): Promise<void>;
  /** Where this middleware reads tokens (RFC 6750 §2), as advertised by the protected resource metadata. */
  readonly tokenLocations: readonly TokenLocation[];
}

const LOCATIONS: readonly TokenLocation[] = ['header', 'query', 'body'];

/**
 * Express middleware that only lets requests with a valid M2M access token through.
 *
 * Options fall back to the `ISSUER_BASE_URL`, `ISSUER`, `JWKS_URI`, `AUDIENCE` and `SECRET`
 * environment variables. On success `req.auth` holds the verified caller; on failure
 * `next(err)` receives an {@link InvalidRequestError}, {@link UnauthorizedError},
 * {@link InvalidTokenError}, {@link InvalidDPoPProofError}, {@link UseDPoPNonceError},
 * {@link InsufficientScopeError} or {@link ServiceUnavailableError}, each with a `reason`.
 *
 * @example
 * app.use(requireM2M({ issuerBaseURL: 'https://tenant.example.com', audience: 'https://api.example.com' }));
 * @throws TypeError at once, listing every missing or invalid option.
 */
export function requireM2M(options: RequireM2MOptions = {}): RequireM2MHandler {
  const { authRequired, tokenLocations, ...verifierOptions } = options ?? {};
  const problems = new OptionProblems('requireM2M');
  const required = problems.boolean(authRequired, 'authRequired', true);
  const locations = readLocations(problems, tokenLocations);
  let verifier: Verifier | undefined;
  try {
    verifier = new Verifier(resolveOptions(verifierOptions, process.env, 'requireM2M'));
  } catch (error) {
    if (problems.ok) throw error;
    // Report the middleware's own problems together with the verifier's.
    problems.add((error as Error).message.replace(/^express-m2m: requireM2M: /, ''));
  }
  problems.throwIfAny();
  return middlewareFor(verifier as Verifier, required, locations);
}

/**
 * The middleware around a built verifier (what {@link requireM2M} returns once its options are
 * read; tests build it around a verifier with their own clock).
 */
export function middlewareFor(
  checked: Verifier,
  required: boolean,
  locations: readonly TokenLocation[],
): RequireM2MHandler {
  const { realm } = checked;
  const readsQuery = locations.includes('query');
  const readsBody = locations.includes('body');
  const acceptsDPoP = checked.options.dpop.mode !== 'off';

  const handler = (req: M2MRequest, res: M2MResponse, next: M2MNext): void => {
    let extracted;
    try {
      extracted = extractAccessToken(
        {
          authorization: headerValues(req, 'authorization'),
          query: readsQuery ? req.query : undefined,
          body: readsBody ? req.body : undefined,
          contentType: readsBody ? req.headers['content-type'] : undefined,
        },
        locations,
        acceptsDPoP,
      );
    } catch (error) {
      next(checked.httpError(error, attempted(req, checked)));
      return;
    }
    if (extracted === undefined) {
      if (required) {
        next(checked.httpError(new Refusal('missing_token', 'authentication required'), attempted(req, checked)));
      } else {
        // Guards after an optional requireM2M answer 401 with this realm.
        setRealm(req, realm);
        next();
      }
      return;
    }
    const context = new RequestContext(req, extracted.scheme, checked.options);
    let result: M2MAuth | Promise<M2MAuth>;
    try {
      result = checked.verifyNow(extracted.token, context);
    } catch (error) {
      next(error);
      return;
    }
    if (!(result instanceof Promise)) {
      // Hot path: a cached token needs no promise.
      admit(req, res, result, context, realm);
      next();
      return;
    }
    result.then((auth) => {
      admit(req, res, auth, context, realm);
      next();
    }, next);
  };

  return Object.assign(handler, {
    verifier: checked,
    ready: () => checked.ready(),
    tokenLocations: Object.freeze([...locations]),
  });
}

/**
 * What a request without a usable token attempted, so its challenge is `DPoP` when it used that
 * scheme or sent a `DPoP` header (RFC 9449 §7.1).
 */
function attempted(req: M2MRequest, verifier: Verifier): RequestContext {
  const scheme = /^\s*dpop(?:\s|$)/i.test(req.headers.authorization ?? '') ? 'DPoP' : 'Bearer';
  return new RequestContext(req, scheme, verifier.options);
}

function admit(req: M2MRequest, res: M2MResponse, auth: M2MAuth, context: RequestContext, realm: string): void {
  rememberAuth(auth, realm);
  req.auth = auth;
  const headers = context.responseHeaders;
  if (headers !== undefined) for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
}

function readLocations(problems: OptionProblems, value: unknown): readonly TokenLocation[] {
  if (value === undefined) return ['header'];
  if (!Array.isArray(value) || value.length === 0 || !value.every((l) => LOCATIONS.includes(l))) {
    problems.add("`tokenLocations` must be a non-empty array of 'header', 'query', 'body'");
    return ['header'];
  }
  return [...new Set(value as TokenLocation[])];
}
