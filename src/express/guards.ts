/**
 * Route guards that run after `requireM2M`: scopes, calling client, and arbitrary claims.
 * Each fails closed: without a `req.auth` produced by `requireM2M`, the request gets a 401.
 *
 * @module
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { JWTPayload } from 'jose';
import { InsufficientScopeError, UnauthorizedError, type M2MError } from '../errors.js';
import { isVerifiedAuth, realmOfAuth, type M2MAuth } from '../verifier.js';
import { realmOf } from './request.js';

/** RFC 6749 §3.3 `scope-token`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** A claim predicate for {@link requireClaim}. */
export type ClaimPredicate = (value: unknown, payload: Readonly<JWTPayload>) => boolean;

/** A JSON value, as a claim may hold. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * Requires every one of `scopes` (strings, or one array). A missing scope is 403
 * `insufficient_scope` with `scope="<required scopes>"` in `WWW-Authenticate`.
 */
export function requireScopes(...scopes: string[] | [readonly string[]]): RequestHandler {
  const required = scopeList('requireScopes', scopes);
  return guard(
    (auth) => required.every((scope) => auth.scopes.includes(scope)),
    (realm) => new InsufficientScopeError('missing required scope', { realm, scope: required }),
  );
}

/** Requires at least one of `scopes` (strings, or one array). */
export function requireAnyScope(...scopes: string[] | [readonly string[]]): RequestHandler {
  const accepted = scopeList('requireAnyScope', scopes);
  return guard(
    (auth) => accepted.some((scope) => auth.scopes.includes(scope)),
    (realm) => new InsufficientScopeError('missing required scope', { realm, scope: accepted }),
  );
}

/** Only lets these calling applications (by `req.auth.clientId`) through; others get 403. */
export function requireClient(...clientIds: string[] | [readonly string[]]): RequestHandler {
  const allowed = stringList('requireClient', clientIds);
  return guard(
    (auth) => allowed.includes(auth.clientId),
    (realm) => new InsufficientScopeError('client not allowed', { realm }),
  );
}

/**
 * Requires a claim to match. `expected` is a JSON value compared by deep equality (for an
 * array-valued claim, a scalar `expected` must be one of its elements), or a predicate
 * `(value, payload) => boolean`. A mismatch, or a predicate that throws, is 403.
 */
export function requireClaim(name: string, expected: JsonValue | ClaimPredicate): RequestHandler {
  if (typeof name !== 'string' || name === '') throw new TypeError('express-m2m: requireClaim needs a claim name');
  if (expected === undefined) throw new TypeError('express-m2m: requireClaim needs an expected value or predicate');
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
    (realm) => new InsufficientScopeError('required claim not satisfied', { realm }),
  );
}

/**
 * A guard: `passes` decides, `refuse` builds the 403 (only when needed, with the realm of the
 * `requireM2M` that verified the token). Without a verified `req.auth`, 401.
 */
function guard(passes: (auth: M2MAuth) => boolean, refuse: (realm: string | undefined) => M2MError): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const { auth } = req;
    if (!isVerifiedAuth(auth)) {
      next(new UnauthorizedError('authentication required', { realm: realmOf(req) }));
      return;
    }
    if (passes(auth)) next();
    else next(refuse(realmOfAuth(auth)));
  };
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
