/**
 * Interoperability with a real, independent authorization server: node-oidc-provider 9
 * (client-credentials grant, RFC 8707 resource indicators, RFC 9068 JWT access tokens),
 * reached through real discovery and JWKS over 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader, exportJWK } from 'jose';
import { express } from '../helpers/express.js';
import { createTokenClient, TokenRequestError } from '../../src/client/index.js';
import { createVerifier, m2mErrorHandler, requireM2M, requireScopes } from '../../src/index.js';

/**
 * The little of oidc-provider's API this test uses. The package ships no type declarations,
 * and an ambient `declare module` here would leak into the whole project's type check.
 */
interface OidcProviderModule {
  default: new (
    issuer: string,
    configuration: Record<string, unknown>,
  ) => {
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  };
  errors: { InvalidTarget: new () => Error };
}

const API = 'https://api.example.com';
const OTHER = 'https://other.example.com';

let issuerServer: Server;
let issuer: string;
let apiServer: Server;
let apiUrl: string;
let clientPrivateKey: string;
const restoreConsole: (() => void)[] = [];

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

beforeAll(async () => {
  // oidc-provider prints notices about development defaults; they are expected in a test.
  for (const method of ['warn', 'info'] as const) {
    const spy = jest.spyOn(console, method).mockImplementation(() => undefined);
    restoreConsole.push(() => spy.mockRestore());
  }

  // Imported only now, so that its import-time notice ("Unsupported runtime" on Node 20) is silenced too.
  const specifier = 'oidc-provider';
  const { default: Provider, errors: oidcErrors } = (await import(specifier)) as OidcProviderModule;

  // The issuer URL must be known before the provider exists: listen first, route later.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined = undefined;
  issuerServer = createServer((req, res) => handler?.(req, res));
  issuer = await listen(issuerServer);

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  clientPrivateKey = clientKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const configuration = {
    clients: [
      {
        client_id: 'orders-worker',
        client_secret: 'orders-worker-secret-0123456789abcdef',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_post',
        scope: 'read:orders write:other',
      },
      {
        client_id: 'billing-service',
        client_secret: 'billing-service-secret-0123456789abcdef',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'read:orders',
      },
      {
        client_id: 'signed-worker',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { keys: [await exportJWK(clientKey.publicKey)] },
        scope: 'read:orders',
      },
    ],
    scopes: ['read:orders', 'write:other'],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'interop-key', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: ['interop-test-cookie-key'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo(_ctx: unknown, resourceIndicator: string) {
          if (resourceIndicator === API) {
            return { scope: 'read:orders', audience: API, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
          }
          if (resourceIndicator === OTHER) {
            return { scope: 'write:other', audience: OTHER, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
          }
          throw new oidcErrors.InvalidTarget();
        },
      },
    },
  };
  // oidc-provider structuredClone()s static client metadata and then checks `jwk.constructor === Object`.
  // Under Jest's VM realm the native structuredClone returns objects of the outer realm, which fail
  // that check; a JSON round trip keeps them in this realm. Only while the provider is built.
  const nativeClone = globalThis.structuredClone;
  globalThis.structuredClone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  let provider: InstanceType<OidcProviderModule['default']>;
  try {
    provider = new Provider(issuer, configuration);
  } finally {
    globalThis.structuredClone = nativeClone;
  }
  handler = provider.callback();

  const app = express();
  const describeCaller = (req: import('express').Request, res: import('express').Response) => {
    res.json({ caller: req.auth?.clientId, scopes: req.auth?.scopes, typ: req.auth?.header.typ });
  };
  app.get(
    '/orders',
    requireM2M({ issuerBaseURL: issuer, audience: API }),
    requireScopes('read:orders'),
    describeCaller,
  );
  app.get(
    '/strict/orders',
    requireM2M({ issuerBaseURL: issuer, audience: API, strict: true }),
    requireScopes('read:orders'),
    describeCaller,
  );
  app.use(m2mErrorHandler());
  apiServer = createServer(app);
  apiUrl = await listen(apiServer);
});

afterAll(async () => {
  await Promise.all([close(apiServer), close(issuerServer)]);
  for (const restore of restoreConsole) restore();
});

const worker = (resource = API, scope = 'read:orders') =>
  createTokenClient({
    issuerBaseURL: issuer,
    clientId: 'orders-worker',
    clientSecret: 'orders-worker-secret-0123456789abcdef',
    resource,
    scope,
  });

describe('oidc-provider → createTokenClient', () => {
  it('obtains an RFC 9068 JWT access token with client_secret_post, discovering /token', async () => {
    const client = worker();
    const token = await client.getToken();
    expect(decodeProtectedHeader(token)).toMatchObject({ typ: 'at+jwt', alg: 'RS256', kid: 'interop-key' });
    const claims = decodeJwt(token);
    // oidc-provider's client-credentials tokens: sub = client_id (RFC 9068 §2.2), no gty/azp.
    expect(claims).toMatchObject({
      iss: issuer,
      aud: API,
      sub: 'orders-worker',
      client_id: 'orders-worker',
      scope: 'read:orders',
    });
    expect(typeof claims.jti).toBe('string');
    expect(JSON.parse(JSON.stringify(client)).tokenEndpoint).toBe(`${issuer}/token`);
  });

  it('authenticates with client_secret_basic', async () => {
    const client = createTokenClient({
      issuerBaseURL: issuer,
      clientId: 'billing-service',
      clientSecret: 'billing-service-secret-0123456789abcdef',
      tokenEndpointAuthMethod: 'client_secret_basic',
      resource: API,
    });
    expect(decodeJwt(await client.getToken())).toMatchObject({ client_id: 'billing-service', aud: API });
  });

  it('authenticates with private_key_jwt (assertion aud = the discovered token endpoint)', async () => {
    const client = createTokenClient({
      issuerBaseURL: issuer,
      clientId: 'signed-worker',
      privateKey: clientPrivateKey,
      resource: API,
      scope: 'read:orders',
    });
    expect(client.tokenEndpointAuthMethod).toBe('private_key_jwt');
    expect(decodeJwt(await client.getToken())).toMatchObject({
      client_id: 'signed-worker',
      aud: API,
      scope: 'read:orders',
    });
    // Each request signs a new assertion: oidc-provider refuses a replayed jti.
    await client.getToken({ forceRefresh: true });
  });

  it('maps oidc-provider errors to TokenRequestError', async () => {
    const wrong = createTokenClient({
      issuerBaseURL: issuer,
      clientId: 'orders-worker',
      clientSecret: 'wrong',
      resource: API,
    });
    await expect(wrong.getToken()).rejects.toMatchObject({
      name: 'TokenRequestError',
      error: 'invalid_client',
      status: 401,
    });
    const unknownResource = worker('https://unknown.example.com');
    await expect(unknownResource.getToken()).rejects.toMatchObject({ error: 'invalid_target', status: 400 });
    // oidc-provider silently drops scopes it does not know; a known one the client may not have is refused.
    const badScope = createTokenClient({
      issuerBaseURL: issuer,
      clientId: 'billing-service',
      clientSecret: 'billing-service-secret-0123456789abcdef',
      tokenEndpointAuthMethod: 'client_secret_basic',
      resource: OTHER,
      scope: 'write:other',
    });
    const error = await badScope.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({ error: 'invalid_scope', status: 400 });
  });

  it('the audience parameter alone is not what oidc-provider understands: use resource', async () => {
    const client = createTokenClient({
      issuerBaseURL: issuer,
      clientId: 'orders-worker',
      clientSecret: 'orders-worker-secret-0123456789abcdef',
      audience: API,
    });
    // Without a resource indicator oidc-provider issues an opaque token for its own userinfo endpoint.
    const token = await client.getToken();
    expect(token.split('.')).not.toHaveLength(3);
  });
});

describe('oidc-provider → requireM2M', () => {
  it('accepts its JWT access tokens via real discovery and JWKS (default options)', async () => {
    const res = await worker().fetch(`${apiUrl}/orders`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ caller: 'orders-worker', scopes: ['read:orders'], typ: 'at+jwt' });
  });

  it('accepts them with strict: true (RFC 9068 profile), in requireM2M and in createVerifier', async () => {
    const client = worker();
    const res = await client.fetch(`${apiUrl}/strict/orders`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ caller: 'orders-worker', scopes: ['read:orders'], typ: 'at+jwt' });
    const verifier = createVerifier({ issuerBaseURL: issuer, audience: API, strict: true });
    await verifier.ready();
    const auth = await verifier.verify(await client.getToken());
    expect(auth).toMatchObject({ clientId: 'orders-worker', scopes: ['read:orders'] });
    expect(auth.payload.iss).toBe(issuer);
  });

  it('refuses a token without the route scope (403) and a missing token (401)', async () => {
    const billing = createTokenClient({
      issuerBaseURL: issuer,
      clientId: 'billing-service',
      clientSecret: 'billing-service-secret-0123456789abcdef',
      tokenEndpointAuthMethod: 'client_secret_basic',
      resource: API,
    });
    // No scope requested: oidc-provider grants none, so the scope guard refuses.
    const forbidden = await billing.fetch(`${apiUrl}/strict/orders`);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toContain('scope="read:orders"');
    expect((await fetch(`${apiUrl}/orders`)).status).toBe(401);
  });

  it('refuses a token issued for another resource (401 unexpected audience)', async () => {
    const other = worker(OTHER, 'write:other');
    const token = await other.getToken();
    expect(decodeJwt(token).aud).toBe(OTHER);
    const res = await fetch(`${apiUrl}/orders`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", error="invalid_token", error_description="unexpected audience"',
    );
    expect(await res.json()).toEqual({ error: 'invalid_token', error_description: 'unexpected audience' });
  });
});
