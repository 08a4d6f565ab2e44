/**
 * The token client's public types and the parsing of its options.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { httpUrlProblem } from '../http-url.js';
import type { ClientAssertionAlgorithm, TokenEndpointAuthMethod } from './client-auth.js';
import { optionError } from './option-error.js';

/** A `fetch` implementation: the global one, or a wrapper (proxy agent, private CA, instrumentation). */
export type FetchImplementation = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The `dpop` option: `true` for a fresh ES256 key pair per client, or a key of your own. */
export type DPoPOption =
  | true
  | {
      /** PKCS#8 PEM, private JWK or private `KeyObject` (RSA, EC P-256/384/521, Ed25519). */
      privateKey: string | JWK | KeyObject;
      /** Proof algorithm; default: the key's natural one (ES256 for P-256, RS256 for RSA, …). */
      algorithm?: ClientAssertionAlgorithm;
    };

/** Options of `createTokenClient`. Every duration is a number of seconds. */
export interface TokenClientOptions {
  /** Tenant URL; the token endpoint comes from its metadata, else `{issuerBaseURL}/oauth/token`. */
  issuerBaseURL?: string;
  /** The token endpoint itself; skips discovery. One of `tokenEndpoint` and `issuerBaseURL` is required. */
  tokenEndpoint?: string;
  /** The client's id at the authorization server. Required. */
  clientId: string;
  /** For `client_secret_post` and `client_secret_basic`. */
  clientSecret?: string;
  /** For `private_key_jwt`: a PEM-encoded (PKCS#8) private key, a private JWK, or a private `KeyObject`. */
  privateKey?: string | JWK | KeyObject;
  /** Algorithm of the client assertion. Default: the JWK's `alg`, else RS256 for RSA, ES256/384/512 by curve, EdDSA for Ed25519. */
  privateKeyAlg?: ClientAssertionAlgorithm;
  /** `kid` header of the client assertion. Default: the JWK's `kid`, else none. */
  privateKeyId?: string;
  /** `aud` of the client assertion. Default: the token endpoint URL (Auth0: `https://tenant.auth0.com/`). */
  assertionAudience?: string;
  /** Default `client_secret_post`, or `private_key_jwt` when only `privateKey` is given. */
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  /** The API identifier (`audience` parameter, Auth0 and compatible servers). */
  audience?: string;
  /** RFC 8707 resource indicator(s) (`resource` parameter; oidc-provider, Keycloak, …). */
  resource?: string | readonly string[];
  /** Scopes to request (space-separated string or array); default: whatever the server grants. */
  scope?: string | readonly string[];
  /** Organization (`organization` parameter, Auth0 Organizations). */
  organization?: string;
  /** Further form parameters of the token request. Cannot override the grant or client authentication. */
  extraParams?: Readonly<Record<string, string>>;
  /** Seconds for each HTTP request to the authorization server, body included. Default 10, at most 300. */
  timeout?: number;
  /** Extra attempts after a network error, timeout, 408, 429 or 5xx. Default 2, at most 10. */
  retries?: number;
  /** Refresh this many seconds before the token expires; never more than half its lifetime. Default 60, at most 3600. */
  expiryMargin?: number;
  /** `fetch` used for discovery, token requests and `client.fetch`; timeouts and size caps still apply. Default: the global `fetch`. */
  fetch?: FetchImplementation;
  /** Sender-constrained tokens (RFC 9449 DPoP). */
  dpop?: DPoPOption;
}

/** Options of {@link TokenClient.getToken}. */
export interface GetTokenOptions {
  /** Ignore the cached token and request a new one (joining a request already under way). */
  forceRefresh?: boolean;
}

/** Options of {@link TokenClient.createProof}. */
export interface CreateProofOptions {
  /** The access token the proof goes with (adds `ath`); default: none (a token-endpoint proof). */
  accessToken?: string;
  /** A `DPoP-Nonce` the server asked for; default: the one last remembered for the URL's origin. */
  nonce?: string;
}

/** Headers to add to a request made with a DPoP-bound token. */
export interface DPoPHeaders {
  /** `DPoP <token>` when an access token was given. */
  authorization?: string;
  /** The proof JWT. */
  dpop: string;
}

/** A client-credentials token client, from `createTokenClient`. */
export interface TokenClient {
  /** The configured client id. */
  readonly clientId: string;
  /** The client authentication method in use. */
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  /**
   * An access token: the cached one until `expires_in − expiryMargin`, else a new one.
   * Concurrent calls share one token request.
   *
   * @throws {@link TokenRequestError} when no token could be obtained.
   */
  getToken(options?: GetTokenOptions): Promise<string>;
  /**
   * The global `fetch` (or the `fetch` option), with `Authorization: Bearer <token>` set
   * (replacing any) — or, with `dpop`, `Authorization: DPoP <token>` and a fresh `DPoP` proof.
   * When the API answers 401 with `error="invalid_token"`, the token is dropped and the request
   * is sent once more with a fresh one (at most one such refresh every 5 seconds) — unless its
   * body is a stream (or a `Request`'s body) that cannot be sent twice; then the 401 is returned.
   *
   * The `timeout` option does not apply to the API call itself; pass `init.signal`.
   *
   * @throws {@link TokenRequestError} when no token could be obtained; whatever `fetch` throws otherwise.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /**
   * DPoP headers for a request made with another HTTP client: a fresh proof for `method` and
   * `url` (query and fragment dropped from `htu`), with `ath` and `authorization` when
   * `options.accessToken` is given.
   *
   * @throws TypeError when the client was created without `dpop`.
   */
  createProof(method: string, url: string | URL, options?: CreateProofOptions): Promise<DPoPHeaders>;
}

