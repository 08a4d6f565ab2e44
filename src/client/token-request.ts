/**
 * Obtaining one token: locating the token endpoint, sending the client-credentials request
 * (with client authentication and, for DPoP, a proof), and retrying what may pass.
 *
 * @module
 */
import type { ClientAuthentication } from './client-auth.js';
import type { DPoPSigner } from './dpop.js';
import { discoverTokenEndpoint } from './endpoint.js';
import { TokenRequestError } from './errors.js';
import { exchange, TransportError, type HttpResponse } from './http.js';
import type { ClientSettings } from './options.js';
import { backoffDelay, MAX_RETRY_AFTER, sleep } from './retry.js';
import { readTokenResponse, type Attempt, type Failure, type ObtainedToken } from './token-response.js';

/**
 * How long a discovery that found no token endpoint (404s, no `token_endpoint`) is trusted, in
 * ms. Meanwhile the conventional `{issuerBaseURL}/oauth/token` is used; then discovery runs
 * again, so a transient 404 (a deployment, a misrouted proxy) does not pin the fallback for
 * the life of the process. Only a document that names a usable endpoint is kept for good.
 */
export const DISCOVERY_RETRY_MS = 5 * 60 * 1000;

/** Test seams: a clock and a random source. */
export interface Seams {
  /** Milliseconds since the epoch. */
  now: () => number;
  /** Uniform in [0, 1); drives the backoff jitter. */
  random: () => number;
}

/** Sends token requests for one client. */
export class TokenRequester {
  readonly #settings: ClientSettings;
  readonly #auth: ClientAuthentication;
  readonly #dpop: DPoPSigner | undefined;
  readonly #seams: Seams;
  /** The configured or discovered endpoint: kept for good. */
  #endpoint: string | undefined;
  /** The fallback after a discovery that found nothing, and until when (ms) it is used. */
  #fallback: { url: string; until: number } | undefined;

  constructor(settings: ClientSettings, auth: ClientAuthentication, dpop: DPoPSigner | undefined, seams: Seams) {
    this.#settings = settings;
    this.#auth = auth;
    this.#dpop = dpop;
    this.#seams = seams;
    this.#endpoint = settings.tokenEndpoint;
  }

  /** The token endpoint in use, once known. */
  get tokenEndpoint(): string | undefined {
    return this.#endpoint ?? this.#fallback?.url;
  }

  /**
   * One token, after up to `retries` further attempts for failures that may pass.
   *
   * @throws {@link TokenRequestError}
   */
  async request(): Promise<ObtainedToken> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#attempt();
      if (outcome.ok) return outcome.token;
      const { failure } = outcome;
      const { retryAfter } = failure;
      const giveUp =
        !failure.retryable ||
        attempt >= this.#settings.retries ||
        (retryAfter !== undefined && retryAfter > MAX_RETRY_AFTER);
      if (giveUp) {
        throw new TokenRequestError(retryAfter === undefined ? failure.init : { ...failure.init, retryAfter });
      }
      await sleep(retryAfter !== undefined ? retryAfter * 1000 : backoffDelay(attempt, this.#seams.random));
    }
  }

  async #attempt(): Promise<Attempt> {
    const started = this.#seams.now();
    const endpoint = await this.#locateTokenEndpoint();
    if (typeof endpoint !== 'string') return { ok: false, failure: endpoint };
    let response = await this.#send(endpoint);
    // RFC 9449 §8: a server demanding a nonce answers 400 use_dpop_nonce with one; resend once with it.
    if (this.#dpop !== undefined && !(response instanceof TransportError)) {
      const fresh = this.#dpop.rememberNonce(endpoint, response.headers);
      if (fresh && response.status === 400 && isUseDpopNonce(response.body)) {
        response = await this.#send(endpoint);
        if (!(response instanceof TransportError)) this.#dpop.rememberNonce(endpoint, response.headers);
      }
    }
    if (response instanceof TransportError) return { ok: false, failure: transportFailure(response) };
    return readTokenResponse(response, {
      started,
      now: this.#seams.now(),
      expiryMargin: this.#settings.expiryMargin,
      tokenType: this.#dpop === undefined ? 'Bearer' : 'DPoP',
      auth: this.#auth,
    });
  }

  /** One POST to the token endpoint, with fresh client authentication (a new assertion `jti`) and proof. */
  async #send(endpoint: string): Promise<HttpResponse | TransportError> {
    const { headers: authHeaders, params } = await this.#auth.authenticate(endpoint);
    const body = new URLSearchParams({ grant_type: 'client_credentials', ...params });
    for (const [name, value] of this.#settings.params) body.append(name, value);
    const headers: Record<string, string> = {
      ...authHeaders,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (this.#dpop !== undefined) headers.dpop = await this.#dpop.proof('POST', endpoint);
    try {
      return await exchange(
        endpoint,
        { method: 'POST', headers, body: body.toString() },
        this.#settings.timeout,
        this.#settings.fetch,
      );
    } catch (error) {
      return error instanceof TransportError
        ? error
        : new TransportError('network_error', 'token endpoint could not be reached', { cause: error });
    }
  }

  /** The token endpoint, or the failure that prevented finding it (only transient ones: the rest fall back). */
  async #locateTokenEndpoint(): Promise<string | Failure> {
    if (this.#endpoint !== undefined) return this.#endpoint;
    if (this.#fallback !== undefined && this.#seams.now() < this.#fallback.until) return this.#fallback.url;
    const issuer = this.#settings.issuerBaseURL as string;
    const outcome = await discoverTokenEndpoint(issuer, this.#settings.timeout, this.#settings.fetch);
    if (outcome.kind === 'found') {
      this.#endpoint = outcome.tokenEndpoint;
      this.#fallback = undefined;
      return outcome.tokenEndpoint;
    }
    if (outcome.kind === 'absent') {
      this.#fallback = { url: outcome.tokenEndpoint, until: this.#seams.now() + DISCOVERY_RETRY_MS };
      return outcome.tokenEndpoint;
    }
    // A network error or 5xx while looking again: keep using the fallback that worked so far.
    if (this.#fallback !== undefined) return this.#fallback.url;
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
}

/** True for an RFC 9449 §8 `{"error":"use_dpop_nonce"}` body. */
function isUseDpopNonce(body: string | undefined): boolean {
  try {
    return (JSON.parse(body ?? '') as { error?: unknown } | null)?.error === 'use_dpop_nonce';
  } catch {
    return false;
  }
}

function transportFailure(error: TransportError): Failure {
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
