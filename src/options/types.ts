/**
 * The public option types of `requireM2M` and `createVerifier`. Every duration is a number of
 * seconds.
 *
 * @module
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { JWK, JWTPayload } from 'jose';
import type { Algorithm } from '../algorithms.js';
import type { TokenLocation } from '../bearer.js';
import type { KeySetEvent } from '../keys/events.js';
import type { RevocationCheck } from '../stores/revocation-entry.js';
import type { ReplayStore } from '../stores/replay-store.js';

export type { RevocationCheck, ReplayStore };

/** Key-set caching and fetching (all durations in seconds). */
export interface JwksOptions {
  /** How long a fetched key set is used before it is refreshed. Default 600, at most 1 day. */
  cacheMaxAge?: number;
  /** Minimum time between two fetches, measured from the last one. Default 30, at most 1 hour. */
  cooldown?: number;
  /** Timeout of each discovery or JWKS request. Default 5, at most 5 minutes. */
  timeout?: number;
  /** Largest discovery or JWKS response accepted, in bytes. Default 1 MiB. */
  maxBytes?: number;
  /**
   * How long past its refresh time (`fetchedAt + cacheMaxAge`) a key set that cannot be
   * refreshed is still used. Default 86,400 (1 day), at most 7 days; past it, 503.
   */
  maxStale?: number;
  /** Called on key-set fetches, failures and stale serving: the hook for logs and alerts. Must not throw. */
  onEvent?: (event: KeySetEvent) => void;
}

/** Options of the verified-token cache. */
export interface TokenCacheOptions {
  /** Most entries kept (least recently used go first). Default 10,000. */
  max?: number;
}

/** A static verification key: a PEM public key or certificate, a public JWK, a JWKS, or a `KeyObject`. */
export type PublicKeyInput = string | JWK | { keys: readonly JWK[] } | KeyObject;

/** One trusted authorization server. Give exactly one key source: `issuerBaseURL`, `jwksUri`, `secret` or `publicKey`. */
export interface IssuerConfig {
  /** Tenant URL used for discovery. */
  issuerBaseURL?: string;
  /** Exact expected `iss`; required with `jwksUri`, `secret` or `publicKey`. */
  issuer?: string;
  /** JWKS location (with `issuer`; skips discovery). */
  jwksUri?: string;
  /** Shared secret for HS256/384/512 tokens (at least 32 bytes). */
  secret?: string | Uint8Array;
  /** A static public key, certificate, JWK or JWKS; nothing is fetched. */
  publicKey?: PublicKeyInput;
  /** Overrides the global `audience` for this issuer. */
  audience?: string | readonly string[];
  /** Overrides the algorithms for this issuer (default: by key source). */
  algorithms?: readonly Algorithm[];
  /** Overrides the global `jwks` settings for this issuer. */
  jwks?: JwksOptions;
  /** Token introspection (RFC 7662) at this issuer: opaque tokens, or a liveness check of every token. */
  introspection?: IntrospectionOptions;
}

/**
 * Token introspection (RFC 7662). The API authenticates at the endpoint as a client, with the
 * same methods and secrecy rules as `createTokenClient`. Durations in seconds.
 */
export interface IntrospectionOptions {
  /** Where tokens are posted. Default: the discovered `introspection_endpoint`. */
  endpoint?: string;
  /** The API's client id at the authorization server. */
  clientId: string;
  /** For `client_secret_post` (default) and `client_secret_basic`. */
  clientSecret?: string;
  /** For `private_key_jwt`: a PKCS#8 PEM, a private JWK or a private `KeyObject`. */
  privateKey?: string | JWK | KeyObject;
  /** Default `client_secret_post`, or `private_key_jwt` when only `privateKey` is given. */
  tokenEndpointAuthMethod?: 'client_secret_post' | 'client_secret_basic' | 'private_key_jwt';
  /** `'opaque'` (default): only tokens that are not JWTs; `'always'`: every token, after a JWT's own checks. */
  mode?: 'opaque' | 'always';
  /** How long an active answer is reused (never past the token's `exp`). Default 60, at most 1 hour; 0 disables. */
  cacheMaxAge?: number;
}

/** Chooses the issuer of a token from its (unverified) `iss`; `undefined` refuses it. */
export type IssuerResolver = (iss: string) => IssuerConfig | undefined | Promise<IssuerConfig | undefined>;

