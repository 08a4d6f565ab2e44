/**
 * One bounded HTTP exchange for the token client: a timeout that covers the body too, a size
 * cap enforced while streaming, and no automatic redirects.
 *
 * @module
 */
import { readBoundedBody } from '../bounded-body.js';
import type { FetchImplementation } from './options.js';

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
 * `fetchImpl` is the caller's `fetch`; the timeout and the size cap apply whatever it is.
 *
 * @throws {@link TransportError} on timeout or network failure.
 */
export async function exchange(
  url: string,
  init: RequestInit,
  timeout: number,
  fetchImpl: FetchImplementation,
): Promise<HttpResponse> {
  const signal = AbortSignal.timeout(timeout * 1000);
  const origin = new URL(url).origin;
  let response: Response;
  try {
    response = await untilAborted(fetchImpl(url, { ...init, signal, redirect: 'manual' }), signal);
  } catch (error) {
    throw transportError(signal, origin, error);
  }
  let body: string | undefined;
  try {
    body = await untilAborted(readBoundedBody(response, MAX_RESPONSE_BYTES), signal);
  } catch (error) {
    throw transportError(signal, origin, error);
  }
  return { status: response.status, headers: response.headers, body };
}

/**
 * `work`, or a rejection as soon as `signal` aborts: a custom `fetch` that ignores the signal
 * must not be able to hold a token request past its timeout.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason);
      // A response that arrives after the timeout is not read: release its connection.
      work.then((late) => (late instanceof Response ? late.body?.cancel() : undefined)).catch(() => undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function transportError(signal: AbortSignal, origin: string, cause: unknown): TransportError {
  return signal.aborted
    ? new TransportError('timeout', `no answer from ${origin} in time`)
    : new TransportError('network_error', `request to ${origin} failed`, { cause });
}