/** Longest `timeout`, in seconds: a token request that takes longer is better failed and retried. */
export const MAX_TIMEOUT = 300;
/** Longest `expiryMargin`, in seconds (the half-lifetime rule bounds it further per token). */
export const MAX_EXPIRY_MARGIN = 3600;

/** Parameters the client controls; `extraParams` cannot replace them. */
const RESERVED_PARAMS = new Set([
  'grant_type',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'audience',
  'scope',
  'resource',
  'organization',
]);

/** The validated, non-secret settings. */
export interface ClientSettings {
  issuerBaseURL: string | undefined;
  tokenEndpoint: string | undefined;
  clientId: string;
  /** Form parameters of every token request besides the grant and the client authentication. */
  params: [string, string][];
  timeout: number;
  retries: number;
  expiryMargin: number;
  audience: string | undefined;
  scope: string | undefined;
  fetch: FetchImplementation;
}

const fail = (problem: string): TypeError => optionError('createTokenClient', problem);

/**
 * Validates every non-credential option at once.
 *
 * @throws TypeError naming the bad option, never its value.
 */
export function parseSettings(options: TokenClientOptions): ClientSettings {
  const { clientId } = options;
  if (typeof clientId !== 'string' || clientId === '') throw fail('`clientId` is required');
  const tokenEndpoint = optionalUrl(options.tokenEndpoint, 'tokenEndpoint');
  const issuerBaseURL = optionalUrl(options.issuerBaseURL, 'issuerBaseURL');
  if (tokenEndpoint === undefined && issuerBaseURL === undefined) {
    throw fail('`tokenEndpoint` or `issuerBaseURL` is required');
  }
  const timeout = duration(options.timeout, 'timeout', 10, MAX_TIMEOUT, false);
  const expiryMargin = duration(options.expiryMargin, 'expiryMargin', 60, MAX_EXPIRY_MARGIN, true);
  const retries = options.retries ?? 2;
  if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0 || retries > 10) {
    throw fail('`retries` must be an integer from 0 to 10');
  }
  // Looked up per call, so that a global fetch patched later (test doubles, APM agents) is used.
  const fetchImpl: unknown =
    options.fetch ?? ((input: string | URL | Request, init?: RequestInit) => fetch(input, init));
  if (typeof fetchImpl !== 'function') throw fail('`fetch` must be a function');

  const audience = optionalString(options.audience, 'audience');
  const organization = optionalString(options.organization, 'organization');
  const scopes = stringList(options.scope, 'scope')
    .flatMap((value) => value.split(' '))
    .filter((s) => s !== '');
  const scope = scopes.length > 0 ? [...new Set(scopes)].join(' ') : undefined;
  const resources = stringList(options.resource, 'resource');
  for (const resource of resources) {
    // RFC 8707 §2: an absolute URI without a fragment.
    if (!URL.canParse(resource) || resource.includes('#')) {
      throw fail('each `resource` must be an absolute URI without a fragment');
    }
  }

  const params: [string, string][] = [];
  if (audience !== undefined) params.push(['audience', audience]);
  if (scope !== undefined) params.push(['scope', scope]);
  for (const resource of resources) params.push(['resource', resource]);
  if (organization !== undefined) params.push(['organization', organization]);
  const extra = options.extraParams;
  if (extra !== undefined) {
    if (typeof extra !== 'object' || extra === null) throw fail('`extraParams` must be an object of strings');
    for (const [name, value] of Object.entries(extra)) {
      if (RESERVED_PARAMS.has(name)) throw fail(`\`extraParams\` cannot set ${name}; use the dedicated option`);
      if (typeof value !== 'string') throw fail('`extraParams` must be an object of strings');
      params.push([name, value]);
    }
  }
  return {
    issuerBaseURL,
    tokenEndpoint,
    clientId,
    params,
    timeout,
    retries,
    expiryMargin,
    audience,
    scope,
    fetch: fetchImpl as FetchImplementation,
  };
}

/** A non-empty string option, or `undefined` when absent. */
export function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw fail(`\`${name}\` must be a non-empty string`);
  return value;
}

function optionalUrl(value: unknown, name: string): string | undefined {
  const text = optionalString(value, name);
  if (text === undefined) return undefined;
  const problem = httpUrlProblem(text);
  if (problem !== undefined) throw fail(`\`${name}\` ${problem}`);
  return text;
}

function duration(value: unknown, name: string, fallback: number, max: number, zeroAllowed: boolean): number {
  if (value === undefined) return fallback;
  const valid =
    typeof value === 'number' && Number.isFinite(value) && (zeroAllowed ? value >= 0 : value > 0) && value <= max;
  if (!valid)
    throw fail(`\`${name}\` must be ${zeroAllowed ? '' : 'more than 0 and '}at most ${max} (durations are in seconds)`);
  return value;
}

function stringList(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
    throw fail(`\`${name}\` must be a string or an array of strings`);
  }
  return list as string[];
}
