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
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
