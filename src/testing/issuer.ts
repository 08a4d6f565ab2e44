import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ASYMMETRIC_ALGORITHMS } from '../algorithms.js';
import { registerClient, type RegisteredClient } from './clients.js';
import { sendJson } from './http.js';
import { KeyStore, isAsymmetricAlgorithm } from './keys.js';
import { mintToken, randomSecret, type MintContext } from './mint.js';
import { ASSERTION_ALGORITHMS, ClientAuthenticator } from './client-auth.js';
import { DPoPProofChecker } from './dpop-proof.js';
import { IntrospectionEndpoint } from './introspection.js';
import { TokenRegistry } from './token-registry.js';
import { TokenEndpoint } from './token-endpoint.js';
import type { AsymmetricAlgorithm, RequestCounts, TestIssuer, TestIssuerOptions, TokenProfile } from './types.js';

/** Audience of minted tokens when no client grants one. */
export const DEFAULT_AUDIENCE = 'https://api.example.com';

const DISCOVERY_PATHS = new Set([
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
  // RFC 8414 inserts the issuer's path after the well-known segment; ours is "/".
  '/.well-known/oauth-authorization-server/',
]);
const JWKS_PATH = '/.well-known/jwks.json';
const TOKEN_PATH = '/oauth/token';
const introspectionPath = '/oauth/introspect';

function validateOptions(options: TestIssuerOptions): {
  profile: TokenProfile;
  tokenLifetime: number;
  port: number;
  publishNextKey: boolean;
  dpopNonce: boolean;
} {
  const {
    profile = 'auth0',
    tokenLifetime = 86400,
    port = 0,
    secret,
    clients,
    publishNextKey = true,
    dpopNonce = false,
  } = options;
  if (profile !== 'auth0' && profile !== 'rfc9068') {
    throw new TypeError("createTestIssuer: profile must be 'auth0' or 'rfc9068'");
  }
  if (typeof tokenLifetime !== 'number' || !Number.isFinite(tokenLifetime) || tokenLifetime <= 0) {
    throw new TypeError('createTestIssuer: tokenLifetime must be a positive number of seconds');
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError('createTestIssuer: port must be an integer between 0 and 65535');
  }
  if (secret !== undefined && (typeof secret !== 'string' || secret.length === 0)) {
    throw new TypeError('createTestIssuer: secret must be a non-empty string');
  }
  if (clients !== undefined && !Array.isArray(clients)) {
    throw new TypeError('createTestIssuer: clients must be an array');
  }
  if (typeof publishNextKey !== 'boolean') throw new TypeError('createTestIssuer: publishNextKey must be a boolean');
  if (typeof dpopNonce !== 'boolean') throw new TypeError('createTestIssuer: dpopNonce must be a boolean');
  return { profile, tokenLifetime, port, publishNextKey, dpopNonce };
}

