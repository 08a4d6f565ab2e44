/**
 * Token introspection for one verifier (RFC 7662): which tokens are introspected, the answer
 * cache, and the order in which issuers are asked.
 *
 * - An opaque token (anything that is not three base64url parts with a JSON header) is sent
 *   to each issuer that has `introspection`, in the configured order, until one answers
 *   `active: true`; the answer's claims then go through the same rules as a JWT's (the
 *   verifier's `accept`). Every answer inactive: 401. Any endpoint unusable and none active:
 *   503, since the token may be active there (never "inactive").
 * - With `mode: 'always'`, a JWT that passed its own checks must also be active at its issuer.
 *
 * Answers are cached under the SHA-256 of the token (the whole token: a token sharing
 * another's prefix or suffix never finds its entry; the token itself is never a key): an active
 * one for at most `cacheMaxAge` and never past its `exp`, an inactive one for 5 s; failures are
 * not cached. Concurrent introspections of one token share one request.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { JWTHeaderParameters, JWTPayload } from 'jose';
import type { IssuerContext } from '../issuers/context.js';
import { refusalFor } from '../jose-errors.js';
import { validateClaimsSet } from '../jwt/claims-set.js';
import { decodeJsonObject } from '../jwt/compact.js';
import { Refusal } from '../refusal.js';
import type { VerifiedToken } from '../sender-constraint.js';
import { TokenCache } from '../token-cache.js';
import { IntrospectionClient } from './client.js';
import { IntrospectionUnavailableError } from './response.js';

/** The header of an introspected token: there is none. */
export const NO_HEADER: JWTHeaderParameters = Object.freeze({}) as JWTHeaderParameters;

/**
 * Builds the verified result for an active answer's claims once they passed a JWT's claim
 * rules (the verifier's policy); throws a {@link Refusal}.
 */
export type AcceptIntrospected = (
  token: string,
  claims: JWTPayload,
  context: IssuerContext,
  nowMs: number,
) => VerifiedToken;

/** A cached answer. `verified` is filled in by the first request that passes the policy with it. */
interface Outcome {
  readonly active: boolean;
  readonly context?: IssuerContext;
  readonly claims?: JWTPayload;
  verified?: VerifiedToken;
}

/** How long an inactive answer is reused (ms): long enough to absorb a flood, short enough for a new token. */
export const INACTIVE_TTL_MS = 5_000;
/** Seconds a client is told to wait after an unusable answer. */
const RETRY_AFTER = 5;
const CACHE_MAX_ENTRIES = 10_000;
const CACHE_MAX_BYTES = 32 * 1024 * 1024;
const BASE64URL_PART = /^[A-Za-z0-9_-]+$/;

/** True when `token` is not a JWT: not three base64url parts whose first is a JSON object. */
export function isOpaqueToken(token: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL_PART.test(part))) return true;
  return decodeJsonObject(parts[0] as string) === undefined;
}

/** SHA-256 of the token, base64url: the only form of a token the answer cache holds as a key. */
function cacheKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function inactive(): Refusal {
  return new Refusal('revoked', 'token is not active');
}

function unavailable(cause: unknown): Refusal {
  return new Refusal('keys_unavailable', 'token introspection is temporarily unavailable', {
    retryAfter: RETRY_AFTER,
    cause,
  });
}

/** The introspection of one verifier. */
export class Introspection {
  private readonly cache = new TokenCache<Outcome>(CACHE_MAX_ENTRIES, CACHE_MAX_BYTES);
  private readonly pending = new Map<string, Promise<Outcome>>();
  private readonly clients = new WeakMap<IssuerContext, IntrospectionClient>();
  /** The listed issuers with introspection, in order: those asked about opaque tokens. */
  private readonly opaqueIssuers: readonly IssuerContext[];

  constructor(
    listed: readonly IssuerContext[],
    private readonly accept: AcceptIntrospected,
    private readonly now: () => number,
  ) {
    this.opaqueIssuers = listed.filter((context) => context.spec.introspection !== undefined);
  }

  /** True when opaque tokens can be introspected (some listed issuer has `introspection`). */
  get handlesOpaque(): boolean {
    return this.opaqueIssuers.length > 0;
  }

