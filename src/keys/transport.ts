/**
 * The transports behind `fetchJson`: node:http/https by default, or a `fetch` the user
 * gives (a proxy, a private CA). Both answer the same small interface, so the redirect, status,
 * size and timeout rules live once, in `fetch-json.ts`.
 *
 * node:http is the default because the global `fetch` (undici) costs every process that loads
 * it about 17 MiB of resident memory for a handful of key-set requests, against about 1.5 MiB.
 *
 * @module
 */
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { readBoundedBody, readBoundedStream } from '../bounded-body.js';

/** One HTTP answer, its body not read yet. */
export interface JsonResponse {
  readonly status: number;
  /** The `Location` header, or null. */
  readonly location: string | null;
  /**
   * The body as UTF-8 text, or `undefined` when it is larger than `maxBytes` (the rest is not
   * read). Rejects on a network failure or when the request's signal aborts.
   */
  text(maxBytes: number): Promise<string | undefined>;
  /** Drops the body unread. */
  discard(): Promise<void>;
}

/** GETs `url` asking for JSON; rejects on a network failure or when `signal` aborts. */
export type JsonTransport = (url: URL, signal: AbortSignal) => Promise<JsonResponse>;

const ACCEPT = { accept: 'application/json' };

/** The default transport: node:http or node:https, with Node's global agents (keep-alive). */
export const nodeTransport: JsonTransport = (url, signal) =>
  new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? httpsGet : httpGet;
    const request = get(url, { signal, headers: ACCEPT }, (response) => {
      resolve({
        status: response.statusCode ?? 0,
        location: typeof response.headers.location === 'string' ? response.headers.location : null,
        text: (maxBytes) => readBoundedStream(response, Number(response.headers['content-length']), maxBytes),
        discard: async () => {
          response.destroy();
        },
      });
    });
    request.on('error', reject);
  });

/** A transport over a WHATWG `fetch` (the `fetch` option). */
export function fetchTransport(fetchImpl: typeof globalThis.fetch): JsonTransport {
  return async (url, signal) => {
    const response = await fetchImpl(url, { signal, redirect: 'manual', headers: ACCEPT });
    return {
      status: response.status,
      location: response.headers.get('location'),
      text: (maxBytes) => readBoundedBody(response, maxBytes),
      discard: async () => {
        await response.body?.cancel().catch(() => undefined);
      },
    };
  };
}
