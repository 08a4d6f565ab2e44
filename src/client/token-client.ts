/**
 * The caller side: obtains client-credentials access tokens, caches them until shortly
 * before they expire, and calls APIs with them.
 *
 * @module
 */
import { inspect, type InspectOptions } from 'node:util';
import { createClientAuthentication, type TokenEndpointAuthMethod } from './client-auth.js';
import { authenticatedFetch } from './authenticated-fetch.js';
import { readDPoPSigner, type DPoPSigner } from './dpop.js';
import { OptionProblems, optionError } from '../options/readers.js';
import {
  readSettings,
  type ClientSettings,
  type CreateProofOptions,
  type DPoPHeaders,
  type GetTokenOptions,
  type TokenClient,
  type TokenClientOptions,
} from './options.js';
import { TokenCache } from './token-cache.js';
import { TokenRequester, type Seams } from './token-request.js';

/** The factory named in option problems. */
const FACTORY = 'createTokenClient';

/** Test seams: a clock and a random source. Not part of the public API. */
export type TokenClientInternals = Partial<Seams>;

/**
 * Creates a client for the OAuth 2.0 client-credentials grant (RFC 6749 §4.4).
 *
 * The options are validated at once; nothing is fetched until the first `getToken()`.
 * The secret or private key is kept privately: it never appears in an error, a log line,
 * or `JSON.stringify`/`util.inspect` of the client.
 *
 * @example
 * ```ts
 * const client = createTokenClient({ issuerBaseURL, clientId, clientSecret, audience: 'https://api.example.com' });
 * const res = await client.fetch('https://api.example.com/orders');
 * ```
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

class DefaultTokenClient implements TokenClient {
  readonly clientId: string;
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  readonly #settings: ClientSettings;
  readonly #requester: TokenRequester;
  readonly #cache: TokenCache;
  readonly #dpop: DPoPSigner | undefined;

  constructor(options: TokenClientOptions, internals: TokenClientInternals) {
    if (typeof options !== 'object' || options === null) throw optionError(FACTORY, 'needs an options object');
    // Every problem is collected first, so that a configuration with several is fixed in one go.
    const problems = new OptionProblems(FACTORY);
    this.#settings = readSettings(problems, options);
    this.clientId = this.#settings.clientId;
    const privateKeyId = problems.nonEmptyString(options.privateKeyId, 'privateKeyId');
    const assertionAudience = problems.nonEmptyString(options.assertionAudience, 'assertionAudience');
    const auth = problems.collect(() =>
      createClientAuthentication({
        clientId: this.clientId,
        clientSecret: options.clientSecret,
        privateKey: options.privateKey,
        privateKeyAlg: options.privateKeyAlg,
        privateKeyId,
        assertionAudience,
        tokenEndpointAuthMethod: options.tokenEndpointAuthMethod,
      }),
    );
    const seams: Seams = { now: internals.now ?? Date.now, random: internals.random ?? Math.random };
    const dpop = options.dpop === undefined ? undefined : readDPoPSigner(problems, options.dpop, seams.now);
    problems.throwIfAny();
    // Nothing was recorded, so `collect` returned the authentication.
    if (auth === undefined) throw optionError(FACTORY, 'client authentication could not be configured');
    this.tokenEndpointAuthMethod = auth.method;
    this.#dpop = dpop;
    this.#requester = new TokenRequester(this.#settings, auth, this.#dpop, seams);
    this.#cache = new TokenCache(() => this.#requester.request(), seams.now);
  }

  getToken(options: GetTokenOptions = {}): Promise<string> {
    return this.#cache.get(options.forceRefresh === true);
  }

  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    return authenticatedFetch({ cache: this.#cache, fetch: this.#settings.fetch, dpop: this.#dpop }, input, init);
  }

  async createProof(method: string, url: string | URL, options: CreateProofOptions = {}): Promise<DPoPHeaders> {
    if (this.#dpop === undefined) throw optionError(FACTORY, 'createProof needs the `dpop` option');
    const { accessToken, nonce } = options;
    const dpop = await this.#dpop.proof(method, url, { accessToken, nonce });
    return accessToken === undefined ? { dpop } : { authorization: `DPoP ${accessToken}`, dpop };
  }

  toJSON(): Record<string, unknown> {
    const { audience, scope, issuerBaseURL } = this.#settings;
    const tokenEndpoint = this.#requester.tokenEndpoint;
    return {
      clientId: this.clientId,
      tokenEndpointAuthMethod: this.tokenEndpointAuthMethod,
      ...(issuerBaseURL !== undefined && { issuerBaseURL }),
      ...(tokenEndpoint !== undefined && { tokenEndpoint }),
      ...(audience !== undefined && { audience }),
      ...(scope !== undefined && { scope }),
      ...(this.#dpop !== undefined && { dpop: this.#dpop.toJSON() }),
    };
  }

  [inspect.custom](_depth: number, options: InspectOptions): string {
    return `TokenClient ${inspect(this.toJSON(), options)}`;
  }
}
