/**
 * The framework-free verifier: orchestration only. A request's token goes
 * size check → verified-token cache, or: compact parsing → issuer (by the unverified `iss`) →
 * key → signature and claims set → policy → cache; then, on every request, the time claims of a
 * cached token, the revocation list, the issuer's introspection answer (`mode: 'always'`) and the
 * sender constraint (DPoP proof, client certificate). An opaque token, when some issuer has
 * `introspection`, takes the introspection path instead of the JWT one and then the same
 * per-request checks. Built once from options; knows nothing of Express.
 *
 * @module
 */
import type { JWTHeaderParameters, JWTPayload } from 'jose';
import type { M2MAuth, VerificationRequest } from './auth.js';
import { MAX_TOKEN_LENGTH } from './bearer.js';
import { toHttpError, type Challenge } from './challenge.js';
import { readOrganization, readScopes } from './claims.js';
import { deepFreeze } from './deep-freeze.js';
import { traceVerification, verifyChannel, type VerifyTraceContext } from './diagnostics.js';
import { isM2MError, type M2MError } from './errors.js';
import { Introspection, isOpaqueToken, NO_HEADER } from './introspection/introspector.js';
import type { IssuerContext } from './issuers/context.js';
import { createIssuerRegistry, sharedClaimRules, type IssuerRegistry } from './issuers/registry.js';
import { checkWithIssuer, type CheckedJwt } from './issuers/signed-jwt.js';
import { refusalFor } from './jose-errors.js';
import type { ClaimsSetOptions } from './jwt/claims-set.js';
import { isCanonicalCompact, type ParsedCompact } from './jwt/compact.js';
import { decodePayload, parseJwt } from './jwt/verify.js';
import { resolveOptions, type ResolvedOptions } from './options/resolve.js';
import type { VerifierOptions } from './options/types.js';
import { checkLifetime, checkPolicy, checkRevocation } from './policy.js';
import { Refusal } from './refusal.js';
import { SenderConstraint, type VerifiedToken } from './sender-constraint.js';
import { TokenCache } from './token-cache.js';

export type { M2MAuth, VerificationRequest } from './auth.js';

/** A verifier built once from options, shared by every request. */
export interface TokenVerifier {
  /**
   * Verifies an access token. `request` (method, absolute URL, scheme, DPoP proof, client
   * certificate) is needed for sender-constrained tokens: without it, such a token is refused.
   *
   * @throws the package's HTTP errors: {@link InvalidTokenError} (401) and its DPoP relatives,
   *   {@link InsufficientScopeError} (403) for an `allowedClients` or `organization` policy,
   *   {@link InvalidRequestError} (400), {@link ServiceUnavailableError} (503). Each has a `reason`.
   */
  verify(token: string, request?: VerificationRequest): Promise<M2MAuth>;
  /**
   * {@link TokenVerifier.verify} that answers synchronously whenever nothing has to wait (a
   * cached token, an HMAC token, a known key with `offloadSignatures: false`), so a framework
   * adapter needs no promise on the hot path. Throws synchronously or rejects.
   */
  verifyNow(token: string, request?: VerificationRequest): M2MAuth | Promise<M2MAuth>;
  /** Runs discovery and the first JWKS fetch of every listed issuer; rejects naming the one that failed. */
  ready(): Promise<void>;
  /** The `realm` used in this verifier's errors. */
  readonly realm: string;
  /** The challenge this verifier's errors carry (realm, DPoP algorithms, `resource_metadata`). */
  readonly challenge: Challenge;
  /** The issuers this verifier trusts, as clients should be told (`iss`, else the tenant URL); empty for a resolver. */
  issuerIdentifiers(): string[];
  /** The resolved options (read by the Express layer and the metadata document). */
  readonly options: ResolvedOptions;
}

/** A verified token, and the issuer that must also call it active on every request (`mode: 'always'`). */
type Accepted = VerifiedToken & { readonly activeAt?: IssuerContext };

/** Cache budget in bytes, besides the entry count: very large tokens cannot pin much memory. */
const CACHE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Builds a verifier. Options fall back to `ISSUER_BASE_URL`, `ISSUER`, `JWKS_URI`,
 * `AUDIENCE` and `SECRET`.
 *
 * @example
 * const verifier = createVerifier({ issuerBaseURL: 'https://tenant.example.com', audience: 'https://api.example.com' });
 * const auth = await verifier.verify(token);
 * @throws TypeError at once, listing every missing or invalid option.
 */
