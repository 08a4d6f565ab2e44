/**
 * `client.fetch`: the caller's request with the access token (and, for DPoP, a proof) added,
 * and one retry when the API refuses the token or asks for a DPoP nonce.
 *
 * @module
 */
import type { DPoPSigner } from './dpop.js';
import type { FetchImplementation } from './options.js';
import type { TokenCache } from './token-cache.js';

/** What an authenticated fetch needs from its client. */
export interface FetchContext {
  cache: TokenCache;
  fetch: FetchImplementation;
  dpop: DPoPSigner | undefined;
}

/**
 * Sends `input`/`init` with the client's token. On a 401 `use_dpop_nonce` (DPoP), resends once
 * with the API's nonce; on a 401 `invalid_token`, resends once with a new token unless a refresh
 * was forced moments ago. Neither retry happens when the body cannot be sent twice.
 */
export async function authenticatedFetch(
  context: FetchContext,
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<Response> {
  const replayable = isReplayable(input, init);
  const url = isRequest(input) ? input.url : String(input);
  const method = init?.method ?? (isRequest(input) ? input.method : 'GET');
  const send = async (token: string, nonceRetried = false): Promise<Response> => {
    const headers = new Headers(init?.headers ?? (isRequest(input) ? input.headers : undefined));
    const { dpop } = context;
    if (dpop === undefined) {
      headers.set('authorization', `Bearer ${token}`);
    } else {
      headers.set('authorization', `DPoP ${token}`);
      headers.set('dpop', await dpop.proof(method, url, { accessToken: token }));
    }
    const response = await context.fetch(input, { ...init, headers });
    // RFC 9449 §8.2: the latest nonce an origin sent, on any answer, is the one to use next.
    const fresh = dpop?.rememberNonce(url, response.headers) ?? false;
    const retry =
      fresh && !nonceRetried && replayable && response.status === 401 && hasChallengeError(response, 'use_dpop_nonce');
    return retry ? send(await discard(response, token), true) : response;
  };
  const token = await context.cache.get();
  const response = await send(token);
  if (response.status !== 401 || !replayable || !hasChallengeError(response, 'invalid_token')) return response;
  // The API no longer accepts this token (revoked, keys rotated, clock skew): one retry with a new one.
  const next = context.cache.replaceRefused(token);
  if (next === undefined) return response;
  await discard(response, token);
  return send(await next);
}

async function discard<T>(response: Response, value: T): Promise<T> {
  await response.body?.cancel().catch(() => undefined);
  return value;
}

/** True when a `WWW-Authenticate` challenge carries `error="<code>"` (RFC 6750 §3.1, RFC 9449 §7.1). */
function hasChallengeError(response: Response, code: string): boolean {
  const header = response.headers.get('www-authenticate');
  if (header === null) return false;
  return new RegExp(`(?:^|[\\s,])error\\s*=\\s*(?:"${code}"|${code})\\s*(?:,|$)`, 'i').test(header);
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
    ArrayBuffer.isView(body) ||
    body instanceof Blob ||
    body instanceof FormData
  )
    return true;
  // ReadableStream, Node streams and other async iterables can be read only once.
  return false;
}
