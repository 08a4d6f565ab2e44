/**
 * The caller side: obtains client-credentials access tokens, caches them until shortly
 * before they expire, and calls APIs with them.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { inspect, type InspectOptions } from 'node:util';
import type { JWK } from 'jose';
import { decodeJwt } from 'jose';
import {
  createClientAuthentication,
  type ClientAssertionAlgorithm,
  type ClientAuthentication,
  type TokenEndpointAuthMethod,
} from './client-auth.js';
import { discoverTokenEndpoint } from './endpoint.js';
import { TokenRequestError, type TokenRequestErrorInit } from './errors.js';
import { exchange, TransportError, type HttpResponse } from './http.js';
import { Redactor } from './redact.js';
import { backoffDelay, isRetryableStatus, MAX_RETRY_AFTER, parseRetryAfter, sleep } from './retry.js';
import { httpUrlProblem } from '../http-url.js';

/** Options of {@link createTokenClient}. Every duration is a number of seconds. */
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
  /**
   * `aud` of the client assertion. Default: the token endpoint URL. Auth0 expects the tenant
   * URL with a trailing slash (`https://tenant.auth0.com/`).
   */
  assertionAudience?: string;
  /**
   * Default `client_secret_post`, or `private_key_jwt` when only `privateKey` is given.
   */
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
  /** Seconds for each HTTP request to the authorization server, body included. Default 10. */
  timeout?: number;
  /** Extra attempts after a network error, timeout, 408, 429 or 5xx. Default 2. */
  retries?: number;
  /** Refresh this many seconds before the token expires; never more than half its lifetime. Default 60. */
  expiryMargin?: number;
}

/** Options of {@link TokenClient.getToken}. */
export interface GetTokenOptions {
  /** Ignore the cached token and request a new one (joining a request already under way). */
  forceRefresh?: boolean;
}

/** A client-credentials token client, from {@link createTokenClient}. */
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
   * The global `fetch`, with `Authorization: Bearer <token>` set (replacing any). When the API
   * answers 401 with `error="invalid_token"`, the token is dropped and the request is sent
   * once more with a fresh one — unless its body is a stream (or a `Request`'s body) that
   * cannot be sent twice; then the 401 is returned.
   *
   * The `timeout` option does not apply to the API call itself; pass `init.signal`
   * (e.g. `AbortSignal.timeout(5000)`) for that.
   *
   * @throws {@link TokenRequestError} when no token could be obtained; whatever `fetch` throws otherwise.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
}

/** Test seams: a clock and a random source. Not part of the public API. */
export interface TokenClientInternals {
  /** Milliseconds since the epoch; drives the token cache. */
  now?: () => number;
  /** Uniform in [0, 1); drives the backoff jitter. */
  random?: () => number;
}

/**
 * Creates a client for the OAuth 2.0 client-credentials grant (RFC 6749 §4.4).
 *
 * The options are validated at once; nothing is fetched until the first `getToken()`.
 * The secret or private key is kept privately: it never appears in an error, a log line,
 * or `JSON.stringify`/`util.inspect` of the client.
 *
 * @throws TypeError when an option is missing or invalid.
 */
export function createTokenClient(options: TokenClientOptions): TokenClient {
  return new DefaultTokenClient(options, {});
}

/**
 * {@link createTokenClient} with test seams.
 *
 * @internal
 */
export function createTokenClientWithInternals(
  options: TokenClientOptions,
  internals: TokenClientInternals,
): TokenClient {
  return new DefaultTokenClient(options, internals);
}

/** Cache lifetime of a token whose lifetime is unknown (no `expires_in`, no JWT `exp`). */
const UNKNOWN_LIFETIME = 60;
/** Clearly-safe characters of an access token placed in a header (visible ASCII). */
const HEADER_SAFE = /^[\x21-\x7E]+$/;
/** RFC 6749 §5.2 characters of an `error` code. */
const ERROR_CODE = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,100}$/;
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

interface CachedToken {
  accessToken: string;
  /** ms: from here on a new token is requested. */
  refreshAt: number;
}

interface Failure {
  init: TokenRequestErrorInit;
  retryable: boolean;
  /** Seconds, from `Retry-After`. */
  retryAfter?: number | undefined;
}

type Attempt = { ok: true; token: CachedToken } | { ok: false; failure: Failure };

interface ResolvedSettings {
  issuerBaseURL: string | undefined;
  tokenEndpoint: string | undefined;
  clientId: string;
  params: [string, string][];
  timeout: number;
  retries: number;
  expiryMargin: number;
  audience: string | undefined;
  scope: string | undefined;
}