export function createVerifier(options: VerifierOptions = {}): TokenVerifier {
  return new Verifier(resolveOptions(options, process.env, 'createVerifier'));
}

/** The verifier; see {@link TokenVerifier}. */
export class Verifier implements TokenVerifier {
  readonly realm: string;
  readonly challenge: Challenge;
  private readonly registry: IssuerRegistry;
  private readonly cache: TokenCache<Accepted>;
  private readonly constraint: SenderConstraint;
  private readonly introspection: Introspection;
  /** The policy for introspected tokens: `strict` (a JWT profile) does not apply without a header. */
  private readonly introspectedPolicy: ResolvedOptions;
  /** Algorithms some trusted issuer allows: anything else is refused before the issuer is looked up. */
  private readonly tokenAlgorithms: readonly string[];

  /**
   * @param now - the clock (epoch milliseconds); tests drive time through it.
   */
  constructor(
    readonly options: ResolvedOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.realm = options.realm;
    this.challenge = { realm: options.realm, dpopAlgorithms: options.dpop.algorithms };
    this.cache = new TokenCache(options.cacheMax, CACHE_MAX_BYTES);
    this.registry = createIssuerRegistry(options.issuers, options.issuerDefaults, sharedClaimRules(options), now);
    this.constraint = new SenderConstraint(options);
    this.introspectedPolicy = { ...options, strict: false };
    this.introspection = new Introspection(
      this.registry.listed,
      (token, claims, context, nowMs) => this.accept(token, NO_HEADER, claims, context, undefined, nowMs, true),
      now,
    );
    this.tokenAlgorithms = this.registry.algorithms;
  }

  ready(): Promise<void> {
    return this.registry.ready();
  }

  issuerIdentifiers(): string[] {
    return this.registry.listed.map((context) => context.identifier);
  }

