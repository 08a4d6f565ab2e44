/**
 * Bounded JSON fetching for discovery documents and key sets: a timeout covering the whole
 * exchange, a size cap enforced while streaming (a huge body is never buffered), and
 * redirects followed only within the same origin. Over node:http/https, or the `fetch` option.
 *
 * @module
 */

import { fetchTransport, nodeTransport, type JsonResponse } from './transport.js';

/**
 * Why a discovery or key-set fetch failed, in a few words (`ECONNREFUSED`, `HTTP 404`,
 * `timed out`); callers add the URL. The message never includes response content.
 */
export class KeyFetchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyFetchError';
  }
}

/** Limits of one fetch. */
export interface FetchLimits {
  /** Seconds for the whole exchange, body included. */
  timeout: number;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** The `fetch` to use (a proxy, a private CA); node:http/https by default. */
  fetch?: typeof globalThis.fetch;
}

/**
 * The underlying cause of a failed request, for operators: a system error code
 * (`ECONNREFUSED`, `ENOTFOUND`, `CERT_HAS_EXPIRED`, …) or the error's own message.
 */
export function describeCause(error: unknown): string {
  // Duck-typed: errors from Node's own fetch may come from another realm (e.g. under a test runner's VM).
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 4; depth++) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    current = cause;
  }
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message !== '' ? message : 'failed';
}

const MAX_REDIRECTS = 3;

/**
 * GETs `url` and parses its JSON body.
 *
 * Redirects are followed only to the same origin: a key set is trusted because of where it
 * comes from, so a redirect elsewhere would let that other origin choose the keys.
 *
 * @throws {@link KeyFetchError} on a network error, timeout, non-200 status, oversized or invalid body.
 */
export async function fetchJson(url: string, limits: FetchLimits): Promise<unknown> {
  const signal = AbortSignal.timeout(limits.timeout * 1000);
  const transport = limits.fetch === undefined ? nodeTransport : fetchTransport(limits.fetch);
  let target = new URL(url);
  for (let redirects = 0; ; redirects++) {
    let response: JsonResponse;
    try {
      response = await transport(target, signal);
    } catch (error) {
      throw new KeyFetchError(signal.aborted ? 'timed out' : describeCause(error), { cause: error });
    }
    const { location } = response;
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.discard();
      const next = new URL(location, target);
      if (next.origin !== target.origin) throw new KeyFetchError('redirect to another origin refused');
      if (redirects >= MAX_REDIRECTS) throw new KeyFetchError('too many redirects');
      target = next;
      continue;
    }
    if (response.status !== 200) {
      await response.discard();
      throw new KeyFetchError(`HTTP ${response.status}`);
    }
    let text: string | undefined;
    try {
      text = await response.text(limits.maxBytes);
    } catch (error) {
      throw new KeyFetchError(signal.aborted ? 'timed out' : `reading the response failed (${describeCause(error)})`, {
        cause: error,
      });
    }
    if (text === undefined) throw new KeyFetchError(`response larger than ${limits.maxBytes} bytes`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new KeyFetchError('invalid JSON');
    }
  }
}
