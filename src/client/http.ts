/**
 * One bounded HTTP exchange for the token client: a timeout that covers the body too, a size
 * cap enforced while streaming, and no automatic redirects.
 *
 * @module
 */
import { readBoundedBody } from '../bounded-body.js';

/** Largest token-endpoint or discovery response read, in bytes. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** A fully read response. */
export interface HttpResponse {
  status: number;
  headers: Headers;
  /** The body as text; `undefined` when it exceeded {@link MAX_RESPONSE_BYTES}. */
  body: string | undefined;
}

/** Why no response could be obtained. */
export class TransportError extends Error {
  constructor(
    readonly kind: 'timeout' | 'network_error',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

/**
 * Performs one request and reads the whole response within `timeout` seconds.
 *
 * Redirects are not followed: a token request carries credentials, and a redirect would
 * replay them to wherever the `Location` points.
 *
 * @throws {@link TransportError} on timeout or network failure.
 */
export async function exchange(url: string, init: RequestInit, timeout: number): Promise<HttpResponse> {
  const signal = AbortSignal.timeout(timeout * 1000);
  const origin = new URL(url).origin;
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal, redirect: 'manual' });
  } catch (error) {
    throw transportError(signal, origin, error);
  }
  let body: string | undefined;
  try {
    body = await readBoundedBody(response, MAX_RESPONSE_BYTES);
  } catch (error) {
    throw transportError(signal, origin, error);
  }
  return { status: response.status, headers: response.headers, body };
}

function transportError(signal: AbortSignal, origin: string, cause: unknown): TransportError {
  return signal.aborted
    ? new TransportError('timeout', `no answer from ${origin} in time`)
    : new TransportError('network_error', `request to ${origin} failed`, { cause });
}
