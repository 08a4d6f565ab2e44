/**
 * The framework-free verifier: composes key resolution (discovery + JWKS cache, or a shared
 * secret), jose's signature and claim checks, the package's own policy checks (required
 * `exp`, RFC 9068 profile, M2M detection, allowed clients, organizations) and the
 * verified-token cache. Built once from options; knows nothing of Express.
 *
 * @module
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { JWTHeaderParameters, JWTPayload } from 'jose';
import { MAX_TOKEN_LENGTH } from './bearer.js';
import { deepFreeze } from './deep-freeze.js';
import { isClientCredentialsToken, matchesOrganization, readClientId, readOrganization, readScopes } from './claims.js';
import {
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  ServiceUnavailableError,
  isM2MError,
  type M2MError,
} from './errors.js';
import { describeVerificationError } from './jose-errors.js';
import { discover, type IssuerMetadata } from './keys/discovery.js';
import { emit } from './keys/events.js';
import { JwksCache, KeySetUnavailableError, type VerificationKey } from './keys/jwks-cache.js';
import type { ClaimsSetOptions } from './jwt/claims-set.js';
import type { ParsedCompact } from './jwt/compact.js';
import { isCanonicalCompact } from './jwt/compact.js';
import { parseJwt, verifyParsedJwt, verifyParsedJwtOffThread, type VerifiedJwt } from './jwt/verify.js';
import { resolveOptions, type ResolvedOptions, type VerifierOptions } from './options.js';
import { TokenCache } from './token-cache.js';

/** The verified caller, set as `req.auth` by `requireM2M`. */
export interface M2MAuth {
  /** The raw access token. */
  readonly token: string;
  /** The token's protected header. */
  readonly header: Readonly<JWTHeaderParameters>;
  /** All claims. */
  readonly payload: Readonly<JWTPayload>;
  /** The calling application: `client_id ?? azp ?? cid ?? appid ?? sub` (Auth0 `"<id>@clients"` → `"<id>"`). */
  readonly clientId: string;
  /** Union of `scope`, `scp` and `permissions`. */
  readonly scopes: readonly string[];
  /** `org_id ?? org_name`, when present. */
  readonly organization?: string;
}

/** A verifier built once from options, shared by every request. */
export interface TokenVerifier {
  /**
   * Verifies an access token.
   *
   * @throws {@link InvalidTokenError} (401) when the token is not acceptable,
   *   {@link InsufficientScopeError} (403) when an `allowedClients` or `organization` policy refuses it,
   *   {@link InvalidRequestError} (400) for an oversized token,
   *   {@link ServiceUnavailableError} (503) while no signing key set could be obtained.
   */
  verify(token: string): Promise<M2MAuth>;
  /** Runs discovery and the first JWKS fetch; rejects with a message saying what failed. */
  ready(): Promise<void>;
  /** The `realm` used in this verifier's errors. */
  readonly realm: string;
}

const RFC9068_REQUIRED = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'];

interface CachedAuth {
  auth: M2MAuth;
  payload: JWTPayload;
}

/**
 * Builds a verifier. Options fall back to `ISSUER_BASE_URL`, `ISSUER`, `JWKS_URI`,
 * `AUDIENCE` and `SECRET`.
 *
 * @throws TypeError at once when no issuer/JWKS source or no audience is configured, or an option is invalid.
 */
export function createVerifier(options: VerifierOptions = {}): TokenVerifier {
  return new Verifier(resolveOptions(options));
}

/**
 * The verifier. `verifyNow` answers synchronously whenever nothing has to wait (a cached
 * token, an HMAC token, or `offloadSignatures: false` with a known key), so the Express layer
 * calls `next()` without a promise on the hot path; `verify` is the plain promise API over it.
 */
