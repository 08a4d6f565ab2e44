/**
 * Bounded JSON fetching for discovery documents and key sets: a timeout covering the whole
 * exchange, a size cap enforced while streaming (a huge body is never buffered), and
 * redirects followed only within the same origin.
 *
 * @module
 */

import { readBoundedBody } from '../bounded-body.js';

/** Why a discovery or key-set fetch failed. The message never includes response content. */
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
  let target = new URL(url);
  for (let redirects = 0; ; redirects++) {
    let response: Response;
    try {
      response = await fetch(target, { signal, redirect: 'manual', headers: { accept: 'application/json' } });
    } catch (error) {
      throw new KeyFetchError(
        signal.aborted ? `request to ${target.origin} timed out` : `request to ${target.origin} failed`,
        { cause: error },
      );
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await discard(response);
      const next = new URL(location, target);
      if (next.origin !== target.origin)
        throw new KeyFetchError(`redirect from ${target.origin} to another origin refused`);
      if (redirects >= MAX_REDIRECTS) throw new KeyFetchError(`too many redirects from ${target.origin}`);
      target = next;
      continue;
    }
    if (response.status !== 200) {
      await discard(response);
      throw new KeyFetchError(`${target.origin} answered HTTP ${response.status}`);
    }
    let text: string | undefined;
    try {
      text = await readBoundedBody(response, limits.maxBytes);
    } catch (error) {
      throw new KeyFetchError(
        signal.aborted ? `request to ${target.origin} timed out` : `reading the response of ${target.origin} failed`,
        { cause: error },
      );
    }
    if (text === undefined)
      throw new KeyFetchError(`${target.origin} sent a response larger than ${limits.maxBytes} bytes`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new KeyFetchError(`${target.origin} sent invalid JSON`);
    }
  }
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}