  /**
   * Verifies an opaque token through introspection.
   *
   * @param nowMs - the current time (ms).
   * @throws {@link Refusal}: `revoked` (inactive, 401), `keys_unavailable` (503), or the policy's.
   */
  verifyOpaque(token: string, nowMs: number): VerifiedToken | Promise<VerifiedToken> {
    const key = cacheKey(token);
    const cached = this.cache.get(key, nowMs);
    if (cached !== undefined) return this.settle(cached, token, nowMs);
    return this.shared(key, token, () => this.askInTurn(token)).then((outcome) =>
      this.settle(outcome, token, this.now()),
    );
  }

  /**
   * With `mode: 'always'` at `context`, requires a verified JWT to be active there too.
   *
   * @throws {@link Refusal} `revoked` (inactive) or `keys_unavailable` (503).
   */
  checkActive(token: string, context: IssuerContext, nowMs: number): void | Promise<void> {
    const key = cacheKey(token);
    const cached = this.cache.get(key, nowMs);
    if (cached !== undefined) {
      if (!cached.active) throw inactive();
      return;
    }
    return this.shared(key, token, () => this.askOne(context, token)).then((outcome) => {
      if (!outcome.active) throw inactive();
    });
  }

  private settle(outcome: Outcome, token: string, nowMs: number): VerifiedToken {
    if (!outcome.active) throw inactive();
    // Refusals are not kept: time-dependent rules (`nbf`, `iat`) may pass later.
    outcome.verified ??= this.acceptClaims(
      token,
      outcome.claims as JWTPayload,
      outcome.context as IssuerContext,
      nowMs,
    );
    return outcome.verified;
  }

  /** A JWT's claim rules (`iss`, `aud`, time claims), without the header ones (`typ`, the strict profile), then the policy. */
  private acceptClaims(token: string, claims: JWTPayload, context: IssuerContext, nowMs: number): VerifiedToken {
    const rules = context.claimsOptions();
    if (rules === undefined) throw new Refusal('unexpected_issuer', 'unexpected issuer');
    try {
      validateClaimsSet(
        NO_HEADER,
        claims,
        { ...rules, typ: undefined, requiredClaims: ['exp'] },
        Math.floor(nowMs / 1000),
      );
    } catch (error) {
      throw refusalFor(error, { iss: rules.issuer, aud: rules.audience });
    }
    return this.accept(token, claims, context, nowMs);
  }

  /** One introspection per token at a time; the outcome (not a failure) is cached when it arrives. */
  private shared(key: string, token: string, ask: () => Promise<Outcome>): Promise<Outcome> {
    let pending = this.pending.get(key);
    if (pending === undefined) {
      pending = ask()
        .then((outcome) => {
          this.remember(key, outcome, token.length);
          return outcome;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    return pending;
  }

  /** @param tokenLength - counted in the entry's size: the result kept for later requests holds the token. */
  private remember(key: string, outcome: Outcome, tokenLength: number): void {
    const nowMs = this.now();
    if (!outcome.active) {
      this.cache.set(key, outcome, nowMs + INACTIVE_TTL_MS);
      return;
    }
    const context = outcome.context as IssuerContext;
    const maxAge = (context.spec.introspection?.cacheMaxAge ?? 0) * 1000;
    const exp = (outcome.claims as JWTPayload).exp as number;
    const size = tokenLength + 2 * JSON.stringify(outcome.claims).length;
    this.cache.set(key, outcome, Math.min(nowMs + maxAge, exp * 1000), size);
  }

  private async askInTurn(token: string): Promise<Outcome> {
    let failure: unknown;
    for (const context of this.opaqueIssuers) {
      try {
        const outcome = await this.ask(context, token);
        if (outcome.active) return outcome;
      } catch (error) {
        failure = error;
      }
    }
    if (failure !== undefined) throw unavailable(failure);
    return { active: false };
  }

  private async askOne(context: IssuerContext, token: string): Promise<Outcome> {
    try {
      return await this.ask(context, token);
    } catch (error) {
      throw unavailable(error);
    }
  }

  private async ask(context: IssuerContext, token: string): Promise<Outcome> {
    // The answer's `iss` is compared with the issuer's: learn it first when it comes from discovery.
    await context.keys.learnIssuer();
    if (context.issuer === undefined) throw new IntrospectionUnavailableError('issuer metadata unavailable');
    let client = this.clients.get(context);
    if (client === undefined) {
      client = new IntrospectionClient(context, this.now);
      this.clients.set(context, client);
    }
    const answer = await client.ask(token);
    return answer.active ? { active: true, context, claims: answer.claims } : { active: false };
  }
}
