/**
 * Normalisation of the URL a DPoP proof is made for (`htu`, RFC 9449 §4.3) and of the URL of
 * the request that carries it, so the two compare as equal strings exactly when they name
 * the same resource (RFC 3986 §6.2.2 syntax-based and §6.2.3 scheme-based normalisation):
 *
 * - scheme and host in lower case; IDN hosts in their ASCII (punycode) form;
 * - the default port (80 for http, 443 for https) removed; an empty path becomes `/`;
 * - percent-encoding: hex digits in upper case, unreserved characters (`A-Z a-z 0-9 - . _ ~`)
 *   decoded; characters the WHATWG URL parser encodes (space, `"`, `<`, `>`, non-ASCII, …)
 *   encoded;
 * - dot segments resolved the way the WHATWG URL parser does: `.` and `..` (also spelled
 *   `%2e`, `.%2E`, …) are removed with the segment before them, and never above the root
 *   (`/a/../../b` is `/b`);
 * - query and fragment dropped.
 *
 * Refused (`undefined`): anything that is not an absolute `http://` or `https://` URL with a
 * host, userinfo (`user@`, even empty), control characters, spaces and backslashes anywhere,
 * and hosts the WHATWG parser rejects.
 *
 * @module
 */

/** An absolute http(s) URL with a non-empty authority, before any parsing. */
const HTTP_URL_PREFIX = /^https?:\/\/[^/?#]/i;
/** The authority of an absolute URL (what follows `//` up to the path, query or fragment). */
const AUTHORITY = /^[a-z]+:\/\/([^/?#]*)/i;
/** C0 controls, space, DEL and backslash: the WHATWG parser strips or rewrites them silently. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_CHARACTERS = /[\u0000-\u0020\u007f\\]/;
/** URLs longer than this are refused: a proof is at most 8 KB, a request target no longer. */
const MAX_URL_LENGTH = 8192;

const PERCENT_ENCODED = /%([0-9A-Fa-f]{2})/g;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** A path segment that is `.` or `..`, the dots possibly percent-encoded (`%2e`). */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?=\/|$)/i;

/**
 * A host as it may appear in an origin: a registered name (letters, digits, `-`, `_`, dots),
 * an IPv4 address, or a bracketed IPv6 literal; optionally a port.
 */
const ORIGIN = /^(https?):\/\/([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?\/?$/i;

/**
 * Normalises an absolute http(s) URL for comparison (see the module description).
 *
 * @returns `scheme://host[:port]/path`, or `undefined` when the URL is refused.
 * @example
 * ```ts
 * normalizeHtu('HTTPS://API.Example.com:443/a/%7euser/../b?x=1#f'); // 'https://api.example.com/a/b'
 * normalizeHtu('https://user@api.example.com/');                   // undefined
 * ```
 */
export function normalizeHtu(htu: unknown): string | undefined {
  if (typeof htu !== 'string' || htu.length > MAX_URL_LENGTH) return undefined;
  if (!HTTP_URL_PREFIX.test(htu) || UNSAFE_CHARACTERS.test(htu)) return undefined;
  // Userinfo is refused rather than dropped: a proof naming credentials is not one this
  // server should have been sent, and `https://@host` (empty userinfo) must not slip by.
  if ((AUTHORITY.exec(htu)?.[1] ?? '').includes('@')) return undefined;
  let url: URL;
  try {
    url = new URL(htu);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.hostname === '') return undefined;
  return `${url.protocol}//${url.host}${normalizePercentEncoding(url.pathname)}`;
}

/**
 * Builds the normalised absolute URL of a request from the external origin and the request
 * target (Express `req.originalUrl`, which is origin-form: it starts with `/`).
 *
 * The origin must be exactly `http(s)://host[:port]` (a trailing `/` is tolerated): a host
 * taken from a `Host` or `X-Forwarded-Host` header with CR/LF, spaces, `@`, a comma-separated
 * list of hosts, a path or any other stray character is refused, as is a target that is not
 * origin-form (absolute-form `http://…` or `*`). The target is appended to the origin as
 * text, never resolved against it, so `//evil.example/x` stays a path on this origin. A target
 * whose path has a `.` or `..` segment (also percent-encoded) is refused: Express routes the
 * literal path, so `/admin/../orders` is not the resource a proof for `/orders` names, although
 * the two normalise alike. Clients never send such paths (URL parsers resolve them first).
 *
 * @returns the URL normalised like {@link normalizeHtu}, or `undefined` when refused.
 * @example
 * ```ts
 * requestUrl('https://api.example.com', '/orders/7?page=2'); // 'https://api.example.com/orders/7'
 * requestUrl('https://api.example.com, evil.example', '/');  // undefined
 * ```
 */
export function requestUrl(origin: string, target: string): string | undefined {
  if (typeof origin !== 'string' || typeof target !== 'string') return undefined;
  if (!ORIGIN.test(origin) || !target.startsWith('/')) return undefined;
  if (DOT_SEGMENT.test(target.split(/[?#]/, 1)[0] as string)) return undefined;
  const base = origin.endsWith('/') ? origin.slice(0, -1) : origin;
  return normalizeHtu(base + target);
}

/** Upper-case hex in percent-encodings; unreserved characters decoded (RFC 3986 §6.2.2.1–2). */
function normalizePercentEncoding(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(PERCENT_ENCODED, (_match, hex: string) => {
    const character = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(character) ? character : `%${hex.toUpperCase()}`;
  });
}
