/**
 * Authorization-server metadata discovery: OpenID Connect Discovery first, then RFC 8414.
 *
 * @module
 */
import { isJsonObject } from '../json.js';
import { fetchJson, KeyFetchError, type FetchLimits } from './fetch-json.js';

/** The metadata this package needs. */
export interface IssuerMetadata {
  /** The expected `iss`, used verbatim. */
  issuer: string;
  /** Where the signing keys are published. */
  jwks_uri: string;
  /** RFC 7662 introspection endpoint, when advertised. */
  introspection_endpoint?: string;
}

/**
 * The metadata URLs to try for a tenant URL, in order: `{base}/.well-known/openid-configuration`,
 * then `{origin}/.well-known/oauth-authorization-server{path}` (RFC 8414 §3.1). A trailing
 * slash on the base URL is ignored.
 */
export function discoveryUrls(issuerBaseURL: string): string[] {
  const base = new URL(issuerBaseURL);
  const path = base.pathname.replace(/\/+$/, '');
  return [
    `${base.origin}${path}/.well-known/openid-configuration`,
    `${base.origin}/.well-known/oauth-authorization-server${path}`,
  ];
}

/** `url` without one trailing slash. */
export function withoutTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

/**
 * Fetches the issuer's metadata.
 *
 * @param issuerConfigured - true when `issuer` is configured explicitly; otherwise the
 *   document's `issuer` must equal `issuerBaseURL`, one trailing slash aside (RFC 8414 §3.3,
 *   OpenID Connect Discovery §4.3), so a tenant cannot vouch for another issuer.
 * @throws {@link KeyFetchError} naming every URL tried and why each failed.
 */
export async function discover(
  issuerBaseURL: string,
  limits: FetchLimits,
  issuerConfigured = false,
): Promise<IssuerMetadata & { url: string }> {
  const failures: { url: string; cause: string }[] = [];
  let lastError: unknown;
  for (const url of discoveryUrls(issuerBaseURL)) {
    try {
      const document = await fetchJson(url, limits);
      return { ...validateMetadata(document, issuerBaseURL, issuerConfigured), url };
    } catch (error) {
      lastError = error;
      failures.push({ url, cause: error instanceof Error ? error.message : 'failed' });
    }
  }
  throw new KeyFetchError(`discovery failed for ${issuerBaseURL}: ${describeFailures(failures)}`, {
    cause: lastError,
  });
}

/** `A and B: ECONNREFUSED` when both failed alike, else `A: HTTP 404; B: ECONNREFUSED`. */
function describeFailures(failures: { url: string; cause: string }[]): string {
  const causes = new Set(failures.map((f) => f.cause));
  if (causes.size === 1) return `${failures.map((f) => f.url).join(' and ')}: ${failures[0]?.cause}`;
  return failures.map((f) => `${f.url}: ${f.cause}`).join('; ');
}

function validateMetadata(document: unknown, issuerBaseURL: string, issuerConfigured: boolean): IssuerMetadata {
  if (!isJsonObject(document)) throw new KeyFetchError('metadata is not a JSON object');
  const { issuer, jwks_uri: jwksUri, introspection_endpoint: introspection } = document;
  if (typeof issuer !== 'string' || issuer === '') throw new KeyFetchError('metadata has no issuer');
  if (!issuerConfigured && withoutTrailingSlash(issuer) !== withoutTrailingSlash(issuerBaseURL)) {
    throw new KeyFetchError('metadata names another issuer (configure `issuer` to accept it)');
  }
  const secure = new URL(issuerBaseURL).protocol === 'https:';
  const jwks = endpoint(jwksUri, secure);
  if (jwks === undefined) {
    throw new KeyFetchError(secure ? 'metadata has no valid https jwks_uri' : 'metadata has no valid jwks_uri');
  }
  const metadata: IssuerMetadata = { issuer, jwks_uri: jwks };
  const introspectionEndpoint = endpoint(introspection, secure);
  if (introspectionEndpoint !== undefined) metadata.introspection_endpoint = introspectionEndpoint;
  return metadata;
}

/** An absolute http(s) URL from the metadata; only https when the issuer itself is https (no downgrade). */
function endpoint(value: unknown, secure: boolean): string | undefined {
  if (typeof value !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && (secure || url.protocol !== 'http:')) return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  return value;
}