class DefaultTokenClient implements TokenClient {
  readonly clientId: string;
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  readonly #settings: ResolvedSettings;
  readonly #auth: ClientAuthentication;
  readonly #redactor = new Redactor();
  readonly #now: () => number;
  readonly #random: () => number;
  #tokenEndpoint: string | undefined;
  #cached: CachedToken | undefined;
  #inflight: Promise<string> | undefined;

  constructor(options: TokenClientOptions, internals: TokenClientInternals) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('express-m2m: createTokenClient needs an options object');
    }
    this.#settings = resolveSettings(options);
    this.clientId = this.#settings.clientId;
    this.tokenEndpointAuthMethod = chooseMethod(options);
    this.#auth = createClientAuthentication(
      {
        method: this.tokenEndpointAuthMethod,
        clientId: this.clientId,
        clientSecret: options.clientSecret,
        privateKey: options.privateKey,
        privateKeyAlg: options.privateKeyAlg,
        privateKeyId: optionalString(options.privateKeyId, 'privateKeyId'),
        assertionAudience: optionalString(options.assertionAudience, 'assertionAudience'),
      },
      this.#redactor,
    );
    this.#tokenEndpoint = this.#settings.tokenEndpoint;
    this.#now = internals.now ?? Date.now;
    this.#random = internals.random ?? Math.random;
  }

  getToken(options: GetTokenOptions = {}): Promise<string> {
    const cached = this.#cached;
    if (options.forceRefresh !== true && cached !== undefined && this.#now() < cached.refreshAt) {
      return Promise.resolve(cached.accessToken);
    }
    this.#inflight ??= this.#requestToken()
      .then((token) => {
        this.#cached = token;
        return token.accessToken;
      })
      .finally(() => {
        this.#inflight = undefined;
      });
    return this.#inflight;
  }

  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const replayable = isReplayable(input, init);
    const send = (token: string): Promise<Response> => {
      const headers = new Headers(init?.headers ?? (isRequest(input) ? input.headers : undefined));
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    const token = await this.getToken();
    const response = await send(token);
    if (response.status !== 401 || !replayable || !isInvalidTokenChallenge(response.headers.get('www-authenticate'))) {
      return response;
    }
    // The API no longer accepts this token (revoked, keys rotated, clock skew): one retry with a new one.
    await response.body?.cancel().catch(() => undefined);
    this.#invalidate(token);
    return send(await this.getToken());
  }

  toJSON(): Record<string, unknown> {
    const { audience, scope, issuerBaseURL } = this.#settings;
    return {
      clientId: this.clientId,
      tokenEndpointAuthMethod: this.tokenEndpointAuthMethod,
      ...(issuerBaseURL !== undefined && { issuerBaseURL }),
      ...(this.#tokenEndpoint !== undefined && { tokenEndpoint: this.#tokenEndpoint }),
      ...(audience !== undefined && { audience }),
      ...(scope !== undefined && { scope }),
    };
  }

  [inspect.custom](_depth: number, options: InspectOptions): string {
    return `TokenClient ${inspect(this.toJSON(), options)}`;
  }

  /** Drops the cached token if it is the one an API refused, so concurrent refusals cause one refresh. */
  #invalidate(token: string): void {
    if (this.#cached?.accessToken === token) this.#cached = undefined;
  }

  async #requestToken(): Promise<CachedToken> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#attempt();
      if (outcome.ok) return outcome.token;
      const { failure } = outcome;
      const { retryAfter } = failure;
      const giveUp =
        !failure.retryable ||
        attempt >= this.#settings.retries ||
        (retryAfter !== undefined && retryAfter > MAX_RETRY_AFTER);
      if (giveUp)
        throw new TokenRequestError(retryAfter === undefined ? failure.init : { ...failure.init, retryAfter });
      await sleep(retryAfter !== undefined ? retryAfter * 1000 : backoffDelay(attempt, this.#random));
    }
  }

  async #attempt(): Promise<Attempt> {
    const started = this.#now();
    const endpoint = await this.#locateTokenEndpoint();
    if (typeof endpoint !== 'string') return { ok: false, failure: endpoint };
    const { headers, params } = await this.#auth.authenticate(endpoint);
    const body = new URLSearchParams({ grant_type: 'client_credentials', ...params });
    for (const [name, value] of this.#settings.params) body.append(name, value);
    let response: HttpResponse;
    try {
      response = await exchange(
        endpoint,
        {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: body.toString(),
        },
        this.#settings.timeout,
      );
    } catch (error) {
      return { ok: false, failure: transportFailure(error) };
    }
    return this.#readResponse(response, started);
  }

  /** The token endpoint, or the failure that prevented finding it (only transient ones: the rest fall back). */
  async #locateTokenEndpoint(): Promise<string | Failure> {
    if (this.#tokenEndpoint !== undefined) return this.#tokenEndpoint;
    const outcome = await discoverTokenEndpoint(this.#settings.issuerBaseURL as string, this.#settings.timeout);
    if (outcome.kind !== 'transient') {
      this.#tokenEndpoint = outcome.tokenEndpoint;
      return outcome.tokenEndpoint;
    }
    return {
      init: {
        error: outcome.error,
        error_description:
          outcome.status === undefined ? 'discovery document could not be fetched' : 'discovery document unavailable',
        status: outcome.status,
        cause: outcome.cause,
      },
      retryable: true,
      retryAfter: outcome.retryAfter,
    };
  }

  #readResponse(response: HttpResponse, started: number): Attempt {
    const { status } = response;
    const document = parseJsonObject(response.body);
    if (status >= 200 && status < 300) {
      if (document === undefined) return invalid(status, 'token response is not a JSON object');
      return this.#readToken(document, status, started);
    }
    const retryable = isRetryableStatus(status);
    const retryAfter = retryable ? parseRetryAfter(response.headers.get('retry-after'), this.#now()) : undefined;
    const code = document?.error;
    if (typeof code === 'string' && ERROR_CODE.test(code)) {
      const description = document?.error_description;
      return {
        ok: false,
        failure: {
          init: {
            error: this.#redactor.sanitize(code),
            error_description: typeof description === 'string' ? this.#redactor.sanitize(description) : undefined,
            status,
          },
          retryable,
          retryAfter,
        },
      };
    }
    const description =
      status >= 300 && status < 400
        ? 'token endpoint answered with a redirect'
        : `token endpoint answered HTTP ${status} without an OAuth error`;
    return {
      ok: false,
      failure: { init: { error: 'invalid_response', error_description: description, status }, retryable, retryAfter },
    };
  }

  #readToken(document: Record<string, unknown>, status: number, started: number): Attempt {
    const { access_token: accessToken, token_type: tokenType } = document;
    if (typeof accessToken !== 'string' || accessToken === '')
      return invalid(status, 'token response has no access_token');
    if (!HEADER_SAFE.test(accessToken))
      return invalid(status, 'access_token contains characters not allowed in a header');
    // A DPoP- or MAC-bound token would be refused by a Bearer API; say so here rather than there.
    if (tokenType !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')) {
      return invalid(status, 'token_type is not Bearer');
    }
    const lifetime = readLifetime(document.expires_in) ?? jwtLifetime(accessToken, started);
    let refreshAt: number;
    if (lifetime === undefined) {
      refreshAt = started + UNKNOWN_LIFETIME * 1000;
    } else {
      // Lifetimes count from the request's start, not its end: a slow answer only makes us refresh earlier.
      const margin = Math.min(this.#settings.expiryMargin, lifetime / 2);
      refreshAt = started + (lifetime - margin) * 1000;
    }
    return { ok: true, token: { accessToken, refreshAt } };
  }
}

function invalid(status: number, description: string): Attempt {
  return {
    ok: false,
    failure: { init: { error: 'invalid_response', error_description: description, status }, retryable: false },
  };
}

function transportFailure(error: unknown): Failure {
  if (error instanceof TransportError) {
    return {
      init: {
        error: error.kind,
        error_description:
          error.kind === 'timeout' ? 'token endpoint did not answer in time' : 'token endpoint could not be reached',
        cause: error.cause,
      },
      retryable: true,
    };
  }
  return {
    init: { error: 'network_error', error_description: 'token endpoint could not be reached', cause: error },
    retryable: true,
  };
}

function parseJsonObject(body: string | undefined): Record<string, unknown> | undefined {
  if (body === undefined || body === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    // The parser's message quotes the body, which may echo a secret: never keep it.
    return undefined;
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** `expires_in` in seconds; some servers send it as a numeric string. */
function readLifetime(value: unknown): number | undefined {
  const seconds = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  // 0 is a valid answer ("do not reuse this token"), unlike a missing or malformed value.
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/** The remaining lifetime of a JWT access token from its `exp`, when the response gave none. */
function jwtLifetime(accessToken: string, started: number): number | undefined {
  try {
    const { exp } = decodeJwt(accessToken);
    if (typeof exp !== 'number') return undefined;
    const remaining = exp - started / 1000;
    return remaining > 0 ? remaining : undefined;
  } catch {
    return undefined;
  }
}

/** True when a `WWW-Authenticate` value carries a challenge with `error="invalid_token"` (RFC 6750 §3.1). */
function isInvalidTokenChallenge(header: string | null): boolean {
  return header !== null && /(?:^|[\s,])error\s*=\s*(?:"invalid_token"|invalid_token)\s*(?:,|$)/i.test(header);
}

function isRequest(input: unknown): input is Request {
  return typeof input === 'object' && input !== null && !(input instanceof URL) && 'headers' in input && 'url' in input;
}

/** Whether the request could be sent a second time. */
function isReplayable(input: string | URL | Request, init: RequestInit | undefined): boolean {
  const body: unknown = init?.body;
  if (body === undefined || body === null) {
    // A Request's own body is a stream that the first send consumes.
    return !(isRequest(input) && input.body !== null);
  }
  if (
    typeof body === 'string' ||
    body instanceof URLSearchParams ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body)
  )
    return true;
  if (body instanceof Blob || body instanceof FormData) return true;
  // ReadableStream, Node streams and other async iterables can be read only once.
  return false;
}

function chooseMethod(options: TokenClientOptions): TokenEndpointAuthMethod {
  const { tokenEndpointAuthMethod: method, clientSecret, privateKey } = options;
  if (method !== undefined) return method;
  const hasSecret = clientSecret !== undefined;
  const hasKey = privateKey !== undefined;
  if (hasSecret && hasKey) {
    throw new TypeError(
      'express-m2m: createTokenClient: both `clientSecret` and `privateKey` are set; choose with `tokenEndpointAuthMethod`',
    );
  }
  return hasKey ? 'private_key_jwt' : 'client_secret_post';
}

function resolveSettings(options: TokenClientOptions): ResolvedSettings {
  const { clientId } = options;
  if (typeof clientId !== 'string' || clientId === '')
    throw new TypeError('express-m2m: createTokenClient: `clientId` is required');
  const tokenEndpoint = optionalUrl(options.tokenEndpoint, 'tokenEndpoint');
  const issuerBaseURL = optionalUrl(options.issuerBaseURL, 'issuerBaseURL');
  if (tokenEndpoint === undefined && issuerBaseURL === undefined) {
    throw new TypeError('express-m2m: createTokenClient: `tokenEndpoint` or `issuerBaseURL` is required');
  }
  const timeout = numberOption(options.timeout, 'timeout', 10, (n) => n > 0 && n <= 3600);
  const retries = numberOption(options.retries, 'retries', 2, (n) => Number.isInteger(n) && n >= 0 && n <= 10);
  const expiryMargin = numberOption(options.expiryMargin, 'expiryMargin', 60, (n) => n >= 0);

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
      throw new TypeError('express-m2m: createTokenClient: each `resource` must be an absolute URI without a fragment');
    }
  }

  const params: [string, string][] = [];
  if (audience !== undefined) params.push(['audience', audience]);
  if (scope !== undefined) params.push(['scope', scope]);
  for (const resource of resources) params.push(['resource', resource]);
  if (organization !== undefined) params.push(['organization', organization]);
  const extra = options.extraParams;
  if (extra !== undefined) {
    if (typeof extra !== 'object' || extra === null)
      throw new TypeError('express-m2m: createTokenClient: `extraParams` must be an object of strings');
    for (const [name, value] of Object.entries(extra)) {
      if (RESERVED_PARAMS.has(name)) {
        throw new TypeError(
          `express-m2m: createTokenClient: \`extraParams\` cannot set ${name}; use the dedicated option`,
        );
      }
      if (typeof value !== 'string')
        throw new TypeError('express-m2m: createTokenClient: `extraParams` must be an object of strings');
      params.push([name, value]);
    }
  }
  return { issuerBaseURL, tokenEndpoint, clientId, params, timeout, retries, expiryMargin, audience, scope };
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new TypeError(`express-m2m: createTokenClient: \`${name}\` must be a non-empty string`);
  return value;
}

function optionalUrl(value: unknown, name: string): string | undefined {
  const text = optionalString(value, name);
  if (text === undefined) return undefined;
  const problem = httpUrlProblem(text);
  if (problem !== undefined) throw new TypeError(`express-m2m: createTokenClient: \`${name}\` ${problem}`);
  return text;
}

function numberOption(value: unknown, name: string, fallback: number, valid: (n: number) => boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !valid(value)) {
    throw new TypeError(`express-m2m: createTokenClient: \`${name}\` is out of range`);
  }
  return value;
}

function stringList(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
    throw new TypeError(`express-m2m: createTokenClient: \`${name}\` must be a string or an array of strings`);
  }
  return list as string[];
}
