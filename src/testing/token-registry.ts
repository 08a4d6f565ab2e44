import { createHash, randomBytes } from 'node:crypto';
import {
  createLocalJWKSet,
  decodeJwt,
  jwtVerify,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTPayload,
} from 'jose';
import { SYMMETRIC_ALGORITHMS } from '../algorithms.js';
import { ASSERTION_ALGORITHMS } from './client-auth.js';
import { ExpiringSet } from './expiring-set.js';
import type { KeyStore } from './keys.js';

/** What the registry needs from its issuer to recognise the JWTs it signed. */
export interface TokenRegistryContext {
  readonly keys: KeyStore;
  /** The issuer's shared secret (for HS*), if configured. */
  readonly secret: Uint8Array | undefined;
}

/** Remembered long enough for any test run when a token has no `exp`. */
const FOREVER = Number.POSITIVE_INFINITY;

function fingerprint(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

function expiryOf(claims: Record<string, unknown>): number {
  return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp : FOREVER;
}

/** Whether `claims` are inside their validity window now (`exp`, `nbf`). */
function current(claims: Record<string, unknown>, now: number): boolean {
  if (typeof claims.exp === 'number' && claims.exp <= now) return false;
  if (typeof claims.nbf === 'number' && claims.nbf > now) return false;
  return true;
}

/**
 * What the issuer knows about tokens after handing them out: the claims behind opaque
 * tokens, and which tokens were revoked. JWTs are recognised by their signature (a key the
 * issuer still publishes, or its shared secret), so minting many JWTs costs no memory.
 */
export class TokenRegistry {
  readonly #ctx: TokenRegistryContext;
  readonly #opaque = new Map<string, Readonly<Record<string, unknown>>>();
  readonly #revoked = new ExpiringSet();
  #lastSweep = 0;

  constructor(ctx: TokenRegistryContext) {
    this.#ctx = ctx;
  }

  /** Stores `claims` behind a new random opaque token (no dots: never mistaken for a JWT). */
  issueOpaque(claims: Record<string, unknown>): string {
    const now = ExpiringSet.now();
    // Expired opaque tokens can never be active again: sweep them, at most once a second.
    if (now - this.#lastSweep >= 1) {
      this.#lastSweep = now;
      for (const [token, stored] of this.#opaque) if (expiryOf(stored) <= now) this.#opaque.delete(token);
    }
    const token = randomBytes(32).toString('base64url');
    this.#opaque.set(token, Object.freeze(structuredClone(claims)));
    return token;
  }

  /** Revokes a JWT or opaque token; introspection then answers inactive. Unknown strings are ignored. */
  revoke(token: string): void {
    const opaque = this.#opaque.get(token);
    let expiresAt = FOREVER;
    if (opaque) {
      expiresAt = expiryOf(opaque);
    } else {
      try {
        expiresAt = expiryOf(decodeJwt(token));
      } catch {
        // Not a JWT we could read: remember it until the end of the run, like a token without exp.
      }
    }
    this.#revoked.add(fingerprint(token), expiresAt);
  }

  /**
   * The claims of `token` when it is active: issued here (a JWT signed with a key the issuer
   * publishes or with its secret, or a stored opaque token), not revoked, not expired and
   * already valid (`nbf`). `undefined` otherwise.
   */
  async activeClaims(token: string): Promise<Record<string, unknown> | undefined> {
    if (this.#revoked.has(fingerprint(token))) return undefined;
    const now = ExpiringSet.now();
    const opaque = this.#opaque.get(token);
    if (opaque) return current(opaque, now) ? { ...opaque } : undefined;
    const claims = await this.#verifiedJwt(token);
    return claims && current(claims, now) ? claims : undefined;
  }

  async #verifiedJwt(token: string): Promise<JWTPayload | undefined> {
    const { keys, secret } = this.#ctx;
    const jwks = createLocalJWKSet(keys.publicJwks());
    const symmetric: readonly string[] = SYMMETRIC_ALGORITHMS;
    const keyFor = (header: JWSHeaderParameters, input: FlattenedJWSInput) =>
      symmetric.includes(header.alg ?? '') && secret ? secret : jwks(header, input);
    try {
      const { payload } = await jwtVerify(token, keyFor, {
        algorithms: secret ? [...ASSERTION_ALGORITHMS, ...symmetric] : [...ASSERTION_ALGORITHMS],
      });
      return payload;
    } catch {
      return undefined;
    }
  }
}
