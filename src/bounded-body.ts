/**
 * Reading an HTTP response body with a size cap, shared by the JWKS/discovery fetcher and the
 * token client: a body over the cap is refused from its `Content-Length`, or as soon as the
 * stream passes the cap, so a huge answer is never buffered.
 *
 * @module
 */

/**
 * Reads `response`'s body as UTF-8 text.
 *
 * @returns the text, or `undefined` when the body is larger than `maxBytes` (the rest is not read).
 * @throws whatever the body stream throws (network failure, abort by timeout).
 */
export async function readBoundedBody(response: Response, maxBytes: number): Promise<string | undefined> {
  // Node's ReadableStream is async-iterable; the DOM typings used here do not say so.
  const body = (response.body ?? []) as unknown as AsyncIterable<Uint8Array>;
  return readBoundedStream(body, Number(response.headers.get('content-length')), maxBytes);
}

/**
 * Reads a body given as a stream of byte chunks (a WHATWG `ReadableStream`, a node:http
 * `IncomingMessage`) as UTF-8 text, with the same cap: refused from `declaredLength` (the
 * `Content-Length`, `NaN` when absent), or as soon as the chunks pass `maxBytes`. A refused body
 * is cancelled (its stream destroyed), not read to its end.
 *
 * @returns the text, or `undefined` when the body is larger than `maxBytes`.
 * @throws whatever the stream throws (network failure, abort by timeout).
 */
export async function readBoundedStream(
  body: AsyncIterable<Uint8Array>,
  declaredLength: number,
  maxBytes: number,
): Promise<string | undefined> {
  const chunks = body[Symbol.asyncIterator]();
  const refuse = async (): Promise<undefined> => {
    await chunks.return?.().catch(() => undefined);
    return undefined;
  };
  if (Number.isFinite(declaredLength) && declaredLength > maxBytes) return refuse();
  const read: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await chunks.next();
    if (done === true) break;
    size += value.byteLength;
    if (size > maxBytes) return refuse();
    read.push(value);
  }
  return Buffer.concat(read, size).toString('utf8');
}
