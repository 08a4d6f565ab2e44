/**
 * Route guards that run after `requireM2M`: scopes, calling client, and arbitrary claims.
 * Each fails closed: without a `req.auth` produced by `requireM2M`, the request gets a 401.
 *
 * @module
 */
import type { JWTPayload } from 'jose';
import type { M2MAuth } from '../auth.js';
import { InsufficientScopeError, UnauthorizedError, type M2MError } from '../errors.js';
import { NQCHAR, runOf } from '../syntax.js';
import { isVerifiedAuth, realmOfAuth } from './auth-registry.js';
import { realmOf } from './request.js';
import type { M2MMiddleware, M2MNext, M2MRequest } from './types.js';

/** RFC 6749 §3.3 `scope-token`. */
const SCOPE_TOKEN = runOf(NQCHAR, 1);

/** A claim predicate for {@link requireClaim}. */
export type ClaimPredicate = (value: unknown, payload: Readonly<JWTPayload>) => boolean;

/** A JSON value, as a claim may hold. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * Requires every one of `scopes` (strings, or one array). A missing scope is 403
 * `insufficient_scope` with `scope="<required scopes>"` in `WWW-Authenticate`.
 */
export function requireScopes(...scopes: string[] | [readonly string[]]): M2MMiddleware {
  const required = scopeList('requireScopes', scopes);
  return guard(
    (auth) => required.every((scope) => auth.scopes.includes(scope)),
    (realm, auth) =>
      new InsufficientScopeError('missing required scope', {
        realm,
        scope: required,
        reason: 'insufficient_scope',
        details: { claim: 'scope', expected: required, actual: auth.scopes },
      }),
  );
}

/** Requires at least one of `scopes` (strings, or one array). */
export function requireAnyScope(...scopes: string[] | [readonly string[]]): M2MMiddleware {
  const accepted = scopeList('requireAnyScope', scopes);
  return guard(
    (auth) => accepted.some((scope) => auth.scopes.includes(scope)),
    (realm, auth) =>
      new InsufficientScopeError('missing required scope', {
        realm,
        scope: accepted,
        reason: 'insufficient_scope',
        details: { claim: 'scope', expected: accepted, actual: auth.scopes },
      }),
  );
}

/** Only lets these calling applications (by `req.auth.clientId`) through; others get 403. */
export function requireClient(...clientIds: string[] | [readonly string[]]): M2MMiddleware {
  const allowed = stringList('requireClient', clientIds);
  return guard(
    (auth) => allowed.includes(auth.clientId),
    (realm, auth) =>
      new InsufficientScopeError('client not allowed', {
        realm,
        reason: 'client_not_allowed',
        details: { claim: 'client_id', expected: allowed, actual: auth.clientId },
      }),
  );
}

/**
 * Requires a claim to match. `expected` is a JSON value compared by deep equality (for an
 * array-valued claim, a scalar `expected` must be one of its elements), or a predicate
 * `(value, payload) => boolean`. A mismatch, or a predicate that throws, is 403.
 */
export function requireClaim(name: string, expected: JsonValue | ClaimPredicate, ...extra: never[]): M2MMiddleware {
  if (typeof name !== 'string' || name === '') throw new TypeError('express-m2m: requireClaim needs a claim name');
  if (expected === undefined) throw new TypeError('express-m2m: requireClaim needs an expected value or predicate');
  if (extra.length > 0) {
    throw new TypeError(
      'express-m2m: requireClaim takes one expected value; to accept any of several, pass a predicate: ' +
        "requireClaim('roles', (value) => Array.isArray(value) && value.some((v) => ['ops', 'admin'].includes(v)))",
    );
  }
  const matches: ClaimPredicate =
    typeof expected === 'function'
      ? expected
      : (value) =>
          Array.isArray(value) && !Array.isArray(expected)
            ? value.some((item) => deepEqual(item, expected))
            : deepEqual(value, expected);
  return guard(
    (auth) => {
      try {
        return matches(Object.hasOwn(auth.payload, name) ? auth.payload[name] : undefined, auth.payload) === true;
      } catch {
        return false;
      }
    },
    (realm, auth) =>
      new InsufficientScopeError('required claim not satisfied', {
        realm,
        reason: 'claim_not_satisfied',
        details: {
          claim: name,
          expected: typeof expected === 'function' ? '(predicate)' : expected,
          actual: Object.hasOwn(auth.payload, name) ? auth.payload[name] : undefined,
        },
      }),
  );
}

/**
 * A guard: `passes` decides, `refuse` builds the 403 (only when needed, with the realm of the
 * `requireM2M` that verified the token). Without a verified `req.auth`, 401.
 */
function guard(
  passes: (auth: M2MAuth) => boolean,
  refuse: (realm: string | undefined, auth: M2MAuth) => M2MError,
): M2MMiddleware {
  return (req: M2MRequest, _res: unknown, next: M2MNext): void => {
    const { auth } = req;
    if (!isVerifiedAuth(auth)) {
      const realm = realmOf(req);
      if (realm === undefined) warnGuardWithoutRequireM2M();
      next(new UnauthorizedError('authentication required', { realm }));
      return;
    }
    if (passes(auth)) next();
    else next(refuse(realmOfAuth(auth), auth));
  };
}

let warnedWithoutRequireM2M = false;

/** A guard on a route that `requireM2M` never ran for is a server bug: say so once, besides the 401. */
function warnGuardWithoutRequireM2M(): void {
  if (warnedWithoutRequireM2M) return;
  warnedWithoutRequireM2M = true;
  process.emitWarning(
    'a route guard (requireScopes, requireAnyScope, requireClient or requireClaim) ran without requireM2M before it; the request was answered 401. Put app.use(requireM2M()) (or requireM2M on the route) before the guard.',
    { type: 'ExpressM2MWarning', code: 'EXPRESS_M2M_GUARD_WITHOUT_AUTH' },
  );
}

function stringList(guardName: string, values: string[] | [readonly string[]]): readonly string[] {
  const list =
    values.length === 1 && Array.isArray(values[0]) ? (values[0] as readonly string[]) : (values as string[]);
  if (list.length === 0 || !list.every((value) => typeof value === 'string' && value !== '')) {
    throw new TypeError(`express-m2m: ${guardName} needs one or more non-empty strings`);
  }
  return Object.freeze([...new Set(list)]);
}

function scopeList(guardName: string, values: string[] | [readonly string[]]): readonly string[] {
  const list = stringList(guardName, values);
  const spaced = list.find((scope) => scope.trim().includes(' '));
  if (spaced !== undefined) {
    const parts = spaced
      .trim()
      .split(/ +/)
      .map((scope) => `'${scope}'`);
    throw new TypeError(
      `express-m2m: ${guardName}: pass scopes as separate arguments: ${guardName}(${parts.join(', ')}), not one space-separated string`,
    );
  }
  if (!list.every((scope) => SCOPE_TOKEN.test(scope))) {
    throw new TypeError(`express-m2m: ${guardName}: a scope is printable ASCII without spaces, quotes or backslashes`);
  }
  return list;
}

/** Structural equality of JSON values. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, index) => deepEqual(item, other[index]));
  }
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  return (
    aKeys.length === bKeys.length &&
    aKeys.every(
      (key) =>
        Object.hasOwn(b, key) && deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
    )
  );
}