export class Verifier implements TokenVerifier {
  readonly realm: string;
  private readonly options: ResolvedOptions;
  private readonly claimsOptions: Omit<ClaimsSetOptions, 'issuer'>;
  /** `claimsOptions` with the expected issuer, built once the issuer is known. */
  private claimsOptionsWithIssuer: ClaimsSetOptions | undefined;
  private readonly cache: TokenCache<CachedAuth>;
  private readonly keys: JwksCache | undefined;
  private readonly secretKey: KeyObject | undefined;
  private metadata: IssuerMetadata | undefined;

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.realm = options.realm;
    this.cache = new TokenCache(options.cacheMax);
    this.claimsOptions = {
      audience: options.audience,
      clockTolerance: options.clockTolerance,
      maxTokenAge: options.maxTokenAge,
      requiredClaims: options.strict ? RFC9068_REQUIRED : ['exp'],
      typ: options.strict ? 'at+jwt' : undefined,
    };
    this.secretKey = options.secret === undefined ? undefined : createSecretKey(options.secret);
    this.keys = options.secret === undefined ? new JwksCache(() => this.locateKeySet(), options.jwks) : undefined;
  }

  async ready(): Promise<void> {
    if (this.keys === undefined) return;
    try {
      await this.keys.ready();
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'unknown error';
      throw new Error(`express-m2m: cannot obtain the signing keys: ${reason}`, { cause: error });
    }
  }

  verify(token: string): Promise<M2MAuth> {
    try {
      return Promise.resolve(this.verifyNow(token));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Verifies a token, synchronously when no work has to wait; otherwise the promise settles
   * once the key is known and the signature has been checked (on the thread pool, with
   * `offloadSignatures`).
   *
   * @throws the package's HTTP errors (synchronously, or through the promise).
   */
  verifyNow(token: string): M2MAuth | Promise<M2MAuth> {
    if (typeof token !== 'string' || token === '') throw this.invalid('missing token');
    if (token.length > MAX_TOKEN_LENGTH) throw new InvalidRequestError('token too large', { realm: this.realm });
    const now = Date.now();
    const cached = this.cache.get(token, now);
    if (cached !== undefined) {
      this.checkLifetime(cached.payload, now);
      return cached.auth;
    }
    if (!isCanonicalCompact(token)) throw this.invalid('malformed token');
    let parsed: ParsedCompact;
    try {
      // Refuses a bad alg before any key lookup, so junk never triggers a JWKS fetch.
      parsed = parseJwt(token, this.options.algorithms);
    } catch (error) {
      throw this.invalid(describeVerificationError(error), error);
    }
    const key = this.secretKey ?? this.keys?.peekKey(parsed.header.alg, parsed.header.kid);
    if (key !== undefined) return this.complete(token, parsed, key);
    return this.resolveKey(parsed.header).then((fetched) => this.complete(token, parsed, fetched));
  }

  private complete(token: string, parsed: ParsedCompact, key: KeyObject): M2MAuth | Promise<M2MAuth> {
    const now = Date.now();
    // The key set the key came from: a refresh while the signature is checked must not extend the result's life.
    const keySetFetchedAt = this.keys?.fetchedAt;
    const options = this.claimsSetOptions();
    let verified: VerifiedJwt | Promise<VerifiedJwt>;
    try {
      verified = this.options.offloadSignatures
        ? verifyParsedJwtOffThread(parsed, key, options, Math.floor(now / 1000))
        : verifyParsedJwt(parsed, key, options, Math.floor(now / 1000));
    } catch (error) {
      throw this.invalid(describeVerificationError(error), error);
    }
    if (!(verified instanceof Promise)) return this.accept(token, verified, now, keySetFetchedAt);
    return verified.then(
      (result) => this.accept(token, result, now, keySetFetchedAt),
      (error: unknown) => {
        throw this.invalid(describeVerificationError(error), error);
      },
    );
  }

  /** Applies the package's policies to a token whose signature and claims are valid, and caches the result. */
  private accept(
    token: string,
    { header, payload }: VerifiedJwt,
    now: number,
    keySetFetchedAt: number | undefined,
  ): M2MAuth {
    const auth = this.authorize(token, header, payload, now);
    this.cache.set(token, { auth, payload }, this.cacheDeadline(payload, now, keySetFetchedAt));
    return auth;
  }

  private async resolveKey(header: JWTHeaderParameters): Promise<VerificationKey> {
    try {
      return await (this.keys as JwksCache).getKey(header);
    } catch (error) {
      if (error instanceof KeySetUnavailableError) {
        throw new ServiceUnavailableError('signing keys are temporarily unavailable', {
          realm: this.realm,
          retryAfter: this.options.jwks.cooldown,
          cause: error,
        });
      }
      throw this.invalid(describeVerificationError(error), error);
    }
  }

  private claimsSetOptions(): ClaimsSetOptions {
    if (this.claimsOptionsWithIssuer !== undefined) return this.claimsOptionsWithIssuer;
    // With a JWKS, the key lookup has completed discovery by now when `issuer` was not
    // configured; should that ever not hold, fail closed rather than skip the issuer check.
    const issuer = this.options.issuer ?? this.metadata?.issuer;
    if (issuer === undefined) throw this.invalid('issuer unknown');
    // Discovery runs once per verifier, so the issuer never changes after this.
    this.claimsOptionsWithIssuer = Object.freeze({ ...this.claimsOptions, issuer });
    return this.claimsOptionsWithIssuer;
  }

  /** The package's checks beyond the JWT rules: required types, RFC 9068, M2M, client and organization policies. */
  private authorize(token: string, header: JWTHeaderParameters, payload: JWTPayload, now: number): M2MAuth {
    const { options } = this;
    if (payload.exp === undefined) throw this.invalid('missing exp claim');
    // JSON's 1e400 parses as Infinity: a token that never expires is not acceptable either.
    if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) throw this.invalid('malformed exp claim');
    if (typeof payload.iat === 'number' && payload.iat > now / 1000 + options.clockTolerance) {
      throw this.invalid('token issued in the future');
    }
    if (options.strict) {
      for (const claim of ['sub', 'client_id', 'jti'] as const) {
        if (typeof payload[claim] !== 'string' || payload[claim] === '') throw this.invalid(`invalid ${claim} claim`);
      }
    }
    if (options.m2mOnly && !this.isM2M(payload)) {
      throw this.invalid('token was not issued to a client (client-credentials grant)');
    }
    const clientId = readClientId(payload);
    if (clientId === undefined) throw this.invalid('token does not identify its client');
    if (options.allowedClients !== undefined && !options.allowedClients.includes(clientId)) {
      throw new InsufficientScopeError('client not allowed', { realm: this.realm });
    }
    if (options.organizations !== undefined && !matchesOrganization(payload, options.organizations)) {
      throw new InsufficientScopeError('organization not allowed', { realm: this.realm });
    }
    const organization = readOrganization(payload);
    // Cached results are shared between requests: freeze them so no handler can alter another's view.
    return issue(
      {
        token,
        header,
        payload,
        clientId,
        scopes: readScopes(payload),
        ...(organization !== undefined && { organization }),
      },
      this.realm,
    );
  }

  private isM2M(payload: JWTPayload): boolean {
    const custom = this.options.isM2M;
    if (custom === undefined) return isClientCredentialsToken(payload);
    try {
      return custom(payload) === true;
    } catch {
      return false;
    }
  }

  /** Re-checks the time-dependent claims of a cached token, with the same rules as a fresh one. */
  private checkLifetime(payload: JWTPayload, now: number): void {
    const seconds = Math.floor(now / 1000);
    const tolerance = this.options.clockTolerance;
    if ((payload.exp as number) <= seconds - tolerance) throw this.invalid('token expired');
    if (typeof payload.nbf === 'number' && payload.nbf > seconds + tolerance) throw this.invalid('token not yet valid');
    const { maxTokenAge } = this.options;
    if (maxTokenAge !== undefined && seconds - (payload.iat as number) - tolerance > maxTokenAge) {
      throw this.invalid('token too old');
    }
  }

  /** A cached result lives no longer than the token (with leeway) nor than the key set it was checked against. */
  private cacheDeadline(payload: JWTPayload, now: number, fetchedAt: number | undefined): number {
    let deadline = ((payload.exp as number) + this.options.clockTolerance) * 1000;
    if (fetchedAt !== undefined) deadline = Math.min(deadline, fetchedAt + this.options.jwks.cacheMaxAge * 1000);
    return Math.max(deadline, now);
  }

  private invalid(description: string, cause?: unknown): M2MError {
    if (isM2MError(cause)) return cause;
    return new InvalidTokenError(description, { realm: this.realm, cause });
  }

  /** Resolves the JWKS URL, running discovery once when the issuer or JWKS location must come from it. */
  private async locateKeySet(): Promise<string> {
    const { issuerBaseURL, issuer, jwksUri, jwks } = this.options;
    if (jwksUri !== undefined && issuer !== undefined) return jwksUri;
    if (this.metadata === undefined) {
      const base = issuerBaseURL as string;
      try {
        const { url, ...metadata } = await discover(base, jwks);
        this.metadata = metadata;
        emit(jwks.onEvent, { type: 'fetched', resource: 'discovery', url });
      } catch (error) {
        emit(jwks.onEvent, {
          type: 'fetch_failed',
          resource: 'discovery',
          url: base,
          error: error as Error,
          servingStale: false,
        });
        throw error;
      }
    }
    return jwksUri ?? this.metadata.jwks_uri;
  }
}

/** Every result a verifier produced, with that verifier's realm. */
const issued = new WeakMap<object, string>();

/** Freezes a result and marks it as produced by a verifier, so guards can tell it from a `req.auth` set by anything else. */
function issue(auth: M2MAuth, realm: string): M2MAuth {
  deepFreeze(auth);
  issued.set(auth, realm);
  return auth;
}

/** True when `auth` was produced by a verifier of this package. */
export function isVerifiedAuth(auth: unknown): auth is M2MAuth {
  return typeof auth === 'object' && auth !== null && issued.has(auth);
}

/** The realm of the verifier that produced `auth`. */
export function realmOfAuth(auth: M2MAuth): string | undefined {
  return issued.get(auth);
}
