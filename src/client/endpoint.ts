/**
 * Locating the token endpoint from the issuer's metadata (OpenID Connect Discovery, then
 * RFC 8414), with the conventional `{issuerBaseURL}/oauth/token` as the fallback.
 *
 * @module
 */
import { isJsonObject } from '../json.js';
import { discoveryUrls } from '../keys/discovery.js';
import { isRetryableStatus, parseRetryAfter } from './retry.js';
import { exchange, TransportError } from './http.js';
import type { FetchImplementation } from './options.js';

/** Result of one discovery run. */
export type DiscoveryOutcome =
  /** A metadata document named a usable token endpoint: the only answer worth keeping for good. */
  | { kind: 'found'; tokenEndpoint: string }
  /**
   * Every document answered, and none named a usable token endpoint (404s, HTML, a plain-http
   * endpoint for an https issuer): use the fallback for now, and look again later — a 404
   * during a deployment or a misrouted proxy must not pin the fallback for the process's life.
   */
  | { kind: 'absent'; tokenEndpoint: string }
  /** A document could not be read for a reason that may pass (network, timeout, 5xx, 429): try again later. */
  | {
      kind: 'transient';
      error: 'network_error' | 'timeout' | 'invalid_response';
      status?: number;
      retryAfter?: number;
      cause?: unknown;
    };

/** `{issuerBaseURL}/oauth/token`, the Auth0 convention, used when the issuer publishes no metadata. */
export function fallbackTokenEndpoint(issuerBaseURL: string): string {
  return `${issuerBaseURL.replace(/\/+$/, '')}/oauth/token`;
}

/** Fetches the issuer's metadata and reads `token_endpoint`. Never throws. */
export async function discoverTokenEndpoint(
  issuerBaseURL: string,
  timeout: number,
  fetchImpl: FetchImplementation,
): Promise<DiscoveryOutcome> {
  let transient: DiscoveryOutcome | undefined;
  for (const url of discoveryUrls(issuerBaseURL)) {
    let response;
    try {
      response = await exchange(url, { headers: { accept: 'application/json' } }, timeout, fetchImpl);
    } catch (error) {
      const kind = error instanceof TransportError ? error.kind : 'network_error';
      transient ??= { kind: 'transient', error: kind, cause: error };
      continue;
    }
    if (response.status === 200) {
      const tokenEndpoint = readTokenEndpoint(response.body, new URL(issuerBaseURL).protocol);
      if (tokenEndpoint !== undefined) return { kind: 'found', tokenEndpoint };
    } else if (isRetryableStatus(response.status)) {
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      transient ??= {
        kind: 'transient',
        error: 'invalid_response',
        status: response.status,
        ...(retryAfter !== undefined && { retryAfter }),
      };
    }
  }
  return transient ?? { kind: 'absent', tokenEndpoint: fallbackTokenEndpoint(issuerBaseURL) };
}

function readTokenEndpoint(body: string | undefined, baseProtocol: string): string | undefined {
  if (body === undefined) return undefined;
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isJsonObject(document)) return undefined;
  const value = document.token_endpoint;
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    // An https issuer pointing credentials at a plain-http endpoint is a downgrade: ignore it.
    const allowed =
      baseProtocol === 'https:' ? url.protocol === 'https:' : url.protocol === 'https:' || url.protocol === 'http:';
    // Verbatim: a private_key_jwt assertion's aud must match the server's own spelling.
    return allowed ? value : undefined;
  } catch {
    return undefined;
  }
}