function listen(server: Server, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Starts an in-process OAuth 2.0 authorization server on 127.0.0.1 for tests.
 *
 * It serves discovery (OpenID Connect and RFC 8414), a JWKS (current, next and previous keys),
 * a client-credentials token endpoint (with DPoP) and RFC 7662 introspection, and can `mint`
 * arbitrary (also deliberately broken, bound or opaque) access tokens. Always `close()` it,
 * e.g. in `afterAll`.
 *
 * @example
 * ```ts
 * const issuer = await createTestIssuer({
 *   clients: [{ clientId: 'worker', clientSecret: 's3cret', grants: { 'https://api.example.com': ['read:orders'] } }],
 * });
 * app.use(requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: 'https://api.example.com' }));
 * const token = await issuer.mint({}, { clientId: 'worker', scope: 'read:orders' });
 * ```
 */
export async function createTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const { profile, tokenLifetime, port, publishNextKey, dpopNonce } = validateOptions(options);
  const clients = new Map<string, RegisteredClient>();
  for (const client of options.clients ?? []) {
    const registered = registerClient(client);
    clients.set(registered.clientId, registered);
  }
  const keys = await KeyStore.create(publishNextKey);
  const counts: RequestCounts = { discovery: 0, jwks: 0, token: 0, introspection: 0 };

  // Endpoint URLs depend on the port, which is only known after listen(); routes read them
  // lazily through `urls`, and no request can arrive before anyone knows the port.
  const urls = { issuerBaseURL: '', issuer: '', jwksUri: '', tokenEndpoint: '', introspectionEndpoint: '' };
  const secret = options.secret === undefined ? undefined : new TextEncoder().encode(options.secret);
  const registry = new TokenRegistry({ keys, secret });

  const mintContext: MintContext = {
    get issuer() {
      return urls.issuer;
    },
    profile,
    tokenLifetime,
    keys,
    secret,
    storeOpaque: (claims) => registry.issueOpaque(claims),
    foreignSecret: randomSecret(),
    defaultAudience() {
      for (const client of clients.values()) {
        const first = client.grants.keys().next();
        if (!first.done) return first.value;
      }
      return DEFAULT_AUDIENCE;
    },
  };

  const clientAuth = new ClientAuthenticator({
    get issuer() {
      return urls.issuer;
    },
    get issuerBaseURL() {
      return urls.issuerBaseURL;
    },
    findClient: (clientId) => clients.get(clientId),
  });

  const tokenEndpoint = new TokenEndpoint({
    get tokenEndpoint() {
      return urls.tokenEndpoint;
    },
    tokenLifetime,
    clientAuth,
    dpop: new DPoPProofChecker(dpopNonce),
    issue: ({ client, audience, scopes, organization, jkt }) =>
      mintToken(
        mintContext,
        {
          ...(organization === undefined ? {} : { org_id: organization }),
          ...(jkt === undefined ? {} : { cnf: { jkt } }),
        },
        {
          clientId: client.clientId,
          audience,
          format: client.tokenFormat,
          ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
        },
      ),
  });

  const introspectionEndpoint = new IntrospectionEndpoint({
    get issuer() {
      return urls.issuer;
    },
    get introspectionEndpoint() {
      return urls.introspectionEndpoint;
    },
    clientAuth,
    registry,
    keys,
  });

  const discoveryDocument = () => ({
    issuer: urls.issuer,
    jwks_uri: urls.jwksUri,
    token_endpoint: urls.tokenEndpoint,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    id_token_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    response_types_supported: ['token'],
    introspection_endpoint: urls.introspectionEndpoint,
    introspection_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'private_key_jwt'],
    introspection_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    introspection_signing_alg_values_supported: ['RS256'],
    dpop_signing_alg_values_supported: [...ASYMMETRIC_ALGORITHMS],
  });

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // A stray stream error must never become an uncaught exception in the user's test run.
    req.on('error', () => {});
    res.on('error', () => {});
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const readable = method === 'GET' || method === 'HEAD';
    const notAllowed = (allow: string) =>
      sendJson(res, 405, { error: 'invalid_request', error_description: 'method not allowed' }, { allow });

    if (DISCOVERY_PATHS.has(path)) {
      counts.discovery++;
      if (readable) sendJson(res, 200, discoveryDocument());
      else notAllowed('GET, HEAD');
    } else if (path === JWKS_PATH) {
      counts.jwks++;
      if (readable) sendJson(res, 200, keys.publicJwks());
      else notAllowed('GET, HEAD');
    } else if (path === TOKEN_PATH) {
      counts.token++;
      if (method === 'POST') await tokenEndpoint.handle(req, res);
      else notAllowed('POST');
    } else if (path === introspectionPath) {
      counts.introspection++;
      if (method === 'POST') await introspectionEndpoint.handle(req, res);
      else notAllowed('POST');
    } else {
      sendJson(res, 404, { error: 'not_found', error_description: 'no such endpoint on the test issuer' });
    }
  };

  const server = createServer((req, res) => {
    route(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: 'unexpected error' });
      else res.destroy();
    });
  });
  const address = await listen(server, port);
  urls.issuerBaseURL = `http://127.0.0.1:${address.port}`;
  urls.issuer = `${urls.issuerBaseURL}/`;
  urls.jwksUri = `${urls.issuerBaseURL}${JWKS_PATH}`;
  urls.tokenEndpoint = `${urls.issuerBaseURL}${TOKEN_PATH}`;
  urls.introspectionEndpoint = `${urls.issuerBaseURL}${introspectionPath}`;

  let closing: Promise<void> | undefined;

  return {
    issuerBaseURL: urls.issuerBaseURL,
    issuer: urls.issuer,
    jwksUri: urls.jwksUri,
    tokenEndpoint: urls.tokenEndpoint,
    introspectionEndpoint: urls.introspectionEndpoint,
    requestCounts: counts,
    addClient(client) {
      const registered = registerClient(client);
      clients.set(registered.clientId, registered);
    },
    mint: (claims, mintOptions) => mintToken(mintContext, claims, mintOptions),
    rotateKeys(alg?: AsymmetricAlgorithm) {
      if (alg !== undefined && !isAsymmetricAlgorithm(alg)) {
        return Promise.reject(new TypeError('rotateKeys: alg must be an asymmetric JWS algorithm'));
      }
      return keys.rotate(alg);
    },
    currentKid: (alg: AsymmetricAlgorithm = 'RS256') => keys.currentKid(alg),
    nextKid: (alg: AsymmetricAlgorithm = 'RS256') => keys.nextKid(alg),
    publicJwks: () => keys.publicJwks(),
    resetCounts() {
      counts.discovery = 0;
      counts.jwks = 0;
      counts.token = 0;
      counts.introspection = 0;
    },
    revoke(token: string) {
      if (typeof token !== 'string' || token.length === 0)
        throw new TypeError('revoke: token must be a non-empty string');
      registry.revoke(token);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets (e.g. from fetch) would otherwise hold close() open for seconds.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
