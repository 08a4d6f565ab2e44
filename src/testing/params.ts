import type { IncomingMessage, ServerResponse } from 'node:http';
import { isJsonObject } from '../json.js';
import { MAX_BODY_BYTES, readBody, sendJson } from './http.js';
import { invalidRequest, NO_STORE } from './oauth-error.js';

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Reads and parses a form (or JSON) request body into the named string parameters.
 *
 * Resolves `undefined` once it has answered itself (413 for a body over 64 KiB) or the client
 * went away. Throws `OAuthError` 400 for a malformed body, a repeated parameter (RFC 6749
 * §3.2) or a non-string value; unknown parameters are ignored and an empty value counts as
 * omitted (RFC 6749 §3.1).
 */
export async function readParams<Name extends string>(
  req: IncomingMessage,
  res: ServerResponse,
  names: readonly Name[],
): Promise<Partial<Record<Name, string>> | undefined> {
  const read = await readBody(req, MAX_BODY_BYTES);
  if (read.kind === 'aborted') return undefined;
  if (read.kind === 'too-large') {
    sendJson(
      res,
      413,
      { error: 'invalid_request', error_description: 'request body too large' },
      { ...NO_STORE, connection: 'close' },
    );
    return undefined;
  }
  const type = mediaType(req);
  const raw: [string, unknown][] = [];
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(read.body.toString('utf8'));
    } catch {
      throw invalidRequest('request body is not valid JSON');
    }
    if (!isJsonObject(parsed)) {
      throw invalidRequest('request body must be a JSON object');
    }
    raw.push(...Object.entries(parsed));
  } else if (type === 'application/x-www-form-urlencoded' || type === '') {
    raw.push(...new URLSearchParams(read.body.toString('utf8')));
  } else {
    throw invalidRequest('content type must be application/x-www-form-urlencoded or application/json');
  }

  const params: Partial<Record<Name, string>> = {};
  const seen = new Set<string>();
  for (const [name, value] of raw) {
    if (seen.has(name)) throw invalidRequest('request parameters must not be repeated');
    seen.add(name);
    if (!(names as readonly string[]).includes(name)) continue;
    if (typeof value !== 'string') throw invalidRequest(`${name} must be a string`);
    if (value !== '') params[name as Name] = value;
  }
  return params;
}