/** Options of {@link createVerifier}. Every duration is a number of seconds. */
export interface VerifierOptions {
  /** Tenant URL used for discovery. Env `ISSUER_BASE_URL`. */
  issuerBaseURL?: string;
  /** Exact expected `iss`. Env `ISSUER`. Default: from discovery. */
  issuer?: string;
  /** JWKS location. Env `JWKS_URI`. Default: from discovery. */
  jwksUri?: string;
  /** Several trusted issuers, or a resolver called with a token's unverified `iss`. */
  issuers?: readonly IssuerConfig[] | IssuerResolver;
  /** Accepted audiences; the token's `aud` must contain one. Env `AUDIENCE`. Required. */
  audience?: string | readonly string[];
  /** Allowed `alg` values. `none` is never allowed. */
  algorithms?: readonly Algorithm[];
  /** Shared secret for HS256/384/512 tokens. Env `SECRET`. */
  secret?: string | Uint8Array;
  /** A static public key, certificate, JWK or JWKS (with `issuer`); nothing is fetched. */
  publicKey?: PublicKeyInput;
  /** Leeway for `exp`, `nbf` and `iat`. Default 5, at most 5 minutes. */
  clockTolerance?: number;
  /** Reject tokens whose `iat` is older than this (at most 30 days). */
  maxTokenAge?: number;
  /** Enforce the RFC 9068 JWT access-token profile. Default false. */
  strict?: boolean;
  /** Reject tokens not issued by the client-credentials grant. Default true. */
  m2mOnly?: boolean;
  /** Replaces the built-in client-credentials detection. */
  isM2M?: (payload: JWTPayload) => boolean;
  /** Only these client ids may call. */
  allowedClients?: string | readonly string[];
  /** Entries starting with `org_` must equal the token's `org_id`; others its `org_name` (NFKC, case-insensitive). */
  organization?: string | readonly string[];
  /** Key-set caching. */
  jwks?: JwksOptions;
  /** Verified-token cache; `false` disables it. */
  cache?: TokenCacheOptions | false;
  /** `realm` of `WWW-Authenticate`. Default `"api"`. */
  realm?: string;
  /**
   * The `fetch` used for discovery and key sets (a proxy, a private CA). Timeouts and size caps
   * still apply. Without it, node:http/https with Node's global agents (`NODE_EXTRA_CA_CERTS` applies).
   */
  fetch?: typeof globalThis.fetch;
  /** A revocation list (kill switch), checked on every request. */
  revocations?: RevocationSource;
  /** DPoP (RFC 9449) settings. */
  dpop?: DPoPOptions;
  /** Certificate-bound tokens (RFC 8705) settings. */
  mtls?: MtlsOptions;
  /** Token introspection (RFC 7662) for the issuer of the top-level options; with `issuers`, set it per entry. */
  introspection?: IntrospectionOptions;
  /**
   * Check RS/PS/ES/EdDSA signatures — a new token's and every DPoP proof's — on libuv's thread
   * pool (node:crypto's callback form), so the event loop serves other requests meanwhile.
   * Default true. `false` checks them on the event loop: less CPU per token in total, which
   * suits a single-core container.
   */
  offloadSignatures?: boolean;
}

/** What the verifier asks a revocation list, synchronously, on every request (cached tokens included). */
export interface RevocationSource {
  /** True when the token must be refused. `nowSeconds` is the current time. */
  isRevoked(token: RevocationCheck, nowSeconds: number): boolean;
}

/** DPoP (RFC 9449) settings. */
export interface DPoPOptions {
  /** `'allowed'` (default), `'required'` or `'off'`. */
  mode?: 'allowed' | 'required' | 'off';
  /** Proof algorithms (asymmetric only). */
  algorithms?: readonly Algorithm[];
  /** How old a proof's `iat` may be. Default 60, at most 5 minutes. */
  maxAge?: number;
  /** Where proof `jti`s are recorded. Default: a bounded in-memory store. */
  replayStore?: ReplayStore;
  /** Stateless server nonces. */
  nonce?: { secret: string | Uint8Array; lifetime?: number };
  /** External origin the proof's `htu` is compared with (`https://api.example.com`). Default: from the request. */
  origin?: string;
}

/** Certificate-bound tokens (RFC 8705 §3). */
export interface MtlsOptions {
  /** `'allowed'` (default), `'required'` or `'off'`. */
  mode?: 'allowed' | 'required' | 'off';
  /**
   * Reads the client certificate (PEM, DER or `X509Certificate`). Default: the TLS peer
   * certificate. Behind a TLS-terminating proxy, read the header the proxy sets — and trust it
   * only from the proxy.
   */
  getCertificate?(req: IncomingMessage): string | Buffer | X509Certificate | undefined;
}

/** Options of `requireM2M`: the verifier's, plus where tokens come from and whether one is required. */
export interface RequireM2MOptions extends VerifierOptions {
  /** false: requests without a token continue with `req.auth` unset. Default true. */
  authRequired?: boolean;
  /** Where a token may be sent. Default `['header']`. */
  tokenLocations?: readonly TokenLocation[];
}
