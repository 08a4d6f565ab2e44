// The caller of the example: a background worker that obtains an access token with its
// client credentials and calls the orders API with it.
//
// In your own code: import { createTokenClient } from 'express-m2m';
import { createTokenClient } from '../dist/index.js';

/**
 * A token client for one M2M application. `getToken()` caches the token until shortly before it
 * expires; `fetch()` adds `Authorization: Bearer …` and renews a token the API refuses.
 *
 * With `dpop: true` the client makes an ES256 key pair (the private key never leaves it) and
 * asks for DPoP-bound tokens (RFC 9449): `fetch()` then sends `Authorization: DPoP …` with a
 * fresh proof of possession in a `DPoP` header on every request.
 *
 * @param {{ issuerBaseURL: string, clientId: string, clientSecret: string, audience: string, scope?: string, dpop?: boolean }} options
 */
export function createWorker({ issuerBaseURL, clientId, clientSecret, audience, scope, dpop = false }) {
  return createTokenClient({
    issuerBaseURL, // the token endpoint is discovered from the issuer's metadata
    clientId,
    clientSecret,
    audience,
    ...(scope !== undefined && { scope }),
    ...(dpop && { dpop: true }),
  });
}

/**
 * The token request the client sends, as a curl command (`client_secret_post`, the default).
 * With `maskSecret`, the secret is replaced by asterisks so the command can be shown or logged.
 */
export function tokenRequestAsCurl(
  { tokenEndpoint, clientId, clientSecret, audience, scope },
  { maskSecret = true } = {},
) {
  const lines = [
    `curl -s -X POST ${tokenEndpoint}`,
    `-d grant_type=client_credentials`,
    `-d client_id=${clientId}`,
    `-d client_secret=${maskSecret ? '********' : clientSecret}`,
    `-d audience=${audience}`,
    ...(scope !== undefined ? [`-d scope=${scope.replaceAll(' ', '+')}`] : []),
  ];
  return lines.join(' \\\n  ');
}
