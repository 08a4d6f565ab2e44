/**
 * Checking a parsed JWT against the issuer chosen for it: the issuer's algorithms, its key
 * (known at once, or fetched), the signature and the claims set. Shared by access tokens and
 * by RFC 9701 signed introspection answers, which are verified against the same keys.
 *
 * @module
 */
import type { JWTPayload } from 'jose';
import { refusalFor } from '../jose-errors.js';
import type { ClaimsSetOptions } from '../jwt/claims-set.js';
import type { ParsedCompact } from '../jwt/compact.js';
import { KeySetUnavailableError, type VerificationKey } from '../keys/jwks-cache.js';
import { Refusal } from '../refusal.js';
import { checkSignedJwt } from '../jwt/verify.js';
import type { IssuerContext } from './context.js';

/** A JWT whose signature and claims set passed. */
export interface CheckedJwt {
  key: VerificationKey;
  /** When the key set the key came from was fetched (ms): a result must not outlive that key set. */
  keySetFetchedAt: number | undefined;
  /** The time (ms) the claims were checked at. */
  nowMs: number;
}

/**
 * Verifies `parsed` with `context`'s keys and the claims rules `claimsFor(context)` gives.
 *
 * @param now - the clock (ms).
 * @throws {@link Refusal} (synchronously or through the promise): `alg_not_allowed`, `keys_unavailable`
 *   (503), `unexpected_issuer` while the issuer is unknown, or jose's failures translated.
 */
export function checkWithIssuer(
  parsed: ParsedCompact,
  payload: JWTPayload,
  context: IssuerContext,
  claimsFor: (context: IssuerContext) => ClaimsSetOptions | undefined,
  now: () => number,
  offThread: boolean,
): CheckedJwt | Promise<CheckedJwt> {
  const { header } = parsed;
  if (!context.spec.algorithms.includes(header.alg as never)) {
    throw new Refusal('alg_not_allowed', 'algorithm not allowed', {
      details: { claim: 'alg', expected: context.spec.algorithms, actual: header.alg },
    });
  }
  const withKey = (key: VerificationKey): CheckedJwt | Promise<CheckedJwt> => {
    const nowMs = now();
    // Read before the signature check: a refresh meanwhile must not extend the result's life.
    const keySetFetchedAt = context.keys.fetchedAt;
    const claims = claimsFor(context);
    // Fail closed: without a known issuer there is nothing to compare `iss` with.
    if (claims === undefined) throw new Refusal('unexpected_issuer', 'unexpected issuer');
    const translate = (error: unknown): Refusal =>
      refusalFor(error, { iss: claims.issuer, aud: claims.audience, typ: claims.typ });
    let checked: void | Promise<void>;
    try {
      checked = checkSignedJwt(parsed, payload, key, claims, Math.floor(nowMs / 1000), offThread);
    } catch (error) {
      throw translate(error);
    }
    const result: CheckedJwt = { key, keySetFetchedAt, nowMs };
    if (checked === undefined) return result;
    return checked.then(
      () => result,
      (error: unknown) => {
        throw translate(error);
      },
    );
  };
  const known = context.keys.peekKey(header.alg, header.kid);
  if (known !== undefined) return withKey(known);
  return context.keys.getKey(header).then(withKey, (error: unknown) => {
    if (error instanceof KeySetUnavailableError) {
      throw new Refusal('keys_unavailable', 'signing keys are temporarily unavailable', {
        retryAfter: context.spec.jwks.cooldown,
        cause: error,
      });
    }
    throw refusalFor(error);
  });
}