  verify(token: string, request?: VerificationRequest): Promise<M2MAuth> {
    try {
      return Promise.resolve(this.verifyNow(token, request));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  verifyNow(token: string, request?: VerificationRequest): M2MAuth | Promise<M2MAuth> {
    if (!verifyChannel.hasSubscribers) return this.run(token, request, undefined);
    return traceVerification((trace) => this.run(token, request, trace));
  }

  /** One verification; `trace` collects what tracing subscribers see. */
  run(
    token: string,
    request: VerificationRequest | undefined,
    trace: VerifyTraceContext | undefined,
  ): M2MAuth | Promise<M2MAuth> {
    try {
      const result = this.verifyToken(token, request, trace);
      if (!(result instanceof Promise)) return result;
      return result.catch((error: unknown) => {
        throw this.httpError(error, request);
      });
    } catch (error) {
      throw this.httpError(error, request);
    }
  }

  private verifyToken(
    token: string,
    request: VerificationRequest | undefined,
    trace: VerifyTraceContext | undefined,
  ): M2MAuth | Promise<M2MAuth> {
    // Only the framework-free API can be given a non-string; it is a malformed token, not a missing one.
    if (typeof token !== 'string' || token === '') throw new Refusal('malformed_token', 'missing token');
    if (token.length > MAX_TOKEN_LENGTH) throw new Refusal('token_too_large', 'token too large');
    this.constraint.checkScheme(request);
    const nowMs = this.now();
    const cached = this.cache.get(token, nowMs);
    if (cached !== undefined) {
      if (trace !== undefined) trace.cached = true;
      return this.admit(cached, request, nowMs, trace);
    }
    if (this.introspection.handlesOpaque && isOpaqueToken(token)) return this.introspect(token, request, nowMs, trace);
    if (!isCanonicalCompact(token)) throw new Refusal('malformed_token', 'malformed token');
    let parsed: ParsedCompact;
    let payload: JWTPayload;
    try {
      // Refuses an `alg` no issuer allows before anything else, so junk never reaches a key lookup.
      parsed = parseJwt(token, this.tokenAlgorithms, this.options.strict ? 'at+jwt' : undefined);
      // Decoded once, before the signature check, only to pick the issuer; trusted after it.
      payload = decodePayload(parsed);
    } catch (error) {
      throw refusalFor(error);
    }
    const context = this.registry.select(payload.iss);
    if (!(context instanceof Promise)) return this.withIssuer(token, parsed, payload, context, request, trace);
    return context.then((known) => this.withIssuer(token, parsed, payload, known, request, trace));
  }

  private withIssuer(
    token: string,
    parsed: ParsedCompact,
    payload: JWTPayload,
    context: IssuerContext,
    request: VerificationRequest | undefined,
    trace: VerifyTraceContext | undefined,
  ): M2MAuth | Promise<M2MAuth> {
    const accept = ({ key, keySetFetchedAt, nowMs }: CheckedJwt): M2MAuth | Promise<M2MAuth> => {
      const entry = this.accept(token, parsed.header, payload, context, context.keys.keyId(key), nowMs);
      // The decoded payload and frozen result take about twice the token's size.
      this.cache.set(token, entry, this.cacheDeadline(payload, context, keySetFetchedAt, nowMs), 2 * token.length);
      return this.admit(entry, request, nowMs, trace);
    };
    const claimsFor = (issuer: IssuerContext): ClaimsSetOptions | undefined => issuer.claimsOptions();
    const checked = checkWithIssuer(parsed, payload, context, claimsFor, this.now, this.options.offloadSignatures);
    return checked instanceof Promise ? checked.then(accept) : accept(checked);
  }

  /** An opaque token: its issuer's answer, then what every request re-checks. */
  private introspect(
    token: string,
    request: VerificationRequest | undefined,
    nowMs: number,
    trace: VerifyTraceContext | undefined,
  ): M2MAuth | Promise<M2MAuth> {
    const entry = this.introspection.verifyOpaque(token, nowMs);
    if (!(entry instanceof Promise)) {
      // Only the answer cache answers without waiting.
      if (trace !== undefined) trace.cached = true;
      return this.admit(entry, request, nowMs, trace);
    }
    return entry.then((verified) => this.admit(verified, request, this.now(), trace));
  }

  /** The policy for a token whose signature (or introspection) and claims are valid; the result is shared by later requests. */
  private accept(
    token: string,
    header: JWTHeaderParameters,
    payload: JWTPayload,
    context: IssuerContext,
    keyId: string | undefined,
    nowMs: number,
    introspected = false,
  ): Accepted {
    const policy = introspected ? this.introspectedPolicy : this.options;
    const clientId = checkPolicy(payload, policy, Math.floor(nowMs / 1000));
    const organization = readOrganization(payload);
    const issuer = payload.iss as string;
    const confirmation = this.constraint.confirmation(payload);
    const alwaysAsk = !introspected && context.spec.introspection?.mode === 'always';
    // Frozen: with the cache, the same result serves later requests, so no handler may change what another sees.
    const auth: M2MAuth = deepFreeze({
      token,
      header,
      payload,
      clientId,
      scopes: readScopes(payload),
      ...(organization !== undefined && { organization }),
      issuer,
      ...(confirmation.binding !== undefined && { binding: confirmation.binding }),
      ...((introspected || alwaysAsk) && { introspected: true as const }),
    });
    return { auth, payload, clientId, issuer, keyId, confirmation, ...(alwaysAsk && { activeAt: context }) };
  }

  /** What every request re-checks, cached or not: lifetime, revocation, the issuer's answer (`mode: 'always'`), sender constraint. */
  private admit(
    entry: Accepted,
    request: VerificationRequest | undefined,
    nowMs: number,
    trace: VerifyTraceContext | undefined,
  ): M2MAuth | Promise<M2MAuth> {
    const now = Math.floor(nowMs / 1000);
    if (trace !== undefined) {
      trace.clientId = entry.clientId;
      trace.issuer = entry.issuer;
    }
    checkLifetime(entry.payload, this.options, now);
    checkRevocation(entry, this.options, now);
    const active = entry.activeAt && this.introspection.checkActive(entry.auth.token, entry.activeAt, nowMs);
    if (active instanceof Promise) return active.then(() => this.constraint.check(entry, request, now));
    return this.constraint.check(entry, request, now);
  }

  /** A cached result lives no longer than the token (with leeway) nor than the key set it was checked against. */
  private cacheDeadline(
    payload: JWTPayload,
    context: IssuerContext,
    fetchedAt: number | undefined,
    nowMs: number,
  ): number {
    let deadline = ((payload.exp as number) + this.options.clockTolerance) * 1000;
    if (fetchedAt !== undefined) deadline = Math.min(deadline, fetchedAt + context.keys.maxAge * 1000);
    return Math.max(deadline, nowMs);
  }

  /** The HTTP error for a refusal, with this verifier's challenge and the scheme the request calls for. */
  httpError(error: unknown, request: VerificationRequest | undefined): M2MError {
    if (isM2MError(error)) return error;
    return toHttpError(error, this.challenge, this.constraint.challengeScheme(request, error));
  }
}
