import type { JWK, JWTPayload } from 'jose';
import type { AsymmetricAlgorithm as JwsAsymmetricAlgorithm } from '../algorithms.js';

/** Profile that shapes the claims and header of issued tokens. */
export type TokenProfile = 'auth0' | 'rfc9068';

/** Asymmetric algorithms the test issuer can sign with (and publish keys for). */
export type AsymmetricAlgorithm = JwsAsymmetricAlgorithm | 'Ed25519';

/** Symmetric algorithms, usable with the issuer's `secret` (or a foreign random one). */
export type SymmetricAlgorithm = 'HS256' | 'HS384' | 'HS512';

/**
 * Every algorithm `mint` understands. `'none'` yields an unsecured JWT (empty signature),
 * handy for proving that a verifier rejects it.
 */
export type MintAlgorithm = AsymmetricAlgorithm | SymmetricAlgorithm | 'none';

/** A registered client of the test issuer's token endpoint. */
export interface TestClient {
  clientId: string;
  /** Enables `client_secret_post` and `client_secret_basic`. */
  clientSecret?: string;
  /** Enables `private_key_jwt`; private members, if any, are ignored. */
  publicJwk?: JWK;
  /** Audience → scopes the client may obtain for it. */
  grants?: Record<string, string[]>;
  /** When set, an `organization` token-request parameter must equal it. */
  organization?: string;
  /**
   * What the token endpoint issues to this client: JWTs (default) or opaque tokens, whose
   * claims only introspection reveals.
   */
  tokenFormat?: TokenFormat;
}

/** A JWT access token, or an opaque random string whose claims the issuer remembers. */
export type TokenFormat = 'jwt' | 'opaque';

/** Options of {@link createTestIssuer}. */
export interface TestIssuerOptions {
  clients?: TestClient[];
  /** Token shape: Auth0's default profile (default) or RFC 9068. */
  profile?: TokenProfile;
  /** Lifetime of issued and minted tokens, in seconds (default 86400). */
  tokenLifetime?: number;
  /** Shared secret used by `mint({ alg: 'HS256' | 'HS384' | 'HS512' })`. */
  secret?: string;
  /** Port to listen on (default 0: a random free port). */
  port?: number;
  /**
   * Publish, for every algorithm, the key the next `rotateKeys()` will promote (default
   * true, as Auth0 does), so an API that fetched the key set already knows the rotated key.
   * Turn it off to test kid-less tokens, which need a single key per algorithm.
   */
  publishNextKey?: boolean;
  /**
   * Make the token endpoint demand DPoP nonces (RFC 9449 §8): a proof without a current
   * nonce gets 400 `use_dpop_nonce` and a fresh `DPoP-Nonce` header (default false).
   */
  dpopNonce?: boolean;
}

/** Claims accepted by `mint`; loosely typed on purpose so malformed claims can be produced. */
export type MintClaims = JWTPayload | Record<string, unknown>;

/** Options of {@link TestIssuer.mint}. */
export interface MintOptions {
  /** Default: the first audience granted to the first client, else `https://api.example.com`. */
  audience?: string | string[];
  /** An array is joined with spaces. Default: no `scope` claim. */
  scope?: string | string[];
  /** Default: `test-client`. */
  clientId?: string;
  /** Seconds until `exp` (default `tokenLifetime`); negative → already expired; `null` → no `exp`. */
  expiresIn?: number | null;
  /** Seconds from now for `nbf`; omitted by default. */
  notBefore?: number;
  /** Overrides the header `kid`; `null` removes it. */
  kid?: string | null;
  /** Default `RS256`. */
  alg?: MintAlgorithm | (string & Record<never, never>);
  /** Extra or overriding protected-header parameters (`jku`, `x5u`, `jwk`, `crit`, `typ`, even `alg`). */
  header?: Record<string, unknown>;
  /** Sign with a key of the same algorithm that is never published. */
  foreignKey?: boolean;
  /**
   * `'opaque'`: return a random opaque token whose claims the issuer remembers (for
   * introspection) instead of a JWT; `alg`, `kid`, `header` and `foreignKey` do not apply.
   */
  format?: TokenFormat;
}

/** Number of requests served per route since start or the last `resetCounts()`. */
export interface RequestCounts {
  discovery: number;
  jwks: number;
  token: number;
  introspection: number;
}

/** Public JWK Set as served at `jwksUri`. */
export interface PublicJwks {
  keys: JWK[];
}

/** A running in-process authorization server for tests. */
export interface TestIssuer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly issuerBaseURL: string;
  /** `http://127.0.0.1:PORT/`, the `iss` claim and the discovery document's `issuer`. */
  readonly issuer: string;
  readonly jwksUri: string;
  readonly tokenEndpoint: string;
  /** `POST` RFC 7662 introspection endpoint (`/oauth/introspect`). */
  readonly introspectionEndpoint: string;
  /** Live counters; see {@link RequestCounts}. */
  readonly requestCounts: Readonly<RequestCounts>;
  /** Registers (or replaces, by `clientId`) a client of the token endpoint. */
  addClient(client: TestClient): void;
  /** Signs an access token; see {@link MintOptions}. */
  mint(claims?: MintClaims, options?: MintOptions): Promise<string>;
  /**
   * Rotates `alg`, or every algorithm in use when omitted: the published next key becomes
   * current and a new next key is published (with `publishNextKey: false`, a new key is made
   * current instead); the previous key stays published, the one before it is dropped.
   */
  rotateKeys(alg?: AsymmetricAlgorithm): Promise<void>;
  /** The `kid` that `mint` currently uses for `alg` (default RS256), if a key exists. */
  currentKid(alg?: AsymmetricAlgorithm): string | undefined;
  /** The `kid` the next `rotateKeys()` will promote for `alg` (default RS256), when published. */
  nextKid(alg?: AsymmetricAlgorithm): string | undefined;
  /** The JWK Set served at `jwksUri` (public members only). */
  publicJwks(): PublicJwks;
  /**
   * Revokes a token (JWT or opaque) at the server: introspection answers `active: false` for
   * it from now on. (JWT verifiers that do not introspect are not affected, as with a real
   * authorization server.)
   */
  revoke(token: string): void;
  /** Zeroes {@link TestIssuer.requestCounts}. */
  resetCounts(): void;
  /** Stops the server, dropping keep-alive connections; idempotent. */
  close(): Promise<void>;
}
