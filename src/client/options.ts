/**
 * The token client's public types and the parsing of its options.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { OptionProblems } from '../options/readers.js';
import type { ClientAssertionAlgorithm, TokenEndpointAuthMethod } from './client-auth.js';

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

/** Every option of `createTokenClient`: anything else is refused, since a misspelt option would be ignored. */
const OPTION_KEYS = [
  'issuerBaseURL',
  'tokenEndpoint',
  'clientId',
  'clientSecret',
  'privateKey',
  'privateKeyAlg',
  'privateKeyId',
  'assertionAudience',
  'tokenEndpointAuthMethod',
  'audience',
  'resource',
  'scope',
  'organization',
  'extraParams',
  'timeout',
  'retries',
  'expiryMargin',
  'fetch',
  'dpop',
] as const satisfies readonly (keyof TokenClientOptions)[];

/**
 * Validates every non-credential option, recording each problem in `problems` (which names the
 * option, never its value) instead of stopping at the first.
 *
 * @returns the settings, with defaults in place of the options that had a problem.
 */
export function readSettings(problems: OptionProblems, options: TokenClientOptions): ClientSettings {
  problems.unknownKeys(options as unknown as Record<string, unknown>, OPTION_KEYS);
  const clientId = problems.nonEmptyString(options.clientId, 'clientId');
  if (options.clientId === undefined) problems.add('`clientId` is required');
  // In code, an empty URL is a mistake, not "use the other one".
  const tokenEndpoint = problems.url(problems.nonEmptyString(options.tokenEndpoint, 'tokenEndpoint'), 'tokenEndpoint');
  const issuerBaseURL = problems.url(problems.nonEmptyString(options.issuerBaseURL, 'issuerBaseURL'), 'issuerBaseURL');
  if (options.tokenEndpoint === undefined && options.issuerBaseURL === undefined) {
    problems.add('`tokenEndpoint` or `issuerBaseURL` is required');
  }
  const timeout = problems.seconds(options.timeout, 'timeout', { fallback: 10, max: MAX_TIMEOUT, positive: true });
  const expiryMargin = problems.seconds(options.expiryMargin, 'expiryMargin', { fallback: 60, max: MAX_EXPIRY_MARGIN });
  const retries = problems.integerBetween(options.retries, 'retries', { fallback: 2, min: 0, max: 10 });
  // `null` has always meant the default here. The default is looked up per call, so that a
  // global fetch patched later (test doubles, APM agents) is used.
  const fetchImpl =
    problems.function<FetchImplementation>(options.fetch ?? undefined, 'fetch') ??
    ((input: string | URL | Request, init?: RequestInit) => fetch(input, init));

  const audience = problems.nonEmptyString(options.audience, 'audience');
  const organization = problems.nonEmptyString(options.organization, 'organization');
  const scopes = problems
    .strings(options.scope, 'scope')
    .flatMap((value) => value.split(' '))
    .filter((s) => s !== '');
  const scope = scopes.length > 0 ? [...new Set(scopes)].join(' ') : undefined;
  const resources = problems.strings(options.resource, 'resource');
  // RFC 8707 §2: an absolute URI without a fragment.
  if (resources.some((resource) => !URL.canParse(resource) || resource.includes('#'))) {
    problems.add('each `resource` must be an absolute URI without a fragment');
  }

  const params: [string, string][] = [];
  if (audience !== undefined) params.push(['audience', audience]);
  if (scope !== undefined) params.push(['scope', scope]);
  for (const resource of resources) params.push(['resource', resource]);
  if (organization !== undefined) params.push(['organization', organization]);
  params.push(...readExtraParams(problems, options.extraParams));
  return {
    issuerBaseURL,
    tokenEndpoint,
    clientId: clientId ?? '',
    params,
    timeout,
    retries,
    expiryMargin,
    audience,
    scope,
    fetch: fetchImpl,
  };
}

function readExtraParams(problems: OptionProblems, value: unknown): [string, string][] {
  const extra = problems.object(value, 'extraParams');
  if (extra === undefined) return [];
  const params: [string, string][] = [];
  for (const [name, param] of Object.entries(extra)) {
    if (RESERVED_PARAMS.has(name)) problems.add(`\`extraParams\` cannot set ${name}; use the dedicated option`);
    else if (typeof param === 'string') params.push([name, param]);
  }
  if (Object.values(extra).some((param) => typeof param !== 'string')) {
    problems.add('`extraParams` must be an object of strings');
  }
  return params;
}
