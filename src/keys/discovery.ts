/**
 * Authorization-server metadata discovery: OpenID Connect Discovery first, then RFC 8414.
 *
 * @module
 */
import { fetchJson, KeyFetchError, type FetchLimits } from './fetch-json.js';

/** The metadata this package needs. */
export interface IssuerMetadata {
  /** The expected `iss`, used verbatim. */
  issuer: string;
  /** Where the signing keys are published. */
  jwks_uri: string;
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

/**
 * Fetches the issuer's metadata.
 *
 * @throws {@link KeyFetchError} when neither document is a JSON object with string `issuer`
 *   and an http(s) `jwks_uri`; the message says what was tried.
 */
export async function discover(issuerBaseURL: string, limits: FetchLimits): Promise<IssuerMetadata & { url: string }> {
  const failures: string[] = [];
  let lastError: unknown;
  for (const url of discoveryUrls(issuerBaseURL)) {
    try {
      const document = await fetchJson(url, limits);
      return { ...validateMetadata(document), url };
    } catch (error) {
      lastError = error;
      failures.push(error instanceof Error ? error.message : 'failed');
    }
  }
  throw new KeyFetchError(`discovery failed for ${new URL(issuerBaseURL).origin}: ${failures.join('; ')}`, {
    cause: lastError,
  });
}

function validateMetadata(document: unknown): IssuerMetadata {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new KeyFetchError('metadata is not a JSON object');
  }
  const { issuer, jwks_uri: jwksUri } = document as Record<string, unknown>;
  if (typeof issuer !== 'string' || issuer === '') throw new KeyFetchError('metadata has no issuer');
  if (typeof jwksUri !== 'string' || !/^https?:\/\//i.test(jwksUri))
    throw new KeyFetchError('metadata has no valid jwks_uri');
  try {
    new URL(jwksUri);
  } catch {
    throw new KeyFetchError('metadata has no valid jwks_uri');
  }
  return { issuer, jwks_uri: jwksUri };
}
